import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

/** Header Front Door adds to every request it forwards: the id of its profile. */
export const FRONT_DOOR_ID_HEADER = 'x-azure-fdid';

/**
 * A Fastify `onRequest` hook that refuses (403) every request not forwarded by the Front Door
 * profile `frontDoorId` (lower case), before routing, authentication or any other work.
 */
export const originLock =
  (frontDoorId: string) =>
  (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const header = request.headers[FRONT_DOOR_ID_HEADER];
    if (typeof header === 'string' && header.trim().toLowerCase() === frontDoorId) {
      done();
      return;
    }
    // Answering from the hook (without calling done) ends the request here.
    void reply.code(403).header('cache-control', 'no-store').send({
      statusCode: 403,
      error: 'Forbidden',
      message: 'This origin only serves requests that come through its Azure Front Door (X-Azure-FDID).',
    });
  };
