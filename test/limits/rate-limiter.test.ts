import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { RateLimiter, rateLimitKey } from '../../src/modules/cache/rate-limiter.js';
import { createRedisGateway, type RedisGateway } from '../../src/modules/cache/redis-gateway.js';
import { testCacheConfig } from '../../src/modules/cache/testing/cache-config.js';
import type { RedisConfig } from '../../src/modules/config/app-config.js';
import { Counters } from '../../src/modules/telemetry/counters.service.js';
import { startRedis, startRedisCluster, type TestRedis, type TestRedisCluster } from '../support/redis.js';

/** The limiter's Redis script against real servers: a standalone Redis and a 3-node cluster. */
let redis: TestRedis;
let cluster: TestRedisCluster;
const gateways: RedisGateway[] = [];

const limiterOn = async (config: RedisConfig) => {
  const counters = new Counters();
  const gateway = createRedisGateway(testCacheConfig({ redis: config, commandTimeoutMs: 2000 }), counters, {
    startTimeoutMs: 10_000,
  });
  gateways.push(gateway);
  await gateway.onApplicationBootstrap();
  expect(await gateway.ready(10_000)).toBe(true);
  return { limiter: new RateLimiter(gateway, counters), counters };
};

beforeAll(async () => {
  vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
});

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.onApplicationShutdown()));
  await Promise.all([redis?.stop(), cluster?.stop()]);
  vi.restoreAllMocks();
});

describe.each([
  ['a standalone Redis', (): RedisConfig => ({ mode: 'standalone', url: redis.url })],
  ['a Redis Cluster', (): RedisConfig => ({ mode: 'cluster', nodes: cluster.nodes, tls: false })],
])('RateLimiter on %s', (_name, config) => {
  it('lets exactly `limit` of many concurrent requests through, across limiter instances', async () => {
    const replicas = [await limiterOn(config()), await limiterOn(config())];
    const id = `sub:concurrent-${Math.random()}`;
    const verdicts = await Promise.all(
      Array.from({ length: 120 }, (_, i) => replicas[i % 2]!.limiter.hit(id, 45, 60_000)),
    );
    expect(verdicts.filter((verdict) => verdict.allowed)).toHaveLength(45);
    expect(new Set(verdicts.map((verdict) => verdict.count)).size).toBe(120);
    expect(verdicts.every((verdict) => !verdict.failedOpen && verdict.resetInMs > 0)).toBe(true);
  });

  it('keeps a budget per client, across many slots', async () => {
    const { limiter } = await limiterOn(config());
    const ids = Array.from({ length: 40 }, (_, i) => `sub:client-${i}-${Math.random()}`);
    for (const id of ids) await limiter.hit(id, 1, 60_000);
    const second = await Promise.all(ids.map((id) => limiter.hit(id, 1, 60_000)));
    expect(second.map((verdict) => verdict.count)).toEqual(ids.map(() => 2));
    expect(second.every((verdict) => !verdict.allowed)).toBe(true);
  });

  it('opens a whole new window once the current one has ended', async () => {
    const { limiter } = await limiterOn(config());
    const id = `ip:198.51.100.${Math.floor(Math.random() * 250)}-${Math.random()}`;
    const first = await limiter.hit(id, 2, 400);
    expect(first).toMatchObject({ allowed: true, count: 1 });
    expect(first.resetInMs).toBeGreaterThan(0);
    expect(first.resetInMs).toBeLessThanOrEqual(400);
    await limiter.hit(id, 2, 400);
    const third = await limiter.hit(id, 2, 400);
    expect(third).toMatchObject({ allowed: false, count: 3 });
    await new Promise((resolve) => setTimeout(resolve, third.resetInMs + 50));
    expect(await limiter.hit(id, 2, 400)).toMatchObject({ allowed: true, count: 1 });
  });
});

describe('RateLimiter keys', () => {
  it('expire with their window, and a counter left without expiry gets one', async () => {
    const { limiter } = await limiterOn({ mode: 'standalone', url: redis.url });
    const client = redis.client();
    await limiter.hit('sub:ttl', 5, 60_000);
    const ttl = await client.pttl(rateLimitKey('sub:ttl'));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await client.set(rateLimitKey('sub:stuck'), '7');
    expect(await limiter.hit('sub:stuck', 5, 60_000)).toMatchObject({ allowed: false, count: 8 });
    expect(await client.pttl(rateLimitKey('sub:stuck'))).toBeGreaterThan(0);
  });
});
