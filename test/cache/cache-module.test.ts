import 'reflect-metadata';

import { randomUUID } from 'node:crypto';

import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { CacheModule } from '../../src/modules/cache/cache.module.js';
import { PlaybackProgressStore } from '../../src/modules/cache/playback-progress.store.js';
import { TwoLevelCache } from '../../src/modules/cache/two-level-cache.js';
import { loadConfig } from '../../src/modules/config/app-config.js';
import { ConfigModule } from '../../src/modules/config/config.module.js';
import { Counters } from '../../src/modules/telemetry/counters.service.js';
import { startRedis } from '../support/redis.js';
import { captureLogs, eventually } from './cache-stack.js';

/** CacheModule as the application boots it: from the environment, through Nest's lifecycle. */
const env = {
  COSMOS_ENDPOINT: 'https://localhost:1/',
  COSMOS_KEY: 'unused',
  AUTH_ISSUER: 'https://idp.test/v2.0',
  AUTH_AUDIENCE: 'api://flick-api',
  AUTH_JWKS_URL: 'https://idp.test/keys',
};

const boot = async (extra: Record<string, string> = {}) => {
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(loadConfig({ ...env, ...extra })), CacheModule],
  }).compile();
  return moduleRef.init();
};

const entry = (titleId: string) => ({
  titleId,
  positionSeconds: 60,
  durationSeconds: 3600,
  updatedAt: '2026-03-15T10:00:00.000Z',
});

describe(CacheModule.name, () => {
  afterEach(() => vi.restoreAllMocks());

  it('runs without Redis from L1 and process memory, and says so in one line', async () => {
    const logs = captureLogs();
    const app = await boot();
    try {
      const lines = logs.log.mock.calls.map(([line]) => String(line)).filter((line) => /Redis/.test(line));
      expect(lines).toEqual([
        'No Redis configured (REDIS_URL and REDIS_CLUSTER_NODES unset): caching in process only (L1), playback progress kept in process memory (per replica, lost on restart)',
      ]);
      const cache = app.get(TwoLevelCache);
      const load = vi.fn(() => Promise.resolve(['t1']));
      expect(await cache.getOrLoad('popular:DE:tv:g1', load)).toEqual({
        value: ['t1'],
        level: 'SOURCE',
        cacheUnavailable: false,
      });
      expect((await cache.getOrLoad('popular:DE:tv:g1', load)).level).toBe('L1');
      expect(await cache.lastGood('popular:DE:tv:g1')).toEqual({ value: ['t1'], level: 'L1' });
      expect(app.get(Counters).value('cache_requests_total', { level: 'L1' })).toBe(1);

      const progress = app.get(PlaybackProgressStore);
      await progress.record('p-1', entry('t1'));
      expect(await progress.list('p-1')).toEqual([entry('t1')]);
    } finally {
      await app.close();
    }
  });

  it('uses the Redis of REDIS_URL and closes its connection at shutdown', async () => {
    const logs = captureLogs();
    const redis = await startRedis();
    try {
      const app = await boot({ REDIS_URL: redis.url });
      expect(logs.log).toHaveBeenCalledWith(
        `standalone Redis redis://127.0.0.1:${redis.port} ready: L1 in process, L2 in Redis`,
      );
      const key = `k:${randomUUID()}`;
      await app.get(TwoLevelCache).getOrLoad(key, () => Promise.resolve('v'));
      await app.get(PlaybackProgressStore).record('p-1', entry('t1'));
      const admin = redis.client();
      await eventually(
        async () => (await admin.exists(`flick:v1:${key}`, 'flick:v1:{progress:p-1}')) === 2,
        'writes',
      );
      const serviceConnections = async () =>
        String(await admin.client('LIST'))
          .split('\n')
          .filter((line) => line.includes('name=flick-api')).length;
      expect(await serviceConnections()).toBe(1);

      await app.close();
      await eventually(async () => (await serviceConnections()) === 0, 'the connection to close');
    } finally {
      await redis.stop();
    }
  });
});
