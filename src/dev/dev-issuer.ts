import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';

import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
  type JWTPayload,
} from 'jose';

/**
 * A stand-in for Entra ID in the demo and tests (never used by the service): an ES256 key pair made
 * at start, its public half served as a JWKS over HTTP, and a signer for tokens the API accepts
 * once pointed at it (AUTH_ISSUER, AUTH_AUDIENCE, AUTH_JWKS_URL).
 */
export interface DevIssuer {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** Signs `claims` (e.g. `{ roles: ['ops'] }`) with this issuer's key. */
  sign(claims: JWTPayload, options?: DevTokenOptions): Promise<string>;
  /** Stops serving the JWKS and removes the key file it wrote, if it is still this issuer's. */
  close(): Promise<void>;
}

export interface DevIssuerOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Where to write `{issuer, audience, jwksUrl, privateJwk}` (mode 0600) for the token CLI. */
  keyFile?: string;
  audience?: string;
}

/** Overrides for one token; times are jose time spans from now (`'12h'`, `'-5m'`) or epoch seconds. */
export interface DevTokenOptions {
  /** Default `'12h'`; `null` signs a token without `exp`. */
  expires?: string | number | null;
  /** Default now. */
  notBefore?: string | number;
  /** Default now. */
  issuedAt?: number;
  issuer?: string;
  audience?: string | string[];
  /** Default `dev-user`; a `sub` in the claims wins over both. */
  subject?: string;
  /** The `kid` header; default the key's own id. */
  keyId?: string;
}

/** What the key file holds: enough to sign tokens the running demo accepts. */
export interface DevIssuerFile {
  issuer: string;
  audience: string;
  jwksUrl: string;
  privateJwk: JWK;
}

export const DEV_AUDIENCE = 'api://flick-api';
const algorithm = 'ES256';

/** A signer over one private key; the issuer's `sign` and the token CLI both use it. */
export const devTokenSigner = async (file: DevIssuerFile): Promise<DevIssuer['sign']> => {
  const { privateJwk } = file;
  const key = await importJWK(privateJwk, algorithm);
  const keyId = privateJwk.kid ?? (await calculateJwkThumbprint(privateJwk));
  return (claims, options = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ sub: options.subject ?? 'dev-user', ...claims })
      .setProtectedHeader({ alg: algorithm, typ: 'JWT', kid: options.keyId ?? keyId })
      .setIssuer(options.issuer ?? file.issuer)
      .setAudience(options.audience ?? file.audience)
      .setIssuedAt(options.issuedAt ?? now)
      .setNotBefore(options.notBefore ?? now);
    const expires = options.expires === undefined ? '12h' : options.expires;
    if (expires !== null) jwt.setExpirationTime(expires);
    return jwt.sign(key);
  };
};

/** @throws Error naming the file when it is missing or not a key file. */
export const readDevIssuerFile = (path: string): DevIssuerFile => {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<DevIssuerFile>;
  const { issuer, audience, jwksUrl, privateJwk } = parsed;
  if (
    typeof issuer !== 'string' ||
    typeof audience !== 'string' ||
    typeof jwksUrl !== 'string' ||
    typeof privateJwk !== 'object' ||
    privateJwk === null ||
    typeof privateJwk.d !== 'string'
  ) {
    throw new Error(`${path} is not a development issuer key file`);
  }
  return { issuer, audience, jwksUrl, privateJwk };
};

const writePrivateFile = (path: string, content: string): void => {
  mkdirSync(dirname(path), { recursive: true });
  // Written aside and renamed, so a reader never sees half a file and the mode holds from the start.
  const temporary = `${path}.${randomUUID()}.tmp`;
  writeFileSync(temporary, content, { mode: 0o600 });
  renameSync(temporary, path);
};

const urlHostOf = (host: string): string => {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
};

const sendJson = (response: ServerResponse, status: number, body: unknown): void => {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
};

export const startDevIssuer = async (options: DevIssuerOptions = {}): Promise<DevIssuer> => {
  const host = options.host ?? '127.0.0.1';
  const { publicKey, privateKey } = await generateKeyPair(algorithm, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: algorithm, use: 'sig' }] };

  let discovery: Record<string, unknown> = {};
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://issuer').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return sendJson(response, 405, { error: 'GET only' });
    }
    if (path === '/jwks.json') return sendJson(response, 200, jwks);
    if (path.endsWith('/.well-known/openid-configuration')) return sendJson(response, 200, discovery);
    return sendJson(response, 404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const base = `http://${urlHostOf(host)}:${(server.address() as AddressInfo).port}`;
  const file: DevIssuerFile = {
    issuer: `${base}/flick-dev`,
    audience: options.audience ?? DEV_AUDIENCE,
    jwksUrl: `${base}/jwks.json`,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: algorithm },
  };
  discovery = {
    issuer: file.issuer,
    jwks_uri: file.jwksUrl,
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [algorithm],
  };
  if (options.keyFile !== undefined) writePrivateFile(options.keyFile, `${JSON.stringify(file, null, 2)}\n`);

  const removeKeyFileIfOurs = (path: string) => {
    try {
      if (readDevIssuerFile(path).privateJwk.kid === kid) rmSync(path);
    } catch {
      // Already gone, or replaced by another issuer: not ours to remove.
    }
  };
  return {
    issuer: file.issuer,
    audience: file.audience,
    jwksUrl: file.jwksUrl,
    sign: await devTokenSigner(file),
    close: () =>
      new Promise<void>((resolve) => {
        if (options.keyFile !== undefined) removeKeyFileIfOurs(options.keyFile);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
