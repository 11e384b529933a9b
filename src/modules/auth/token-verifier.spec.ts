import fc from 'fast-check';
import {
  base64url,
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWTPayload,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';

import type { AuthConfig } from '../config/app-config.js';
import { AuthError, SigningKeysUnavailableError } from './auth.errors.js';
import { TokenVerifier } from './token-verifier.js';

const config: AuthConfig = {
  issuer: 'https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0',
  audience: 'api://flick-api',
  jwksUrl: 'https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/discovery/v2.0/keys',
};

interface SigningKey {
  alg: 'ES256' | 'RS256';
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

const signingKey = async (alg: SigningKey['alg']): Promise<SigningKey> => {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { alg, kid: await calculateJwkThumbprint(await exportJWK(publicKey)), privateKey, publicKey };
};

const now = () => Math.floor(Date.now() / 1000);

const deviceClaims = { roles: ['device'], account_id: 'acc-1', profile_ids: ['p-1', 'p-2'], country: 'US' };

let es256: SigningKey;
let rs256: SigningKey;
let stranger: SigningKey;
let sut: TokenVerifier;

interface SignOptions {
  key?: SigningKey;
  kid?: string;
  iss?: string;
  aud?: string;
  exp?: number | null;
  nbf?: number;
}

const sign = (claims: JWTPayload, options: SignOptions = {}): Promise<string> => {
  const key = options.key ?? es256;
  const jwt = new SignJWT({ sub: 'user-1', ...claims })
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: options.kid ?? key.kid })
    .setIssuer(options.iss ?? config.issuer)
    .setAudience(options.aud ?? config.audience)
    .setIssuedAt()
    .setNotBefore(options.nbf ?? now());
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? now() + 3600);
  return jwt.sign(key.privateKey);
};

const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value));

const refusalOf = async (token: string): Promise<AuthError> => {
  const outcome = await sut.verifyOrThrow(token).then(
    (principal) => ({ principal }),
    (error: unknown) => ({ error }),
  );
  if ('principal' in outcome) throw new Error(`accepted: ${JSON.stringify(outcome.principal)}`);
  if (!(outcome.error instanceof AuthError)) throw outcome.error;
  return outcome.error;
};

const expectUnauthenticated = async (token: string, message: RegExp) => {
  const error = await refusalOf(token);
  expect(error.extensions['code']).toBe('UNAUTHENTICATED');
  expect(error.message).toMatch(message);
  if (token.length > 12) expect(error.message).not.toContain(token);
};

beforeAll(async () => {
  [es256, rs256, stranger] = await Promise.all([
    signingKey('ES256'),
    signingKey('RS256'),
    signingKey('ES256'),
  ]);
  const keys = await Promise.all(
    [es256, rs256].map(async (key) => ({ ...(await exportJWK(key.publicKey)), kid: key.kid, alg: key.alg })),
  );
  sut = new TokenVerifier(config, createLocalJWKSet({ keys }));
});

describe(TokenVerifier.name, () => {
  describe('accepts', () => {
    it('a device token, with the account, its profiles and the country', async () => {
      await expect(sut.verifyOrThrow(await sign(deviceClaims))).resolves.toEqual({
        subject: 'user-1',
        roles: ['device'],
        accountId: 'acc-1',
        profileIds: ['p-1', 'p-2'],
        country: 'US',
      });
    });

    it('a marketing token, RS256-signed', async () => {
      const token = await sign({ sub: 'svc-marketing', roles: ['marketing'] }, { key: rs256 });
      await expect(sut.verifyOrThrow(token)).resolves.toEqual({
        subject: 'svc-marketing',
        roles: ['marketing'],
      });
    });

    it('a partner token with its partner id', async () => {
      await expect(
        sut.verifyOrThrow(await sign({ roles: ['partner'], partner_id: 'studio-9' })),
      ).resolves.toEqual({
        subject: 'user-1',
        roles: ['partner'],
        partnerId: 'studio-9',
      });
    });

    it('an ops token, ignoring app roles Flick does not know', async () => {
      await expect(sut.verifyOrThrow(await sign({ roles: ['Directory.Read', 'ops'] }))).resolves.toEqual({
        subject: 'user-1',
        roles: ['ops'],
      });
    });

    it('a token just past its expiry or just before its nbf, within the clock tolerance', async () => {
      await expect(
        sut.verifyOrThrow(await sign({ roles: ['ops'] }, { exp: now() - 10 })),
      ).resolves.toBeDefined();
      await expect(
        sut.verifyOrThrow(await sign({ roles: ['ops'] }, { nbf: now() + 10 })),
      ).resolves.toBeDefined();
    });

    it('a token with several roles when it carries what each requires', async () => {
      const principal = await sut.verifyOrThrow(await sign({ ...deviceClaims, roles: ['ops', 'device'] }));
      expect(principal.roles).toEqual(['device', 'ops']);
      expect(principal.accountId).toBe('acc-1');
    });
  });

  describe('refuses as UNAUTHENTICATED', () => {
    it('an expired token', async () => {
      await expectUnauthenticated(await sign({ roles: ['ops'] }, { exp: now() - 120 }), /expired/);
    });

    it('a token that is not valid yet', async () => {
      await expectUnauthenticated(await sign({ roles: ['ops'] }, { nbf: now() + 120 }), /not valid yet/);
    });

    it('a token without expiry', async () => {
      await expectUnauthenticated(await sign({ roles: ['ops'] }, { exp: null }), /no expiry \(exp claim\)/);
    });

    it('a token from another issuer', async () => {
      const token = await sign({ roles: ['ops'] }, { iss: 'https://login.microsoftonline.com/other/v2.0' });
      await expectUnauthenticated(token, /issuer/);
    });

    it('a token for another audience', async () => {
      await expectUnauthenticated(await sign({ roles: ['ops'] }, { aud: 'api://someone-else' }), /audience/);
    });

    it('an unsigned token (alg: none)', async () => {
      const payload = {
        sub: 'user-1',
        roles: ['ops'],
        iss: config.issuer,
        aud: config.audience,
        exp: now() + 3600,
      };
      await expectUnauthenticated(
        `${encodeJson({ alg: 'none', typ: 'JWT' })}.${encodeJson(payload)}.`,
        /algorithm/,
      );
    });

    it('a token signed by a key that is not in the key set', async () => {
      await expectUnauthenticated(
        await sign({ roles: ['ops'] }, { key: stranger }),
        /not signed by a known key/,
      );
    });

    it('a token signed by another key under a trusted key id', async () => {
      await expectUnauthenticated(
        await sign({ roles: ['ops'] }, { key: stranger, kid: es256.kid }),
        /signature/,
      );
    });

    it('a token whose claims were changed after signing', async () => {
      const [header, , signature] = (await sign({ roles: ['marketing'] })).split('.');
      const forged = {
        sub: 'user-1',
        roles: ['ops'],
        iss: config.issuer,
        aud: config.audience,
        exp: now() + 3600,
      };
      await expectUnauthenticated(`${header}.${encodeJson(forged)}.${signature}`, /signature/);
    });

    it('an HS256 token keyed with the public key (algorithm confusion)', async () => {
      const secret = new TextEncoder().encode(await exportSPKI(rs256.publicKey));
      const token = await new SignJWT({ sub: 'user-1', roles: ['ops'] })
        .setProtectedHeader({ alg: 'HS256', kid: rs256.kid })
        .setIssuer(config.issuer)
        .setAudience(config.audience)
        .setExpirationTime('1h')
        .sign(secret);
      await expectUnauthenticated(token, /algorithm/);
    });

    it.each([
      ['no roles claim', { roles: undefined }, /none of the roles device, marketing, partner, ops/],
      ['no Flick role', { roles: ['Directory.Read'] }, /none of the roles/],
      ['roles that are not an array', { roles: 'ops' }, /roles claim must be an array/],
      ['no subject', { sub: undefined, roles: ['ops'] }, /sub claim/],
      [
        'a device token without account_id',
        { ...deviceClaims, account_id: undefined },
        /device token must carry the account_id claim/,
      ],
      [
        'a device token without profile_ids',
        { ...deviceClaims, profile_ids: undefined },
        /profile_ids claim/,
      ],
      [
        'a device token without country',
        { ...deviceClaims, country: undefined },
        /device token must carry the country claim/,
      ],
      [
        'a device token with a bad country',
        { ...deviceClaims, country: 'USA' },
        /country claim must be an ISO 3166-1/,
      ],
      [
        'profile_ids that are not a list',
        { ...deviceClaims, profile_ids: 'p-1' },
        /profile_ids claim must be an array/,
      ],
      [
        'an account id that is not an id',
        { ...deviceClaims, account_id: 'a/b' },
        /account_id claim is not a valid id/,
      ],
      [
        'a partner token without partner_id',
        { roles: ['partner'] },
        /partner token must carry the partner_id claim/,
      ],
      ['ops + device without the device claims', { roles: ['ops', 'device'] }, /account_id/],
    ])('%s', async (_case, claims, message) => {
      await expectUnauthenticated(await sign(claims), message);
    });

    it.each([
      ['an empty string', ''],
      ['a word', 'hello'],
      ['two segments', 'eyJhbGciOiJFUzI1NiJ9.e30'],
      ['a header that is not JSON', `${base64url.encode('nope')}.e30.c2ln`],
      ['a payload that is not an object', `${encodeJson({ alg: 'ES256' })}.${encodeJson([1])}.c2ln`],
      ['an oversized token', 'a'.repeat(20_000)],
    ])('a malformed token: %s', async (_case, token) => {
      await expectUnauthenticated(token, /malformed|algorithm|signature|known key/);
    });
  });

  describe('properties', () => {
    it('refuses any string as UNAUTHENTICATED, without echoing it', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 300 }), async (token) => {
          const error = await refusalOf(token);
          expect(error.extensions['code']).toBe('UNAUTHENTICATED');
          if (token.length > 12) expect(error.message).not.toContain(token);
        }),
      );
    });

    it('refuses any three-part token with arbitrary JSON header and claims', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.jsonValue(),
            fc.record({ alg: fc.constantFrom('ES256', 'RS256', 'none', 'HS256') }, { requiredKeys: [] }),
          ),
          fc.jsonValue(),
          fc.base64String(),
          async (header, claims, signature) => {
            const error = await refusalOf(
              `${encodeJson(header)}.${encodeJson(claims)}.${signature.replace(/=+$/, '')}`,
            );
            expect(error.extensions['code']).toBe('UNAUTHENTICATED');
          },
        ),
      );
    });

    it('turns any correctly signed claims into a consistent principal or refuses them as UNAUTHENTICATED', async () => {
      const claimNames = [
        'sub',
        'roles',
        'account_id',
        'profile_ids',
        'country',
        'partner_id',
        'exp',
        'nbf',
        'iss',
        'aud',
      ];
      const claimValue = fc.oneof(
        fc.jsonValue(),
        fc.subarray(['device', 'marketing', 'partner', 'ops', 'admin']),
        fc.constantFrom('US', 'acc-1', config.issuer, config.audience),
        fc.array(fc.constantFrom('p-1', 'p-2', '', 'a/b')),
        fc.integer({ min: now() - 7200, max: now() + 7200 }),
      );
      await fc.assert(
        fc.asyncProperty(fc.dictionary(fc.constantFrom(...claimNames), claimValue), async (overrides) => {
          const claims = {
            ...deviceClaims,
            roles: ['device', 'partner'],
            partner_id: 'studio-9',
            ...overrides,
          };
          const outcome = await sut.verifyOrThrow(await sign(claims)).then(
            (principal) => ({ principal }),
            (error: unknown) => ({ error }),
          );
          if ('error' in outcome) {
            expect(outcome.error).toBeInstanceOf(AuthError);
            expect((outcome.error as AuthError).extensions['code']).toBe('UNAUTHENTICATED');
            return;
          }
          const { principal } = outcome;
          expect(principal.roles.length).toBeGreaterThan(0);
          if (principal.roles.includes('device')) {
            expect(principal.accountId).toEqual(expect.any(String));
            expect(principal.profileIds).toEqual(expect.any(Array));
            expect(principal.country).toMatch(/^[A-Z]{2}$/);
          }
          if (principal.roles.includes('partner')) expect(principal.partnerId).toEqual(expect.any(String));
        }),
        { numRuns: 200 },
      );
    });
  });

  it('reports unreachable signing keys as its own failure, not as a bad token', async () => {
    const unreachable = new TokenVerifier(config, createRemoteJWKSet(new URL('http://127.0.0.1:9/keys')));
    await expect(unreachable.verifyOrThrow(await sign({ roles: ['ops'] }))).rejects.toBeInstanceOf(
      SigningKeysUnavailableError,
    );
  });
});
