import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '../config/app-config.js';

/** The cache's part of the configuration (REDIS_*, CACHE_*, PLAYBACK_PROGRESS_*). */
const base = {
  COSMOS_ENDPOINT: 'https://localhost:8081/',
  COSMOS_KEY: 'secret-key-value',
  AUTH_ISSUER: 'https://idp.test/v2.0',
  AUTH_AUDIENCE: 'api://flick-api',
  AUTH_JWKS_URL: 'https://idp.test/keys',
};

const problemsOf = (env: NodeJS.ProcessEnv): readonly string[] => {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('cache configuration', () => {
  it('runs without Redis by default, with the documented defaults', () => {
    expect(loadConfig(base).cache).toEqual({
      redis: { mode: 'none' },
      l1MaxBytes: 64 * 1024 * 1024,
      l1TtlMs: 5000,
      responseMaxBytes: 32 * 1024 * 1024,
      l2TtlSeconds: 300,
      lastGoodTtlSeconds: 86_400,
      commandTimeoutMs: 50,
      progressTtlSeconds: 30 * 86_400,
      progressMaxTitles: 50,
    });
  });

  it('reads a standalone Redis URL, TLS or not', () => {
    expect(loadConfig({ ...base, REDIS_URL: 'redis://localhost:6380' }).cache.redis).toEqual({
      mode: 'standalone',
      url: 'redis://localhost:6380',
    });
    expect(
      loadConfig({ ...base, REDIS_URL: 'rediss://:key@flick.redis.cache.windows.net:6380' }).cache.redis,
    ).toEqual({ mode: 'standalone', url: 'rediss://:key@flick.redis.cache.windows.net:6380' });
  });

  it('reads cluster seed nodes, password and TLS', () => {
    const config = loadConfig({
      ...base,
      REDIS_CLUSTER_NODES: 'flick.redis.cache.windows.net:10000, 10.0.0.5:7001,[::1]:7002',
      REDIS_PASSWORD: 'access-key',
      REDIS_TLS: 'true',
    });
    expect(config.cache.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'flick.redis.cache.windows.net', port: 10000 },
        { host: '10.0.0.5', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      password: 'access-key',
      tls: true,
    });
    expect(loadConfig({ ...base, REDIS_CLUSTER_NODES: 'a:1' }).cache.redis).toEqual({
      mode: 'cluster',
      nodes: [{ host: 'a', port: 1 }],
      tls: false,
    });
  });

  it('refuses standalone and cluster at once, naming both', () => {
    expect(problemsOf({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:7000' })).toEqual([
      'REDIS_URL, REDIS_CLUSTER_NODES: set one of them (standalone or cluster), not both',
    ]);
  });

  it('refuses cluster settings without a cluster', () => {
    expect(problemsOf({ REDIS_URL: 'redis://a:6379', REDIS_PASSWORD: 'x', REDIS_TLS: 'true' })).toEqual([
      'REDIS_PASSWORD: applies to REDIS_CLUSTER_NODES only (a standalone password goes in REDIS_URL)',
      'REDIS_TLS: applies to REDIS_CLUSTER_NODES only (a standalone Redis over TLS is rediss://)',
    ]);
  });

  it('names bad values', () => {
    const names = (env: NodeJS.ProcessEnv) => problemsOf(env).map((problem) => problem.split(':')[0]);
    expect(names({ REDIS_URL: 'http://a:6379' })).toEqual(['REDIS_URL']);
    expect(names({ REDIS_CLUSTER_NODES: 'a:7000,b' })).toEqual(['REDIS_CLUSTER_NODES']);
    expect(names({ REDIS_CLUSTER_NODES: 'a:70000' })).toEqual(['REDIS_CLUSTER_NODES']);
    expect(names({ REDIS_CLUSTER_NODES: ' , ' })).toEqual(['REDIS_CLUSTER_NODES']);
    expect(names({ REDIS_CLUSTER_NODES: 'a:1', REDIS_TLS: 'maybe' })).toEqual(['REDIS_TLS']);
    expect(
      names({
        CACHE_L1_MAX_MB: '0',
        CACHE_L1_TTL_MS: 'soon',
        CACHE_L2_TTL_SECONDS: '-1',
        CACHE_LAST_GOOD_TTL_SECONDS: '1.5',
        REDIS_COMMAND_TIMEOUT_MS: '0',
        PLAYBACK_PROGRESS_TTL_DAYS: '0',
        PLAYBACK_PROGRESS_MAX_TITLES: '0',
      }).sort(),
    ).toEqual(
      [
        'CACHE_L1_MAX_MB',
        'CACHE_L1_TTL_MS',
        'CACHE_L2_TTL_SECONDS',
        'CACHE_LAST_GOOD_TTL_SECONDS',
        'REDIS_COMMAND_TIMEOUT_MS',
        'PLAYBACK_PROGRESS_TTL_DAYS',
        'PLAYBACK_PROGRESS_MAX_TITLES',
      ].sort(),
    );
  });

  it('converts the sizes and durations', () => {
    const { cache } = loadConfig({
      ...base,
      CACHE_L1_MAX_MB: '8',
      PLAYBACK_PROGRESS_TTL_DAYS: '2',
      PLAYBACK_PROGRESS_MAX_TITLES: '10',
    });
    expect(cache.l1MaxBytes).toBe(8 * 1024 * 1024);
    expect(cache.progressTtlSeconds).toBe(2 * 86_400);
    expect(cache.progressMaxTitles).toBe(10);
  });

  it('never prints a Redis URL or password', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9]{6,20}$/), (secret) => {
        const problems = [
          ...problemsOf({ REDIS_URL: `ftp://:${secret}@host:6379` }),
          ...problemsOf({ REDIS_URL: `redis://:${secret}@host:6379`, REDIS_PASSWORD: secret }),
          ...problemsOf({ REDIS_CLUSTER_NODES: 'a:1', REDIS_PASSWORD: secret, PORT: 'x' }),
        ].join('\n');
        expect(problems).toContain('REDIS_URL');
        expect(problems).not.toContain(secret);
      }),
    );
  });
});
