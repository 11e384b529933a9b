import type { IncomingHttpHeaders } from 'node:http';

import { bearerTokenOrThrow } from './bearer-token.js';
import type { Principal } from './principal.js';
import type { TokenVerifier } from './token-verifier.js';

/**
 * The principal of each HTTP request, keyed by the request object (Fastify's), so it lives exactly
 * as long as the request. The promise is kept, not only the result: the root fields of one
 * operation are resolved concurrently, and they must share one verification.
 */
const verifications = new WeakMap<object, Promise<Principal>>();
const principals = new WeakMap<object, Principal>();

/** Runs `authenticate` once per request; later calls share its outcome (principal or refusal). */
export const authenticateOnce = (
  request: object,
  authenticate: () => Promise<Principal>,
): Promise<Principal> => {
  let verification = verifications.get(request);
  if (verification === undefined) {
    verification = authenticate().then((principal) => {
      principals.set(request, principal);
      return principal;
    });
    verifications.set(request, verification);
  }
  return verification;
};

/** The verified principal of a request, once the auth guard has let one of its operations through. */
export const principalOfRequest = (request: object): Principal | undefined => principals.get(request);

/**
 * The request's principal when its bearer token is valid, else undefined; shares the verification
 * with the auth guard, which refuses the request with the reason if it runs.
 */
export const principalIfAuthenticated = async (
  request: { headers: IncomingHttpHeaders },
  verifier: TokenVerifier,
): Promise<Principal | undefined> => {
  try {
    return await authenticateOnce(request, () => verifier.verifyOrThrow(bearerTokenOrThrow(request.headers)));
  } catch {
    return undefined;
  }
};
