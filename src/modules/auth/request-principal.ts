import type { Principal } from './principal.js';

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
