import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from './app-config.js';
import { parseDurationSeconds } from './config.schema.js';

const base = {
  COSMOS_ENDPOINT: 'https://localhost:8081/',
  COSMOS_KEY: 'secret-key-value',
  AUTH_ISSUER: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
  AUTH_AUDIENCE: 'api://flick-api',
  AUTH_JWKS_URL: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/discovery/v2.0/keys',
};

const problemsOf = (env: NodeJS.ProcessEnv): readonly string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe(loadConfig.name, () => {
  it('builds the typed config with defaults', () => {
    const config = loadConfig(base);
    expect(config.http).toEqual({ host: '0.0.0.0', port: 3000 });
    expect(config.cosmos.database).toBe('flick-gold');
    expect(config.cosmos.key).toBe('secret-key-value');
    expect(config.auth).toEqual({
      issuer: base.AUTH_ISSUER,
      audience: base.AUTH_AUDIENCE,
      jwksUrl: base.AUTH_JWKS_URL,
    });
    expect(config.freshness.profiles).toEqual({ objectiveSeconds: 26 * 3600, hardLimitSeconds: 72 * 3600 });
  });

  it('names a missing required variable', () => {
    expect(problemsOf({})).toEqual([
      'COSMOS_ENDPOINT: is required',
      'AUTH_ISSUER: is required',
      'AUTH_AUDIENCE: is required',
      'AUTH_JWKS_URL: is required',
    ]);
  });

  it('names every bad variable at once', () => {
    const problems = problemsOf({ ...base, PORT: 'eighty', NODE_ENV: 'staging', COSMOS_ENDPOINT: 'ftp://x' });
    expect(problems.map((problem) => problem.split(':')[0]).sort()).toEqual([
      'COSMOS_ENDPOINT',
      'NODE_ENV',
      'PORT',
    ]);
  });

  it('never prints the value of a sensitive variable', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (key) => {
        const message = (() => {
          try {
            loadConfig({ ...base, COSMOS_KEY: key, PORT: 'not-a-port' });
            return '';
          } catch (error) {
            return (error as Error).message;
          }
        })();
        expect(message).toContain('PORT');
        if (key.length > 3) expect(message).not.toContain(key);
      }),
    );
  });

  it('requires the cursor secret in production, and a long one anywhere, without printing it', () => {
    expect(problemsOf({ ...base, NODE_ENV: 'production' })).toEqual([
      'CURSOR_SECRET: is required in production (all replicas must sign paging cursors with the same secret)',
    ]);
    expect(problemsOf({ ...base, CURSOR_SECRET: 'too-short-secret' })).toEqual(['CURSOR_SECRET: is invalid']);
    const secret = 'a-secret-of-at-least-thirty-two-characters';
    const configured = loadConfig({ ...base, NODE_ENV: 'production', CURSOR_SECRET: secret });
    expect(configured.cursors).toEqual({ secret, secretGenerated: false });
    // Outside production each process makes its own.
    const a = loadConfig(base).cursors;
    const b = loadConfig(base).cursors;
    expect(a.secretGenerated).toBe(true);
    expect(a.secret.length).toBeGreaterThanOrEqual(32);
    expect(a.secret).not.toBe(b.secret);
  });

  it('reads per-dataset freshness overrides and refuses unknown datasets', () => {
    const config = loadConfig({ ...base, GOLD_FRESHNESS_OBJECTIVES: 'profiles=8h, popular=90m' });
    expect(config.freshness.profiles.objectiveSeconds).toBe(8 * 3600);
    expect(config.freshness.popular.objectiveSeconds).toBe(90 * 60);
    expect(problemsOf({ ...base, GOLD_HARD_LIMITS: 'profile=3d' })).toEqual([
      'GOLD_HARD_LIMITS: unknown dataset "profile" (expected one of catalog, profiles, popular, segments, partner_metrics)',
    ]);
    expect(problemsOf({ ...base, GOLD_HARD_LIMITS: 'profiles=1h' })).toEqual([
      "GOLD_HARD_LIMITS: profiles's hard limit is shorter than its freshness objective",
    ]);
    expect(problemsOf({ ...base, GOLD_FRESHNESS_OBJECTIVES: 'profiles=soon' })[0]).toMatch(
      /^GOLD_FRESHNESS_OBJECTIVES: "profiles=soon" is not name=duration/,
    );
  });

  it('requires an http(s) JWKS URL', () => {
    expect(problemsOf({ ...base, AUTH_JWKS_URL: 'file:///etc/jwks.json' })).toHaveLength(1);
    expect(problemsOf({ ...base, AUTH_JWKS_URL: 'file:///etc/jwks.json' })[0]).toMatch(/^AUTH_JWKS_URL: /);
  });

  it('names an unreadable CA file', () => {
    expect(problemsOf({ ...base, COSMOS_CA_CERT_FILE: '/nonexistent/ca.pem' })).toEqual([
      'COSMOS_CA_CERT_FILE: cannot read /nonexistent/ca.pem (ENOENT)',
    ]);
  });
});

describe(parseDurationSeconds.name, () => {
  it('converts every unit and refuses anything else', () => {
    fc.assert(
      fc.property(
        fc.nat(100_000),
        fc.constantFrom(['s', 1], ['m', 60], ['h', 3600], ['d', 86_400]),
        (n, unit) => {
          expect(parseDurationSeconds(`${n}${unit[0]}`)).toBe(n * (unit[1] as number));
        },
      ),
    );
    for (const bad of ['', '10', 'h', '1.5h', '-3h', '3 weeks'])
      expect(parseDurationSeconds(bad)).toBeUndefined();
  });
});
