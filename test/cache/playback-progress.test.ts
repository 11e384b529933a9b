import { randomUUID } from 'node:crypto';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { ProgressEntry } from '../../src/modules/cache/playback-progress.store.js';
import { expectedProgress, progressWrites } from '../../src/modules/cache/testing/progress-model.js';
import type { CacheConfig } from '../../src/modules/config/app-config.js';
import {
  captureLogs,
  eventually,
  startReplica,
  topologies,
  type CacheReplica,
  type Topology,
} from './cache-stack.js';

const entry = (titleId: string, updatedAt: string, positionSeconds = 60): ProgressEntry => ({
  titleId,
  positionSeconds,
  durationSeconds: 3600,
  updatedAt,
});

describe.each(topologies)('PlaybackProgressStore on $name Redis', (topology) => {
  let server: Awaited<ReturnType<Topology['start']>>;
  const replicas: CacheReplica[] = [];
  const store = async (config: Partial<CacheConfig> = {}) => {
    const replica = await startReplica(server.redis, config);
    replicas.push(replica);
    return replica.progress;
  };

  beforeAll(async () => {
    captureLogs();
    server = await topology.start();
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.close()));
    await server?.stop();
    vi.restoreAllMocks();
  });

  it('lists what any replica recorded, newest first, from one hash per profile', async () => {
    const [phone, tv] = [await store(), await store()];
    const profile = `p-${randomUUID()}`;
    await phone.record(profile, entry('t1', '2026-03-15T10:00:00Z'));
    await tv.record(profile, entry('t2', '2026-03-15T11:00:00+01:00'));
    await tv.record(profile, entry('t3', '2026-03-15T12:00:00.000Z'));
    await phone.record(profile, entry('t1', '2026-03-15T09:00:00Z', 5));

    expect(await tv.list(profile)).toEqual([
      entry('t3', '2026-03-15T12:00:00.000Z'),
      entry('t1', '2026-03-15T10:00:00.000Z'),
      entry('t2', '2026-03-15T10:00:00.000Z'),
    ]);
    expect(await phone.list(`p-${randomUUID()}`)).toEqual([]);
    expect(await server.client.type(`flick:v1:{progress:${profile}}`)).toBe('hash');
    expect((await server.client.hkeys(`flick:v1:{progress:${profile}}`)).sort()).toEqual(['t1', 't2', 't3']);
  });

  it('keeps the most recently watched titles up to the bound', async () => {
    const progress = await store({ progressMaxTitles: 3 });
    const profile = `p-${randomUUID()}`;
    for (const [index, titleId] of ['t1', 't2', 't3', 't4', 't5'].entries()) {
      await progress.record(profile, entry(titleId, `2026-03-15T10:0${index}:00Z`));
    }
    expect((await progress.list(profile)).map(({ titleId }) => titleId)).toEqual(['t5', 't4', 't3']);
    expect(await server.client.hlen(`flick:v1:{progress:${profile}}`)).toBe(3);
  });

  it('refreshes the TTL on every report, and forgets the profile once it runs out', async () => {
    const progress = await store({ progressTtlSeconds: 1000 });
    const profile = `p-${randomUUID()}`;
    const key = `flick:v1:{progress:${profile}}`;
    await progress.record(profile, entry('t1', '2026-03-15T10:00:00Z'));
    expect(await server.client.ttl(key)).toBeGreaterThan(990);
    await server.client.expire(key, 10);
    await progress.record(profile, entry('t2', '2026-03-15T10:01:00Z'));
    expect(await server.client.ttl(key)).toBeGreaterThan(990);

    const shortLived = await store({ progressTtlSeconds: 1 });
    await shortLived.record(profile, entry('t3', '2026-03-15T10:02:00Z'));
    expect(await shortLived.list(profile)).toHaveLength(3);
    await eventually(
      async () => (await shortLived.list(profile)).length === 0,
      'the progress to expire',
      5000,
    );
  });

  it('keeps the newest N titles for any sequence of reports', async () => {
    const stores = new Map<number, Awaited<ReturnType<typeof store>>>();
    await fc.assert(
      fc.asyncProperty(progressWrites(40), fc.integer({ min: 1, max: 5 }), async (writes, max) => {
        if (!stores.has(max)) stores.set(max, await store({ progressMaxTitles: max }));
        const progress = stores.get(max)!;
        const profile = `p-${randomUUID()}`;
        for (const write of writes) await progress.record(profile, write);
        expect(await progress.list(profile)).toEqual(expectedProgress(writes, max));
        expect(await server.client.hlen(`flick:v1:{progress:${profile}}`)).toBe(
          expectedProgress(writes, max).length,
        );
      }),
      { numRuns: 40 },
    );
  });
});
