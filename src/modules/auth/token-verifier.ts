import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';

import { countryCode, goldId } from '../../gold/contract/common.schema.js';
import type { AuthConfig } from '../config/app-config.js';
import { SigningKeysUnavailableError, unauthenticated, type AuthError } from './auth.errors.js';
import type { Principal } from './principal.js';
import { roles, type Role } from './roles.decorator.js';

/** Asymmetric algorithms only: an HMAC algorithm would let anyone holding the public key sign. */
const acceptedAlgorithms = ['RS256', 'ES256'];
const clockToleranceSeconds = 30;
/** Far above any real token (Entra access tokens are 1–3 KB); refused before any parsing. */
const maxTokenLength = 16 * 1024;
/**
 * Verified tokens are remembered (a device sends the same token for an hour), for at most this long
 * and never past their expiry, so a key withdrawn from the key set stops being trusted within it.
 */
const verifiedTtlMs = 60_000;
const verifiedMaxEntries = 20_000;

/**
 * Verifies bearer JWTs (signature, algorithm, issuer, audience, expiry) and turns their claims into
 * a {@link Principal}. Every refusal is an UNAUTHENTICATED {@link AuthError} with a message naming
 * what is wrong, never echoing the token or a claim value.
 */
export class TokenVerifier {
  private readonly keys: JWTVerifyGetKey;
  private readonly verified = new LRUCache<string, Principal>({ max: verifiedMaxEntries });

  /** @param keys where signing keys come from: `RemoteSigningKeys` in the service, a local set in tests. */
  constructor(
    private readonly config: AuthConfig,
    keys: JWTVerifyGetKey,
  ) {
    this.keys = async (header, token) => {
      try {
        return await keys(header, token);
      } catch (error) {
        // An unknown key is the token's problem; anything else (timeout, HTTP error) is the key endpoint's.
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
          throw error;
        }
        throw new SigningKeysUnavailableError(error);
      }
    };
  }

  /** @throws AuthError (UNAUTHENTICATED), or SigningKeysUnavailableError when the keys cannot be fetched. */
  async verifyOrThrow(token: string): Promise<Principal> {
    if (token.length === 0 || token.length > maxTokenLength) throw unauthenticated('The token is malformed.');
    const known = this.verified.get(token);
    if (known !== undefined) return known;
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, this.keys, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: acceptedAlgorithms,
        clockTolerance: clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw refusalOf(error);
    }
    const principal = frozen(principalOf(claims));
    const ttl = Math.min(verifiedTtlMs, (claims.exp ?? 0) * 1000 - Date.now());
    if (ttl > 0) this.verified.set(token, principal, { ttl });
    return principal;
  }
}

const refusalOf = (error: unknown): Error => {
  if (error instanceof SigningKeysUnavailableError) return error;
  if (error instanceof errors.JWTExpired) return unauthenticated('The token has expired.');
  if (error instanceof errors.JWTClaimValidationFailed) return claimRefusalOf(error);
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return unauthenticated('The token signing algorithm is not accepted.');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return unauthenticated('The token signature is invalid.');
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return unauthenticated('The token is not signed by a known key.');
  }
  if (error instanceof errors.JOSEError) return unauthenticated('The token is malformed.');
  return error instanceof Error ? error : new Error(String(error));
};

const claimRefusalOf = (error: errors.JWTClaimValidationFailed): AuthError => {
  switch (error.claim) {
    case 'iss':
      return unauthenticated('The token issuer is not accepted.');
    case 'aud':
      return unauthenticated('The token audience is not accepted.');
    case 'nbf':
      return unauthenticated('The token is not valid yet.');
    case 'exp':
      return unauthenticated(
        error.reason === 'missing' ? 'The token has no expiry (exp claim).' : 'The token expiry is invalid.',
      );
    default:
      // jose only names the registered claims it checks, so the name is safe to return.
      return unauthenticated(`The token's ${error.claim} claim is invalid.`);
  }
};

/** A principal shared by the requests of one token cannot be changed by any of them. */
const frozen = (principal: Principal): Principal => {
  if (principal.profileIds !== undefined) Object.freeze(principal.profileIds);
  Object.freeze(principal.roles);
  return Object.freeze(principal);
};

const principalOf = (claims: JWTPayload): Principal => {
  const subject = claims.sub;
  if (typeof subject !== 'string' || subject.length === 0) {
    throw unauthenticated('The token has no sub claim.');
  }
  const claimed: unknown = claims['roles'] ?? [];
  if (!Array.isArray(claimed) || !claimed.every((role) => typeof role === 'string')) {
    throw unauthenticated('The token roles claim must be an array of role names.');
  }
  const granted = roles.filter((role) => claimed.includes(role));
  if (granted.length === 0) {
    throw unauthenticated(`The token carries none of the roles ${roles.join(', ')} in its roles claim.`);
  }
  return granted.reduce<Principal>((principal, role) => ({ ...principal, ...roleClaimsOf(role, claims) }), {
    subject,
    roles: granted,
  });
};

/** What each role must carry; a token with several roles must carry what each of them requires. */
const roleClaimsOf = (role: Role, claims: JWTPayload): Partial<Principal> => {
  switch (role) {
    case 'device':
      return {
        accountId: idClaimOrThrow(role, claims, 'account_id'),
        profileIds: idListClaimOrThrow(role, claims, 'profile_ids'),
        country: countryClaimOrThrow(role, claims, 'country'),
      };
    case 'partner':
      return { partnerId: idClaimOrThrow(role, claims, 'partner_id') };
    case 'marketing':
    case 'ops':
      return {};
  }
};

const claimOrThrow = (role: Role, claims: JWTPayload, name: string): unknown => {
  const value = claims[name];
  if (value === undefined || value === null) {
    throw unauthenticated(`A ${role} token must carry the ${name} claim.`);
  }
  return value;
};

const idClaimOrThrow = (role: Role, claims: JWTPayload, name: string): string => {
  const parsed = goldId.safeParse(claimOrThrow(role, claims, name));
  if (!parsed.success) throw unauthenticated(`The token's ${name} claim is not a valid id.`);
  return parsed.data;
};

const idListClaimOrThrow = (role: Role, claims: JWTPayload, name: string): string[] => {
  const parsed = goldId.array().safeParse(claimOrThrow(role, claims, name));
  if (!parsed.success) throw unauthenticated(`The token's ${name} claim must be an array of ids.`);
  return parsed.data;
};

const countryClaimOrThrow = (role: Role, claims: JWTPayload, name: string): string => {
  const parsed = countryCode.safeParse(claimOrThrow(role, claims, name));
  if (!parsed.success) {
    throw unauthenticated(`The token's ${name} claim must be an ISO 3166-1 alpha-2 country code.`);
  }
  return parsed.data;
};
