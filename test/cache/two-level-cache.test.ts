import { randomUUID } from 'node:crypto';

import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  captureLogs,
  eventually,
  startReplica,
  topologies,
  type CacheReplica,
  type Topology,
} from './cache-stack.js';

/**
 * The two-level cache against real Redis, standalone and a 3-node cluster: two replicas sharing
 * one Redis, each with its own L1.
 */

describe.each(topologies)('TwoLevelCache on $name Redis', (topology) => {
  let server: Awaited<ReturnType<Topology['start']>>;
  const replicas: CacheReplica[] = [];
  const replica = async (config: Parameters<typeof startReplica>[1] = {}) => {
    const started = await startReplica(server.redis, config);
    replicas.push(started);
    return started;
  };

  beforeAll(async () => {
    captureLogs();
    server = await topology.start();
  });
  afterAll(async () => {
    await Promise.all(replicas.map((started) => started.close()));
    await server?.stop();
    vi.restoreAllMocks();
  });

  it('serves L1, then L2 on another replica, and loads the source once', async () => {
    const [first, second] = [await replica(), await replica()];
    const key = `profile:{p-${randomUUID()}}:g8a12`;
    const load = vi.fn(() => Promise.resolve({ rows: [{ titleId: 't1', score: 0.9 }] }));

    expect(await first.cache.getOrLoad(key, load)).toEqual({
      value: { rows: [{ titleId: 't1', score: 0.9 }] },
      level: 'SOURCE',
      cacheUnavailable: false,
    });
    expect((await first.cache.getOrLoad(key, load)).level).toBe('L1');
    await eventually(async () => (await server.client.exists(`flick:v1:${key}`)) === 1, 'the L2 write');

    expect(await second.cache.getOrLoad(key, load)).toEqual({
      value: { rows: [{ titleId: 't1', score: 0.9 }] },
      level: 'L2',
      cacheUnavailable: false,
    });
    expect((await second.cache.getOrLoad(key, load)).level).toBe('L1');
    expect(load).toHaveBeenCalledTimes(1);
    expect(first.counters.value('cache_requests_total', { level: 'SOURCE' })).toBe(1);
    expect(second.counters.value('cache_requests_total', { level: 'L2' })).toBe(1);
  });

  it('writes both copies with their TTLs, under the caller’s hash tag', async () => {
    const { cache } = await replica({ l2TtlSeconds: 300, lastGoodTtlSeconds: 86_400 });
    const profile = `p-${randomUUID()}`;
    await cache.getOrLoad(`profile:{${profile}}:g1`, () => Promise.resolve('v'), {
      lastGoodKey: `profile:{${profile}}`,
    });
    const fresh = `flick:v1:profile:{${profile}}:g1`;
    const good = `flick:v1:last-good:profile:{${profile}}`;
    await eventually(async () => (await server.client.exists(fresh, good)) === 2, 'both copies');
    expect(await server.client.ttl(fresh)).toBeGreaterThan(290);
    expect(await server.client.ttl(fresh)).toBeLessThanOrEqual(300);
    expect(await server.client.ttl(good)).toBeGreaterThan(86_000);
    if (server.client instanceof Cluster) {
      const node = server.client.nodes('master')[0]!;
      expect(await node.cluster('KEYSLOT', fresh)).toBe(await node.cluster('KEYSLOT', good));
    }
  });

  it('serves the last good copy after the fresh one expired and the source fails', async () => {
    const writer = await replica({ l2TtlSeconds: 1, lastGoodTtlSeconds: 3600 });
    const key = `popular:{DE}:tv:${randomUUID()}`;
    await writer.cache.getOrLoad(`${key}:g1`, () => Promise.resolve(['t1', 't2']), { lastGoodKey: key });
    await eventually(
      async () => (await server.client.exists(`flick:v1:last-good:${key}`)) === 1,
      'the last-good copy',
    );
    await eventually(
      async () => (await server.client.exists(`flick:v1:${key}:g1`)) === 0,
      'the fresh copy to expire',
    );

    const reader = await replica();
    await expect(
      reader.cache.getOrLoad(`${key}:g1`, () => Promise.reject(new Error('Cosmos unreachable'))),
    ).rejects.toThrow('Cosmos unreachable');
    expect(await reader.cache.lastGood(key)).toEqual({ value: ['t1', 't2'], level: 'L2' });
    expect(await reader.cache.lastGood(key)).toEqual({ value: ['t1', 't2'], level: 'L1' });
    expect(await reader.cache.lastGood(`popular:{DE}:tv:${randomUUID()}`)).toBeUndefined();
  });

  it('shares one L2 read and one load among concurrent misses', async () => {
    const { cache, counters } = await replica();
    const key = `k:${randomUUID()}`;
    let resolve!: (value: string) => void;
    const load = vi.fn(() => new Promise<string>((res) => (resolve = res)));
    const reads = Array.from({ length: 25 }, () => cache.getOrLoad(key, load));
    await eventually(() => Promise.resolve(load.mock.calls.length === 1), 'the load');
    resolve('v');
    expect((await Promise.all(reads)).map((read) => read.level)).toEqual(Array(25).fill('SOURCE'));
    expect(load).toHaveBeenCalledTimes(1);
    expect(counters.value('cache_errors_total', { op: 'get' })).toBe(0);
  });
});
