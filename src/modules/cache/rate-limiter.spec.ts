import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { Counters } from '../telemetry/counters.service.js';
import { RateLimiter, rateLimitKey } from './rate-limiter.js';
import { RedisGateway } from './redis-gateway.js';
import { FakeRedisClient } from './testing/fake-redis-client.js';

/** `null`: no Redis configured, so the limiter keeps its windows in process memory. */
const build = (redis: FakeRedisClient | null = null) => {
  let now = 1_000_000;
  const counters = new Counters();
  const gateway = new RedisGateway(redis?.asClient(), counters, { commandTimeoutMs: 20, cooldownMs: 1000 });
  const sut = new RateLimiter(gateway, counters, { now: () => now });
  return { sut, counters, advance: (ms: number) => void (now += ms) };
};

describe(RateLimiter.name, () => {
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  describe('without Redis', () => {
    it('allows `limit` requests in a window, refuses the next, and says when the window ends', async () => {
      const { sut, advance } = build();
      for (let i = 1; i <= 3; i++) {
        expect(await sut.hit('sub:a', 3, 60_000)).toEqual({
          allowed: true,
          count: i,
          resetInMs: 60_000 - (i - 1) * 1000,
          failedOpen: false,
        });
        advance(1000);
      }
      expect(await sut.hit('sub:a', 3, 60_000)).toMatchObject({
        allowed: false,
        count: 4,
        resetInMs: 57_000,
      });
    });

    it('starts a whole budget when the window ends', async () => {
      const { sut, advance } = build();
      for (let i = 0; i < 5; i++) await sut.hit('ip:10.0.0.1', 2, 10_000);
      advance(9_999);
      expect((await sut.hit('ip:10.0.0.1', 2, 10_000)).allowed).toBe(false);
      advance(1);
      expect(await sut.hit('ip:10.0.0.1', 2, 10_000)).toMatchObject({
        allowed: true,
        count: 1,
        resetInMs: 10_000,
      });
    });

    it('keeps one budget per client', async () => {
      const { sut } = build();
      for (let i = 0; i < 5; i++) await sut.hit('sub:a', 2, 60_000);
      expect(await sut.hit('sub:b', 2, 60_000)).toMatchObject({ allowed: true, count: 1 });
    });

    it('never lets more than `limit` requests through in any one window', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 5 }),
          fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 400 })), { maxLength: 60 }),
          async (limit, steps) => {
            const { sut, advance } = build();
            const windowMs = 1000;
            // The model: each client's window opens at its first request after the previous one ended.
            const windows = new Map<string, { start: number; allowed: number }>();
            let clock = 0;
            for (const [client, pause] of steps) {
              advance(pause);
              clock += pause;
              const verdict = await sut.hit(client, limit, windowMs);
              let window = windows.get(client);
              if (window === undefined || clock >= window.start + windowMs) {
                window = { start: clock, allowed: 0 };
                windows.set(client, window);
              }
              if (verdict.allowed) window.allowed += 1;
              expect(window.allowed).toBeLessThanOrEqual(limit);
              expect(verdict.resetInMs).toBe(window.start + windowMs - clock);
            }
          },
        ),
      );
    });
  });

  describe('with Redis', () => {
    it('lets requests through uncounted while Redis fails, and counts them (fail open)', async () => {
      const redis = new FakeRedisClient();
      redis.mode = 'down';
      const { sut, counters } = build(redis);
      for (let i = 0; i < 3; i++) {
        expect(await sut.hit('sub:a', 1, 60_000)).toEqual({
          allowed: true,
          count: 0,
          resetInMs: 0,
          failedOpen: true,
        });
      }
      expect(counters.value('rate_limit_fail_open_total')).toBe(3);
      // The first call failed; the gateway skipped Redis for the two others.
      expect(redis.commands).toHaveLength(1);
      expect(redis.commands[0]).toMatch(/^EVALSHA /);
    });

    it('does not wait for a hung Redis longer than the command timeout', async () => {
      const redis = new FakeRedisClient();
      redis.mode = 'hung';
      const { sut } = build(redis);
      const started = performance.now();
      expect(await sut.hit('sub:a', 1, 60_000)).toMatchObject({ allowed: true, failedOpen: true });
      expect(performance.now() - started).toBeLessThan(500);
    });
  });

  it('refuses a budget or window below 1, which would lock everyone out', async () => {
    const { sut } = build();
    await expect(sut.hit('sub:a', 0, 60_000)).rejects.toThrow(RangeError);
    await expect(sut.hit('sub:a', 10, 0)).rejects.toThrow(RangeError);
  });
});

describe(rateLimitKey.name, () => {
  it('is one hash tag, which no client id can close early', () => {
    fc.assert(
      fc.property(fc.string(), (id) => {
        const key = rateLimitKey(id);
        expect(key).toMatch(/^flick:v1:\{rate:[^{}]*\}$/);
        const decoded = key
          .slice('flick:v1:{rate:'.length, -1)
          .replaceAll('%7B', '{')
          .replaceAll('%7D', '}')
          .replaceAll('%25', '%');
        expect(decoded).toBe(id);
      }),
    );
  });
});
