import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { CacheConfig } from '../config/app-config.js';
import { Counters } from '../telemetry/counters.service.js';
import {
  PlaybackProgressStore,
  ProgressStoreUnavailableError,
  type ProgressEntry,
} from './playback-progress.store.js';
import { RedisGateway } from './redis-gateway.js';
import { testCacheConfig } from './testing/cache-config.js';
import { FakeRedisClient } from './testing/fake-redis-client.js';
import { expectedProgress, progressWrites } from './testing/progress-model.js';

const build = (config: Partial<CacheConfig> = {}) => {
  let now = 0;
  const gateway = new RedisGateway(undefined, new Counters(), { commandTimeoutMs: 50 });
  const sut = new PlaybackProgressStore({ cache: testCacheConfig(config) }, gateway, { now: () => now });
  return { sut, advance: (ms: number) => void (now += ms) };
};

const entry = (titleId: string, updatedAt: string, positionSeconds = 60): ProgressEntry => ({
  titleId,
  positionSeconds,
  durationSeconds: 3600,
  updatedAt,
});

describe(PlaybackProgressStore.name, () => {
  describe('in process memory (no Redis)', () => {
    it('lists a profile’s progress newest first, and nothing for another profile', async () => {
      const { sut } = build();
      await sut.record('p-1', entry('t1', '2026-03-15T10:00:00Z'));
      await sut.record('p-1', entry('t2', '2026-03-15T11:00:00.000+01:00'));
      await sut.record('p-1', entry('t3', '2026-03-15T12:00:00Z'));
      expect(await sut.list('p-1')).toEqual([
        entry('t3', '2026-03-15T12:00:00.000Z'),
        entry('t1', '2026-03-15T10:00:00.000Z'),
        entry('t2', '2026-03-15T10:00:00.000Z'),
      ]);
      expect(await sut.list('p-2')).toEqual([]);
    });

    it('keeps the newer report of a title when an older one arrives late', async () => {
      const { sut } = build();
      await sut.record('p-1', entry('t1', '2026-03-15T10:05:00Z', 300));
      await sut.record('p-1', entry('t1', '2026-03-15T10:00:00Z', 10));
      expect(await sut.list('p-1')).toEqual([entry('t1', '2026-03-15T10:05:00.000Z', 300)]);
      await sut.record('p-1', entry('t1', '2026-03-15T10:06:00Z', 360));
      expect(await sut.list('p-1')).toEqual([entry('t1', '2026-03-15T10:06:00.000Z', 360)]);
    });

    it('drops the least recently watched titles beyond the bound', async () => {
      const { sut } = build({ progressMaxTitles: 3 });
      for (const [index, titleId] of ['t1', 't2', 't3', 't4', 't5'].entries()) {
        await sut.record('p-1', entry(titleId, `2026-03-15T10:0${index}:00Z`));
      }
      expect((await sut.list('p-1')).map((progress) => progress.titleId)).toEqual(['t5', 't4', 't3']);
    });

    it('forgets a profile’s progress a TTL after its last report', async () => {
      const { sut, advance } = build({ progressTtlSeconds: 60 });
      await sut.record('p-1', entry('t1', '2026-03-15T10:00:00Z'));
      advance(59_000);
      await sut.record('p-1', entry('t2', '2026-03-15T10:01:00Z'));
      advance(59_000);
      expect(await sut.list('p-1')).toHaveLength(2);
      advance(1000);
      expect(await sut.list('p-1')).toEqual([]);
      await sut.record('p-1', entry('t3', '2026-03-15T10:03:00Z'));
      expect((await sut.list('p-1')).map((progress) => progress.titleId)).toEqual(['t3']);
    });

    it('refuses a report it could not order', async () => {
      const { sut } = build();
      await expect(sut.record('p-1', entry('t1', 'yesterday'))).rejects.toThrow(RangeError);
      await expect(sut.record('p-1', entry('t1', '+010000-01-01T00:00:00Z'))).rejects.toThrow(RangeError);
      await expect(
        sut.record('p-1', { ...entry('t1', '2026-03-15T10:00:00Z'), positionSeconds: -1 }),
      ).rejects.toThrow(/positionSeconds/);
      await expect(sut.record('', entry('t1', '2026-03-15T10:00:00Z'))).rejects.toThrow(RangeError);
      expect(await sut.list('p-1')).toEqual([]);
    });

    it('hands out copies', async () => {
      const { sut } = build();
      const reported = entry('t1', '2026-03-15T10:00:00.000Z');
      await sut.record('p-1', reported);
      reported.positionSeconds = 999;
      const [listed] = await sut.list('p-1');
      listed!.positionSeconds = 1234;
      expect((await sut.list('p-1'))[0]!.positionSeconds).toBe(60);
    });

    it('keeps the newest N titles for any sequence of reports', async () => {
      await fc.assert(
        fc.asyncProperty(progressWrites(), fc.integer({ min: 1, max: 6 }), async (writes, max) => {
          const { sut } = build({ progressMaxTitles: max });
          for (const write of writes) await sut.record('p-1', write);
          expect(await sut.list('p-1')).toEqual(expectedProgress(writes, max));
        }),
      );
    });
  });

  it('throws ProgressStoreUnavailableError when Redis does not answer', async () => {
    const redis = new FakeRedisClient();
    redis.mode = 'down';
    const gateway = new RedisGateway(redis.asClient(), new Counters(), { commandTimeoutMs: 50 });
    const sut = new PlaybackProgressStore({ cache: testCacheConfig() }, gateway);
    const error = await sut.list('p-1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProgressStoreUnavailableError);
    expect((error as Error).message).toBe('playback progress list: Redis is unavailable');
    await expect(sut.record('p-1', entry('t1', '2026-03-15T10:00:00Z'))).rejects.toBeInstanceOf(
      ProgressStoreUnavailableError,
    );
    expect(redis.commands).toEqual(['HGETALL flick:v1:{progress:p-1}']);
  });
});
