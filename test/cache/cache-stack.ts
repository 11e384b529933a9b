import { Logger } from '@nestjs/common';
import { Cluster, type Redis } from 'ioredis';
import { vi } from 'vitest';

import type { CacheConfig, RedisConfig } from '../../src/modules/config/app-config.js';
import { PlaybackProgressStore } from '../../src/modules/cache/playback-progress.store.js';
import { createRedisGateway, type RedisGateway } from '../../src/modules/cache/redis-gateway.js';
import { testCacheConfig } from '../../src/modules/cache/testing/cache-config.js';
import { TwoLevelCache } from '../../src/modules/cache/two-level-cache.js';
import { Counters } from '../../src/modules/telemetry/counters.service.js';
import { startRedis, startRedisCluster } from '../support/redis.js';

/** One replica's cache: its own connection to Redis, counters, L1 and progress store. */
export interface CacheReplica {
  cache: TwoLevelCache;
  progress: PlaybackProgressStore;
  gateway: RedisGateway;
  counters: Counters;
  close(): Promise<void>;
}

/** Builds a replica as CacheModule does and waits (bounded) for its first connection. */
export const startReplica = async (
  redis: RedisConfig,
  config: Partial<CacheConfig> = {},
): Promise<CacheReplica> => {
  const cacheConfig = testCacheConfig({ redis, ...config });
  const counters = new Counters();
  const gateway = createRedisGateway(cacheConfig, counters, { startTimeoutMs: 5000 });
  await gateway.onApplicationBootstrap();
  return {
    cache: new TwoLevelCache({ cache: cacheConfig }, gateway, counters),
    progress: new PlaybackProgressStore({ cache: cacheConfig }, gateway),
    gateway,
    counters,
    close: () => gateway.onApplicationShutdown(),
  };
};

/** Keeps Nest's logger quiet and lets a test read what was logged. */
export const captureLogs = () => ({
  log: vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined),
  warn: vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined),
  error: vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined),
});

/** Polls `check` until it holds or the deadline passes. */
export const eventually = async (check: () => Promise<boolean>, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

/** The duration of `call` in milliseconds, with its result. */
export const timed = async <T>(call: () => Promise<T>): Promise<{ result: T; ms: number }> => {
  const started = performance.now();
  const result = await call();
  return { result, ms: performance.now() - started };
};

/** The Redis topologies the cache is tested on: standalone and a 3-node cluster. */
export interface Topology {
  name: string;
  start(): Promise<{ redis: RedisConfig; client: Redis | Cluster; stop(): Promise<void> }>;
}

export const topologies: Topology[] = [
  {
    name: 'standalone',
    start: async () => {
      const server = await startRedis();
      return {
        redis: { mode: 'standalone', url: server.url },
        client: server.client(),
        stop: () => server.stop(),
      };
    },
  },
  {
    name: '3-node cluster',
    start: async () => {
      const cluster = await startRedisCluster();
      const client = new Cluster(cluster.nodes);
      return {
        redis: { mode: 'cluster', nodes: cluster.nodes, tls: false },
        client,
        stop: async () => {
          client.disconnect();
          await cluster.stop();
        },
      };
    },
  },
];
