import { setImmediate } from 'node:timers/promises';

import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

import type { CacheConfig } from '../config/app-config.js';
import { Counters } from '../telemetry/counters.service.js';
import { RedisGateway } from './redis-gateway.js';
import { testCacheConfig } from './testing/cache-config.js';
import { FakeRedisClient } from './testing/fake-redis-client.js';
import { TwoLevelCache } from './two-level-cache.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

const deferred = <T>(): Deferred<T> => {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

/** A test clock for L1 expiry and the gateway's cool-down. */
const clock = () => {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
};

interface Setup {
  config?: Partial<CacheConfig>;
  redis?: FakeRedisClient;
  time?: ReturnType<typeof clock>;
  counters?: Counters;
}

const build = ({ config = {}, redis, time = clock(), counters = new Counters() }: Setup = {}) => {
  const gateway = new RedisGateway(redis?.asClient(), counters, {
    commandTimeoutMs: 20,
    cooldownMs: 1000,
    now: time.now,
  });
  const sut = new TwoLevelCache(
    {
      cache: testCacheConfig({
        redis: redis ? { mode: 'standalone', url: 'redis://fake' } : { mode: 'none' },
        ...config,
      }),
    },
    gateway,
    counters,
    { now: time.now },
  );
  return { sut, counters, time, gateway };
};

/** A loader that counts its calls and answers `value`. */
const loader = <T>(value: T) => {
  const load = vi.fn(() => Promise.resolve(value));
  return load;
};

describe(TwoLevelCache.name, () => {
  describe('without Redis', () => {
    it('loads once, then answers from L1 until the L1 TTL passes', async () => {
      const { sut, time, counters } = build({ config: { l1TtlMs: 5000 } });
      const load = loader({ rows: ['t1', 't2'] });

      expect(await sut.getOrLoad('profile:{p-1}:g1', load)).toEqual({
        value: { rows: ['t1', 't2'] },
        level: 'SOURCE',
        cacheUnavailable: false,
      });
      time.advance(4999);
      expect(await sut.getOrLoad('profile:{p-1}:g1', load)).toMatchObject({ level: 'L1' });
      expect(load).toHaveBeenCalledTimes(1);

      time.advance(1);
      expect(await sut.getOrLoad('profile:{p-1}:g1', load)).toMatchObject({ level: 'SOURCE' });
      expect(load).toHaveBeenCalledTimes(2);
      expect(counters.value('cache_requests_total', { level: 'L1' })).toBe(1);
      expect(counters.value('cache_requests_total', { level: 'SOURCE' })).toBe(2);
    });

    it('makes one load for concurrent misses of one key, and one per key', async () => {
      const { sut } = build();
      const pending = deferred<string[]>();
      const load = vi.fn(() => pending.promise);
      const other = loader(['x']);

      const reads = Array.from({ length: 50 }, () => sut.getOrLoad('popular:DE:tv:g1', load));
      const otherRead = sut.getOrLoad('popular:FR:tv:g1', other);
      await setImmediate();
      expect(load).toHaveBeenCalledTimes(1);
      pending.resolve(['t1', 't2']);

      const results = await Promise.all(reads);
      expect(new Set(results.map((result) => result.level))).toEqual(new Set(['SOURCE']));
      expect(results.every((result) => result.value === results[0]!.value)).toBe(true);
      expect(results[0]!.value).toEqual(['t1', 't2']);
      expect((await otherRead).value).toEqual(['x']);
      expect(other).toHaveBeenCalledTimes(1);
    });

    it('hands a failed load to every waiter and caches nothing', async () => {
      const { sut } = build();
      const pending = deferred<string>();
      const failing = vi.fn(() => pending.promise);
      const reads = Array.from({ length: 5 }, () => sut.getOrLoad('k', failing));
      await setImmediate();
      pending.reject(new Error('Cosmos throttled'));
      for (const read of reads) await expect(read).rejects.toThrow('Cosmos throttled');
      expect(failing).toHaveBeenCalledTimes(1);

      const load = loader('recovered');
      expect(await sut.getOrLoad('k', load)).toMatchObject({ value: 'recovered', level: 'SOURCE' });
      expect(await sut.lastGood('k')).toEqual({ value: 'recovered', level: 'L1' });
    });

    it('lets an aborted caller go while the others get the shared load', async () => {
      const { sut } = build();
      const pending = deferred<number>();
      const load = vi.fn(() => pending.promise);
      const controller = new AbortController();
      const impatient = sut.getOrLoad('k', load, { signal: controller.signal });
      const patient = sut.getOrLoad('k', load);
      controller.abort(new Error('request budget spent'));
      await expect(impatient).rejects.toThrow('request budget spent');
      pending.resolve(7);
      expect(await patient).toMatchObject({ value: 7, level: 'SOURCE' });
      expect(load).toHaveBeenCalledTimes(1);
      await expect(sut.getOrLoad('k', load, { signal: AbortSignal.abort() })).rejects.toThrow();
    });

    it('hands out JSON data, frozen, the same at every level', async () => {
      const { sut } = build();
      const first = await sut.getOrLoad('k', () =>
        Promise.resolve({ at: new Date('2026-03-15T10:00:00Z'), nested: { list: [1, 2] }, gone: undefined }),
      );
      expect(first.value).toEqual({ at: '2026-03-15T10:00:00.000Z', nested: { list: [1, 2] } });
      expect(Object.isFrozen(first.value.nested.list)).toBe(true);
      expect(() => first.value.nested.list.push(3)).toThrow(TypeError);
      const second = await sut.getOrLoad('k', loader({}));
      expect(second).toMatchObject({ level: 'L1' });
      expect(second.value).toBe(first.value);
    });

    it('caches null and undefined answers (a profile gold does not know)', async () => {
      const { sut } = build();
      const none = loader(null);
      await sut.getOrLoad('profile:{p-new}:g1', none);
      expect(await sut.getOrLoad('profile:{p-new}:g1', none)).toEqual({
        value: null,
        level: 'L1',
        cacheUnavailable: false,
      });
      const missing = loader(undefined);
      await sut.getOrLoad('u', missing);
      expect(await sut.getOrLoad('u', missing)).toMatchObject({ value: undefined, level: 'L1' });
      expect(none).toHaveBeenCalledTimes(1);
      expect(missing).toHaveBeenCalledTimes(1);
    });

    it('answers a value that is not JSON without caching it, and counts it', async () => {
      const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const { sut, counters } = build();
      const load = loader({ big: 1n });
      expect((await sut.getOrLoad('k', load)).value).toEqual({ big: 1n });
      expect((await sut.getOrLoad('k', load)).level).toBe('SOURCE');
      expect(counters.value('cache_errors_total', { op: 'encode' })).toBe(2);
      expect(logged).toHaveBeenCalledWith(expect.stringContaining('k: value is not JSON-serializable'));
      logged.mockRestore();
    });

    it('keeps L1 within its byte budget, evicting the least recently used', async () => {
      // Each value is ~1000 bytes of JSON, held twice (fresh and last-good): ~2000 per key.
      const { sut } = build({ config: { l1MaxBytes: 10_000 } });
      const value = 'x'.repeat(990);
      for (let index = 0; index < 20; index += 1) await sut.getOrLoad(`k${index}`, loader(value));
      const load = loader(value);
      const hits: number[] = [];
      for (let index = 19; index >= 0; index -= 1) {
        if ((await sut.getOrLoad(`k${index}`, load)).level === 'L1') hits.push(index);
      }
      expect(hits.length).toBeGreaterThanOrEqual(1);
      expect(hits.length).toBeLessThanOrEqual(5);
      expect(hits).toContain(19);
      expect(hits).not.toContain(0);
    });

    it('serves a value larger than the whole budget without caching it', async () => {
      const { sut } = build({ config: { l1MaxBytes: 1000 } });
      await sut.getOrLoad('small', loader('s'));
      const load = loader('z'.repeat(5000));
      expect((await sut.getOrLoad('big', load)).value).toHaveLength(5000);
      expect((await sut.getOrLoad('big', load)).level).toBe('SOURCE');
      expect((await sut.getOrLoad('small', loader('unused'))).level).toBe('L1');
    });

    it('never holds more keys than the byte budget allows, whatever the sizes', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat(3000), { minLength: 1, maxLength: 40 }), async (lengths) => {
          const budget = 8000;
          const { sut } = build({ config: { l1MaxBytes: budget } });
          for (const [index, length] of lengths.entries())
            await sut.getOrLoad(`k${index}`, loader('y'.repeat(length)));
          // `{"v":"…"}` is the value plus 8 characters; key and prefix only add to an entry's size.
          let held = 0;
          for (const [index, length] of lengths.entries()) {
            if ((await sut.lastGood(`k${index}`)) !== undefined) held += length + 8;
          }
          expect(held).toBeLessThanOrEqual(budget);
          // The newest value is kept whenever it fits at all.
          if (lengths.at(-1)! + 20 <= budget)
            expect(await sut.lastGood(`k${lengths.length - 1}`)).toBeDefined();
        }),
        { numRuns: 50 },
      );
    });

    it('serves the last good copy after the fresh one expired, until its own TTL', async () => {
      const { sut, time } = build({ config: { l1TtlMs: 5000, lastGoodTtlSeconds: 60 } });
      await sut.getOrLoad('profile:{p-1}:g1', loader({ name: 'v1' }), { lastGoodKey: 'profile:{p-1}' });
      time.advance(30_000);
      await expect(
        sut.getOrLoad('profile:{p-1}:g1', () => Promise.reject(new Error('down'))),
      ).rejects.toThrow();
      expect(await sut.lastGood('profile:{p-1}')).toEqual({ value: { name: 'v1' }, level: 'L1' });
      expect(await sut.lastGood('profile:{p-1}:g1')).toBeUndefined();
      time.advance(30_000);
      expect(await sut.lastGood('profile:{p-1}')).toBeUndefined();
    });
  });

  describe('last good copies and absent values', () => {
    it('never lets an absent value (null) replace a good copy, in L1 or in Redis', async () => {
      const redis = new FakeRedisClient();
      const { sut, time } = build({ redis, config: { l1TtlMs: 5000, lastGoodTtlSeconds: 600 } });
      await sut.getOrLoad('profile:{p-1}:g1', loader({ name: 'v1' }), { lastGoodKey: 'profile:{p-1}' });
      await setImmediate();
      // The store comes back empty (a new snapshot without the profile, or a store being refilled).
      time.advance(10_000);
      redis.data.delete('flick:v1:profile:{p-1}:g1');
      const empty = await sut.getOrLoad('profile:{p-1}:g1', loader(null), { lastGoodKey: 'profile:{p-1}' });
      expect(empty.value).toBeNull();
      await setImmediate();
      expect(await sut.lastGood('profile:{p-1}')).toEqual({ value: { name: 'v1' }, level: 'L1' });
      const other = build({ redis, time }).sut;
      expect(await other.lastGood('profile:{p-1}')).toEqual({ value: { name: 'v1' }, level: 'L2' });
    });
  });

  describe('with Redis', () => {
    it('reads L2 before the source, and fills L1 from it', async () => {
      const redis = new FakeRedisClient();
      const time = clock();
      const writer = build({ redis, time }).sut;
      const reader = build({ redis, time });
      await writer.getOrLoad('profile:{p-1}:g1', loader({ n: 1 }), { lastGoodKey: 'profile:{p-1}' });
      await setImmediate();
      expect([...redis.data.keys()].sort()).toEqual([
        'flick:v1:last-good:profile:{p-1}',
        'flick:v1:profile:{p-1}:g1',
      ]);

      const load = loader({ n: 2 });
      expect(await reader.sut.getOrLoad('profile:{p-1}:g1', load)).toEqual({
        value: { n: 1 },
        level: 'L2',
        cacheUnavailable: false,
      });
      expect(await reader.sut.getOrLoad('profile:{p-1}:g1', load)).toMatchObject({ level: 'L1' });
      expect(load).not.toHaveBeenCalled();
      expect(reader.counters.value('cache_requests_total', { level: 'L2' })).toBe(1);
    });

    it('shares one L2 read among concurrent misses', async () => {
      const redis = new FakeRedisClient();
      const { sut } = build({ redis });
      const load = loader('v');
      await Promise.all(Array.from({ length: 20 }, () => sut.getOrLoad('k', load)));
      expect(redis.commands.filter((command) => command.startsWith('GET'))).toEqual(['GET flick:v1:k']);
      expect(load).toHaveBeenCalledTimes(1);
    });

    it('serves from the source when Redis fails, says so, and leaves Redis alone for the cool-down', async () => {
      const redis = new FakeRedisClient();
      const { sut, time, counters } = build({ redis });
      redis.mode = 'down';
      expect(await sut.getOrLoad('a', loader(1))).toEqual({
        value: 1,
        level: 'SOURCE',
        cacheUnavailable: true,
      });
      expect(await sut.getOrLoad('b', loader(2))).toEqual({
        value: 2,
        level: 'SOURCE',
        cacheUnavailable: true,
      });
      expect(redis.commands).toEqual(['GET flick:v1:a']);
      expect(counters.value('cache_errors_total', { op: 'get' })).toBe(1);
      expect(counters.value('cache_redis_skipped_total', { op: 'get' })).toBe(1);

      redis.mode = 'up';
      time.advance(1000);
      expect(await sut.getOrLoad('c', loader(3))).toEqual({
        value: 3,
        level: 'SOURCE',
        cacheUnavailable: false,
      });
      await setImmediate();
      expect(redis.data.has('flick:v1:c')).toBe(true);
    });

    it('treats a hung Redis as a miss after the command timeout', async () => {
      const redis = new FakeRedisClient();
      const { sut } = build({ redis });
      redis.mode = 'hung';
      const started = performance.now();
      expect(await sut.getOrLoad('a', loader(1))).toMatchObject({ level: 'SOURCE', cacheUnavailable: true });
      expect(performance.now() - started).toBeLessThan(500);
    });

    it('answers before Redis has taken the writes', async () => {
      const redis = new FakeRedisClient();
      const { sut, counters } = build({ redis });
      const originalSet = redis.set.bind(redis);
      redis.set = () => new Promise<'OK'>(() => undefined);
      expect(await sut.getOrLoad('a', loader(1))).toMatchObject({ level: 'SOURCE', cacheUnavailable: false });
      redis.set = originalSet;
      await vi.waitFor(() => expect(counters.value('cache_errors_total', { op: 'set' })).toBe(1));
    });

    it('treats an unreadable L2 value as a miss', async () => {
      const redis = new FakeRedisClient();
      const { sut, counters } = build({ redis });
      redis.data.set('flick:v1:k', 'not json');
      expect(await sut.getOrLoad('k', loader('v'))).toMatchObject({ value: 'v', level: 'SOURCE' });
      expect(counters.value('cache_errors_total', { op: 'decode' })).toBe(1);
    });

    it('reads the last good copy from Redis when L1 has none, and not when Redis is down', async () => {
      const redis = new FakeRedisClient();
      await build({ redis }).sut.getOrLoad('k:g1', loader(['a']), { lastGoodKey: 'k' });
      await setImmediate();
      const other = build({ redis });
      expect(await other.sut.lastGood('k')).toEqual({ value: ['a'], level: 'L2' });
      expect(await other.sut.lastGood('k')).toEqual({ value: ['a'], level: 'L1' });
      expect(await other.sut.lastGood('nothing')).toBeUndefined();

      redis.mode = 'down';
      expect(await build({ redis }).sut.lastGood('k')).toBeUndefined();
    });
  });
});
