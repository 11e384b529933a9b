import { Logger } from '@nestjs/common';
import type { FastifyInstance, onSendHookHandler } from 'fastify';

import type { EdgeConfig } from '../config/app-config.js';
import { trustFrontDoorAddresses } from './client-address.js';
import { originLock } from './origin-lock.js';

/**
 * Safety net: Front Door caches a response without Cache-Control for one to three days, so anything
 * that leaves without one (Nest's 404, Fastify's 400/413, refusals Apollo makes before its plugins
 * run) is marked `no-store`.
 */
const noStoreUnlessSet: onSendHookHandler = (_request, reply, payload, done) => {
  if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
  done(null, payload);
};

/**
 * Fits the HTTP server for life behind Azure Front Door: the origin lock and the client address
 * when FRONT_DOOR_ID is set, and a Cache-Control header on every response. Register before any
 * route so the lock runs first.
 */
export const registerEdge = (fastify: FastifyInstance, edge: EdgeConfig, production: boolean): void => {
  const logger = new Logger('Edge');
  if (edge.frontDoorId === undefined) {
    const message =
      'FRONT_DOOR_ID unset: no origin lock, requests are accepted from anywhere; client addresses are socket addresses';
    if (production) logger.warn(message);
    else logger.log(message);
  } else {
    trustFrontDoorAddresses(fastify);
    fastify.addHook('onRequest', originLock(edge.frontDoorId));
    logger.log(
      'Behind Azure Front Door: requests without its X-Azure-FDID are refused (403); client addresses come from X-Azure-ClientIP, else X-Forwarded-For',
    );
  }
  fastify.addHook('onSend', noStoreUnlessSet);
};
