import type { IncomingHttpHeaders } from 'node:http';

import { unauthenticated } from './auth.errors.js';

/** RFC 6750 §2.1: `Authorization: Bearer <b64token>`; the scheme is case-insensitive. */
const bearerPattern = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** @throws AuthError (UNAUTHENTICATED) when there is no well-formed bearer token. */
export const bearerTokenOrThrow = (headers: IncomingHttpHeaders | undefined): string => {
  const header = headers?.authorization;
  if (header === undefined || header.trim() === '') {
    throw unauthenticated('Authentication required: send an Authorization: Bearer <token> header.');
  }
  const match = bearerPattern.exec(header);
  if (match?.[1] === undefined) throw unauthenticated('The Authorization header must be Bearer <token>.');
  return match[1];
};
