import { isIP } from 'node:net';

import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Decorates the Fastify instance when its requests come through Front Door (origin lock on). */
const BEHIND_FRONT_DOOR = Symbol('behindFrontDoor');

/** From now on, `fastify`'s requests are taken to come through Front Door: its address headers are believed. */
export const trustFrontDoorAddresses = (fastify: FastifyInstance): void => {
  fastify.decorate(BEHIND_FRONT_DOOR, true);
};

/** The first entry of a header that may hold a comma-separated list (or repeat), if it is an IP address. */
const firstAddress = (value: string | string[] | undefined): string | undefined => {
  const first = (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
  return first !== undefined && isIP(first) !== 0 ? first : undefined;
};

/**
 * The address of the client a request is for, e.g. for rate limits. Behind Front Door (FRONT_DOOR_ID
 * set) it is the one Front Door reports in `X-Azure-ClientIP`, else the first `X-Forwarded-For`
 * entry; both hold what the client's own proxies claimed, so they identify a caller but do not
 * authenticate one. Without the origin lock anyone could send those headers, so the socket's
 * address is used.
 */
export const clientAddressOf = (request: FastifyRequest): string => {
  const socketAddress = request.socket.remoteAddress ?? '';
  if (!request.server.hasDecorator(BEHIND_FRONT_DOOR)) return socketAddress;
  return (
    firstAddress(request.headers['x-azure-clientip']) ??
    firstAddress(request.headers['x-forwarded-for']) ??
    socketAddress
  );
};
