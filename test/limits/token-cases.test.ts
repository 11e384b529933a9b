import { base64url, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestApp, type TestApp } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { claimsFor, startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';

/**
 * Tokens that must not get in, sent to the real app over HTTP: each is refused UNAUTHENTICATED,
 * while the same request with a good token gets through.
 */
let cosmos: TestCosmos;
let issuer: TestIssuer;
let stranger: TestIssuer;
let api: TestApp;

/** Needs the device claims; answers without gold (from the emergency list), so a good token gets data. */
const POPULAR = '{ popular(device: TV) { country titles { id } } }';

const now = () => Math.floor(Date.now() / 1000);
const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
const kidOf = (token: string) =>
  (JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[0]!))) as { kid: string }).kid;

beforeAll(async () => {
  [cosmos, issuer, stranger] = await Promise.all([startTestCosmos(), startTestIssuer(), startTestIssuer()]);
  api = await startTestApp({ ...cosmos.env, ...issuer.env, COSMOS_DATABASE: 'token-cases' });
});

afterAll(async () => {
  await api?.close();
  await Promise.all([issuer?.close(), stranger?.close(), cosmos?.close()]);
});

const refusalOf = async (token: string) => {
  const response = await api.gql(POPULAR, { token });
  expect(response.status).toBe(200);
  expect(response.data).toBeNull();
  expect(response.errors).toHaveLength(1);
  return response.errors![0]!;
};

describe('tokens refused by the running app', () => {
  it('lets a good device token through', async () => {
    const response = await api.gql<{ popular: { country: string } }>(POPULAR, {
      token: await issuer.tokenFor('device'),
    });
    expect(response.errors).toBeUndefined();
    expect(response.data?.popular.country).toBe('US');
  });

  const cases: [string, () => Promise<string>, RegExp][] = [
    ['an expired token', () => issuer.tokenFor('device', {}, { expires: '-10m' }), /expired/],
    ['a token not valid yet', () => issuer.tokenFor('device', {}, { notBefore: '10m' }), /not valid yet/],
    ['a token without expiry', () => issuer.tokenFor('device', {}, { expires: null }), /no expiry/],
    [
      'a token from another issuer',
      () => issuer.tokenFor('device', {}, { issuer: 'https://login.microsoftonline.com/other/v2.0' }),
      /issuer/,
    ],
    [
      'a token for another audience',
      () => issuer.tokenFor('device', {}, { audience: 'api://another-api' }),
      /audience/,
    ],
    [
      'an unsigned token (alg: none)',
      () =>
        Promise.resolve(
          `${encode({ alg: 'none', typ: 'JWT' })}.${encode({
            sub: 'test-device',
            roles: ['device'],
            ...claimsFor.device,
            iss: issuer.issuer,
            aud: issuer.audience,
            iat: now(),
            exp: now() + 3600,
          })}.`,
        ),
      /algorithm/,
    ],
    [
      'a token MACed with HS256 (the algorithm-confusion attack)',
      async () =>
        new SignJWT({ roles: ['device'], ...claimsFor.device })
          .setProtectedHeader({ alg: 'HS256', kid: kidOf(await issuer.tokenFor('ops')) })
          .setSubject('test-device')
          .setIssuer(issuer.issuer)
          .setAudience(issuer.audience)
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode('a secret anyone could guess, 32+ bytes long')),
      /algorithm/,
    ],
    [
      'a token signed by another key under its own key id',
      () => stranger.tokenFor('device', {}, { issuer: issuer.issuer, audience: issuer.audience }),
      /not signed by a known key/,
    ],
    [
      "a token signed by another key under the issuer's key id",
      async () =>
        stranger.tokenFor(
          'device',
          {},
          { issuer: issuer.issuer, audience: issuer.audience, keyId: kidOf(await issuer.tokenFor('ops')) },
        ),
      /signature is invalid/,
    ],
    [
      'a device token without account_id',
      () => issuer.tokenFor('device', { account_id: undefined }),
      /account_id/,
    ],
    [
      'a device token without profile_ids',
      () => issuer.tokenFor('device', { profile_ids: undefined }),
      /profile_ids/,
    ],
    ['a device token without country', () => issuer.tokenFor('device', { country: undefined }), /country/],
    [
      'a device token with a malformed country',
      () => issuer.tokenFor('device', { country: 'USA' }),
      /country/,
    ],
    ['a token without roles', () => issuer.tokenFor('device', { roles: [] }), /none of the roles/],
    ['a token without sub', () => issuer.tokenFor('device', { sub: '' }), /sub claim/],
    [
      'a token cut short',
      async () => (await issuer.tokenFor('device')).split('.').slice(0, 2).join('.'),
      /malformed/,
    ],
    ['garbage', () => Promise.resolve('not.a.jwt'), /malformed/],
  ];

  it.each(cases)('refuses %s as UNAUTHENTICATED', async (_name, token, message) => {
    const error = await refusalOf(await token());
    expect(error.extensions?.code).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(message);
  });

  it('refuses a malformed Authorization header and none at all', async () => {
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', undefined]) {
      const response = await fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(authorization === undefined ? {} : { authorization }),
        },
        body: JSON.stringify({ query: POPULAR }),
      });
      const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
      expect(response.status).toBe(200);
      expect(body.errors.map((error) => error.extensions.code)).toEqual(['UNAUTHENTICATED']);
    }
  });
});
