import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { REDACTED, scrubJsonLine, scrubSecrets } from './scrub-secrets.js';

const base64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');

/** A JWS as libraries write it: base64url JSON header and claims, a signature of any length (none too). */
const jwt = fc
  .record({
    header: fc.record(
      {
        alg: fc.constantFrom('RS256', 'ES256', 'PS512', 'HS256', 'EdDSA', 'none'),
        typ: fc.constant('JWT'),
        kid: fc.string({ maxLength: 40 }),
      },
      { requiredKeys: ['alg'] },
    ),
    claims: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 }),
    signature: fc.uint8Array({ minLength: 0, maxLength: 300 }),
  })
  .map(({ header, claims, signature }) => {
    const parts = [
      base64url(JSON.stringify(header)),
      base64url(JSON.stringify(claims)),
      base64url(signature),
    ];
    return { token: parts.join('.'), parts };
  });

/** Three long base64url parts: a token that does not start like a JWS header. */
const opaqueDotted = fc
  .array(fc.uint8Array({ minLength: 12, maxLength: 200 }), { minLength: 3, maxLength: 3 })
  .map((chunks) => {
    const parts = chunks.map((chunk) => base64url(chunk));
    return { token: parts.join('.'), parts };
  });

/** Text of any kind around the token: printable ASCII, any code unit, or token characters and dots. */
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.stringMatching(/^[A-Za-z0-9_.\- ]{0,40}$/),
);

/** Nothing of the token is left: not the whole, not one of its parts that is long enough to mean anything. */
const expectGone = (scrubbed: string, token: string, parts: string[]) => {
  expect(scrubbed).not.toContain(token);
  for (const part of parts) if (part.length >= 8) expect(scrubbed).not.toContain(part);
};

describe(scrubSecrets.name, () => {
  it('leaves no JWT embedded in any text', () => {
    fc.assert(
      fc.property(text, jwt, text, (before, { token, parts }, after) => {
        fc.pre(parts.every((part) => part.length < 8 || !`${before}${after}`.includes(part)));
        expectGone(scrubSecrets(`${before}${token}${after}`), token, parts);
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves no three-part base64url token embedded in any text', () => {
    fc.assert(
      fc.property(text, opaqueDotted, text, (before, { token, parts }, after) => {
        fc.pre(parts.every((part) => !`${before}${after}`.includes(part)));
        expectGone(scrubSecrets(`${before}${token}${after}`), token, parts);
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves no bearer token, opaque or not', () => {
    const opaque = fc.stringMatching(/^[A-Za-z0-9\-._~+/]{16,80}=*$/);
    fc.assert(
      fc.property(
        text,
        fc.constantFrom('Bearer', 'bearer', 'BEARER'),
        fc.constantFrom(' ', '  ', '\t'),
        opaque,
        text,
        (before, scheme, space, token, after) => {
          fc.pre(!`${before}${after}`.includes(token));
          expect(scrubSecrets(`${before} ${scheme}${space}${token}${after}`)).not.toContain(token);
        },
      ),
    );
  });

  it('keeps a JSON log line valid JSON, with the token gone from every string in it', () => {
    fc.assert(
      fc.property(
        text,
        jwt,
        text,
        fc.jsonValue({ maxDepth: 2 }),
        (before, { token, parts }, after, other) => {
          fc.pre(
            parts.every(
              (part) => part.length < 8 || !`${before}${after}${JSON.stringify(other)}`.includes(part),
            ),
          );
          const line = JSON.stringify({
            level: 'warn',
            msg: `${before}${token}${after}`,
            other,
            stack: `${token}\n    at x`,
          });
          const scrubbed = scrubJsonLine(line);
          expect(() => JSON.parse(scrubbed) as unknown).not.toThrow();
          expectGone(scrubbed, token, parts);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('keeps a JSON line valid when a bearer token before a JWT changes the length of the line', () => {
    const opaque = fc.stringMatching(/^[A-Za-z0-9\-._~+/]{16,80}$/);
    fc.assert(
      fc.property(text, opaque, jwt, text, (before, bearer, { token, parts }, after) => {
        fc.pre(parts.every((part) => part.length < 8 || !`${before}${after}`.includes(part)));
        const line = JSON.stringify({ msg: `${before} Bearer ${bearer}\n${token}${after}\u0001${token}` });
        const scrubbed = scrubJsonLine(line);
        expect(() => JSON.parse(scrubbed) as unknown).not.toThrow();
        expect(scrubbed).not.toContain(bearer);
        expectGone(scrubbed, token, parts);
      }),
      { numRuns: 1000 },
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(text, jwt, text, (before, { token }, after) => {
        const once = scrubSecrets(`${before}${token}${after}`);
        expect(scrubSecrets(once)).toBe(once);
      }),
    );
  });

  it('replaces the token, not the text around it', () => {
    const token =
      'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0ZXN0LWRldmljZSIsInJvbGVzIjpbImRldmljZSJdfQ.MEUCIQDx4Y2l8c3Zs1lR0XlY5H0';
    expect(scrubSecrets(`rejected token ${token}: expired`)).toBe(`rejected token ${REDACTED}: expired`);
    expect(scrubSecrets(`authorization: Bearer ${token}`)).toBe(`authorization: Bearer ${REDACTED}`);
    expect(scrubSecrets(`{"msg":"token=${token}&x=1"}`)).toBe(`{"msg":"token=${REDACTED}&x=1"}`);
  });

  it('leaves ordinary text alone: versions, hosts, addresses, files, times, stack frames, prose', () => {
    for (const line of [
      'Node.js v24.21.0 on 127.0.0.1:3000',
      'https://flick-prod-westeurope.documents.azure.com:443/ answered 429',
      'https://login.microsoftonline.com/0000/v2.0/.well-known/openid-configuration',
      '    at TokenVerifier.verifyOrThrow (file:///app/dist/modules/auth/token-verifier.js:52:19)',
      '{"level":"info","time":"2026-11-27T20:39:36.685Z","msg":"catalog.snapshot.2021-10-01 is active"}',
      '{"msg":"line\\nbreak.and.more\\u00e9.x.y"}',
      'The Authorization header must be Bearer <token>.',
      'send a Bearer token',
      'keyJar.of.things',
    ]) {
      expect(scrubSecrets(line)).toBe(line);
      expect(scrubJsonLine(line)).toBe(line);
    }
  });
});
