import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Logger } from '@nestjs/common';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { AuthConfig } from '../config/app-config.js';
import { SigningKeysUnavailableError } from './auth.errors.js';
import { RemoteSigningKeys } from './signing-keys.js';
import { TokenVerifier } from './token-verifier.js';

interface Key {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

const newKey = async (): Promise<Key> => {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, privateKey, publicJwk: { ...publicJwk, kid, alg: 'ES256' } };
};

/** An identity provider's key endpoint whose keys the test rotates, and which it can take down. */
const startKeyEndpoint = async () => {
  let served: Key[] = [];
  let up = true;
  let fetches = 0;
  const server: Server = createServer((_request, response) => {
    fetches += 1;
    if (!up) {
      response.writeHead(503).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: served.map((key) => key.publicJwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`,
    serve: (...keys: Key[]) => {
      served = keys;
    },
    setUp: (value: boolean) => {
      up = value;
    },
    fetches: () => fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

const config: Omit<AuthConfig, 'jwksUrl'> = { issuer: 'https://idp.test/v2.0', audience: 'api://flick-api' };

const tokenSignedBy = (key: Key) =>
  new SignJWT({ sub: 'svc-ops', roles: ['ops'] })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(key.privateKey);

let endpoint: Awaited<ReturnType<typeof startKeyEndpoint>>;
let sut: RemoteSigningKeys;
let verifier: TokenVerifier;

beforeEach(async () => {
  endpoint = await startKeyEndpoint();
  sut = new RemoteSigningKeys(endpoint.url);
  verifier = new TokenVerifier({ ...config, jwksUrl: endpoint.url }, sut.getKey);
});

afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  sut.onModuleDestroy();
  await endpoint.close();
});

describe(RemoteSigningKeys.name, () => {
  it('keeps verifying with the last good keys while the key endpoint is down, hours later', async () => {
    const key = await newKey();
    endpoint.serve(key);
    await sut.refresh();
    const token = await tokenSignedBy(key);
    endpoint.setUp(false);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3 * 3600_000 });
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await sut.refresh();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('keeping the last good set'));
    await expect(verifier.verifyOrThrow(token)).resolves.toMatchObject({ roles: ['ops'] });
  });

  it('does not make requests wait for a refresh once keys are loaded', async () => {
    const key = await newKey();
    endpoint.serve(key);
    await sut.refresh();
    const before = endpoint.fetches();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3600_000 });
    await verifier.verifyOrThrow(await tokenSignedBy(key));
    expect(endpoint.fetches()).toBe(before);
  });

  it('picks up a rotated key when a token names it (after jose’s 30 s cooldown)', async () => {
    const [oldKey, newerKey] = [await newKey(), await newKey()];
    endpoint.serve(oldKey);
    await sut.refresh();
    endpoint.serve(oldKey, newerKey);
    const token = await tokenSignedBy(newerKey);
    await expect(verifier.verifyOrThrow(token)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 31_000 });
    await expect(verifier.verifyOrThrow(token)).resolves.toMatchObject({ subject: 'svc-ops' });
  });

  it('fetches the keys on first use when none were loaded, and reports an unreachable endpoint as such', async () => {
    const key = await newKey();
    endpoint.serve(key);
    await expect(verifier.verifyOrThrow(await tokenSignedBy(key))).resolves.toBeDefined();

    const down = await startKeyEndpoint();
    down.setUp(false);
    const cold = new TokenVerifier({ ...config, jwksUrl: down.url }, new RemoteSigningKeys(down.url).getKey);
    await expect(cold.verifyOrThrow(await tokenSignedBy(key))).rejects.toBeInstanceOf(
      SigningKeysUnavailableError,
    );
    await down.close();
  });
});
