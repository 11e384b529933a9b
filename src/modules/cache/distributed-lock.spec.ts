import 'reflect-metadata';

import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { Counters } from '../telemetry/counters.service.js';
import { RedisUnavailableError } from './cache.errors.js';
import {
  DISTRIBUTED_LOCK_OPTIONS,
  DistributedLock,
  fenceKey,
  lockKey,
  type LockLease,
} from './distributed-lock.js';
import { RedisGateway } from './redis-gateway.js';
import { FakeRedisClient } from './testing/fake-redis-client.js';

/** `null`: no Redis configured, so the lock is kept in process memory. */
const build = (redis: FakeRedisClient | null = null) => {
  let now = 1_000_000;
  const gateway = new RedisGateway(redis?.asClient(), new Counters(), {
    commandTimeoutMs: 20,
    cooldownMs: 1000,
  });
  const sut = new DistributedLock(gateway, { now: () => now });
  return { sut, advance: (ms: number) => void (now += ms) };
};

/** The lease, failing the test when the lock was not free. */
const acquired = async (sut: DistributedLock, name: string, ttlMs: number): Promise<LockLease> => {
  const lease = await sut.acquire(name, ttlMs);
  if (lease === null) throw new Error(`lock ${name} was not free`);
  return lease;
};

describe(DistributedLock.name, () => {
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  describe('without Redis', () => {
    it('is not shared', () => {
      expect(build().sut.shared).toBe(false);
    });

    it('gives the lock to one owner at a time, per name', async () => {
      const { sut } = build();
      const lease = await acquired(sut, 'nightly-export', 60_000);
      expect(lease).toMatchObject({ name: 'nightly-export', fence: 1 });
      expect(await sut.acquire('nightly-export', 60_000)).toBeNull();
      expect(await lease.isHeld()).toBe(true);
      expect(await sut.acquire('other-job', 60_000)).toMatchObject({ name: 'other-job', fence: 1 });
    });

    it('gives the lock to exactly one of many concurrent acquirers', async () => {
      const { sut } = build();
      const leases = await Promise.all(Array.from({ length: 10 }, () => sut.acquire('job', 60_000)));
      expect(leases.filter((lease) => lease !== null)).toHaveLength(1);
    });

    it('frees the lock on release and draws a higher fence for the next owner', async () => {
      const { sut } = build();
      const first = await acquired(sut, 'job', 60_000);
      await first.release();
      expect(await first.isHeld()).toBe(false);
      const second = await acquired(sut, 'job', 60_000);
      expect(second.fence).toBe(first.fence + 1);
      // A second release of the old lease leaves the new owner alone.
      await first.release();
      expect(await second.isHeld()).toBe(true);
      expect(await sut.acquire('job', 60_000)).toBeNull();
    });

    it('expires after the ttl; the lapsed lease can neither extend nor release the next owner', async () => {
      const { sut, advance } = build();
      const first = await acquired(sut, 'job', 1000);
      advance(999);
      expect(await first.isHeld()).toBe(true);
      expect(await sut.acquire('job', 1000)).toBeNull();
      advance(1);
      expect(await first.isHeld()).toBe(false);
      expect(await first.extend(1000)).toBe(false);

      const second = await acquired(sut, 'job', 1000);
      expect(second.fence).toBeGreaterThan(first.fence);
      await first.release();
      expect(await second.isHeld()).toBe(true);
      expect(await first.extend(1000)).toBe(false);
      expect(await sut.acquire('job', 1000)).toBeNull();
    });

    it('extends the expiry to ttl from now while held', async () => {
      const { sut, advance } = build();
      const lease = await acquired(sut, 'job', 1000);
      advance(900);
      expect(await lease.extend(5000)).toBe(true);
      advance(4999);
      expect(await lease.isHeld()).toBe(true);
      advance(1);
      expect(await lease.isHeld()).toBe(false);
      expect(await lease.extend(5000)).toBe(false);
    });

    it('keeps fences strictly increasing and owners exclusive over any run of operations', async () => {
      type Step =
        | { kind: 'acquire'; ttl: number }
        | { kind: 'release' | 'held'; lease: number }
        | { kind: 'extend'; lease: number; ttl: number }
        | { kind: 'advance'; ms: number };
      const step: fc.Arbitrary<Step> = fc.oneof(
        fc.record({ kind: fc.constant('acquire' as const), ttl: fc.integer({ min: 1, max: 500 }) }),
        fc.record({ kind: fc.constantFrom('release' as const, 'held' as const), lease: fc.nat(20) }),
        fc.record({
          kind: fc.constant('extend' as const),
          lease: fc.nat(20),
          ttl: fc.integer({ min: 1, max: 500 }),
        }),
        fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(400) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
          const { sut, advance } = build();
          const leases: LockLease[] = [];
          // The model: the current holder (index into leases) and when its lock expires.
          let clock = 0;
          let holder: { index: number; expiresAt: number } | undefined;
          const holds = (index: number) => holder?.index === index && holder.expiresAt > clock;
          for (const current of steps) {
            switch (current.kind) {
              case 'acquire': {
                const lease = await sut.acquire('job', current.ttl);
                const free = holder === undefined || holder.expiresAt <= clock;
                expect(lease !== null).toBe(free);
                if (lease !== null) {
                  expect(lease.fence).toBe(leases.length + 1);
                  holder = { index: leases.length, expiresAt: clock + current.ttl };
                  leases.push(lease);
                }
                break;
              }
              case 'held':
              case 'release':
              case 'extend': {
                const lease = leases[current.lease];
                if (lease === undefined) break;
                const held = holds(current.lease);
                if (current.kind === 'held') expect(await lease.isHeld()).toBe(held);
                if (current.kind === 'release') {
                  await lease.release();
                  if (held) holder = undefined;
                }
                if (current.kind === 'extend') {
                  expect(await lease.extend(current.ttl)).toBe(held);
                  if (held) holder = { index: current.lease, expiresAt: clock + current.ttl };
                }
                break;
              }
              case 'advance':
                advance(current.ms);
                clock += current.ms;
                break;
            }
          }
        }),
      );
    });

    it('refuses an empty name and a ttl that is not a whole number of ms', async () => {
      const { sut } = build();
      await expect(sut.acquire('', 1000)).rejects.toThrow(RangeError);
      for (const ttl of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(sut.acquire('job', ttl)).rejects.toThrow(RangeError);
      }
      const lease = await acquired(sut, 'job', 1000);
      await expect(lease.extend(0)).rejects.toThrow(RangeError);
      expect(await lease.isHeld()).toBe(true);
    });
  });

  describe('with Redis', () => {
    it('is shared', () => {
      expect(build(new FakeRedisClient()).sut.shared).toBe(true);
    });

    it.each(['down', 'hung'] as const)('throws RedisUnavailableError when Redis is %s', async (mode) => {
      const redis = new FakeRedisClient();
      redis.mode = mode;
      const { sut } = build(redis);
      await expect(sut.acquire('job', 1000)).rejects.toBeInstanceOf(RedisUnavailableError);
      // Nothing falls back to memory: during the cool-down the lock is still not given out.
      await expect(sut.acquire('job', 1000)).rejects.toBeInstanceOf(RedisUnavailableError);
    });

    it('validates before calling Redis', async () => {
      const redis = new FakeRedisClient();
      const { sut } = build(redis);
      await expect(sut.acquire('job', 0)).rejects.toThrow(RangeError);
      expect(redis.commands).toEqual([]);
    });
  });

  describe('keys', () => {
    it('keeps the lock and its fence under one hash tag', () => {
      expect(lockKey('nightly-export')).toBe('flick:v1:{lock:nightly-export}');
      expect(fenceKey('nightly-export')).toBe('flick:v1:{lock:nightly-export}:fence');
    });

    it('percent-encodes braces so that a name cannot move the hash tag', () => {
      expect(lockKey('a}b{c%7D')).toBe('flick:v1:{lock:a%7Db%7Bc%257D}');
      fc.assert(
        fc.property(fc.string(), (name) => {
          const tag = /\{([^}]*)\}/.exec(lockKey(name))?.[1];
          expect(tag).toBe(lockKey(name).slice('flick:v1:{'.length, -1));
          expect(fenceKey(name)).toBe(`${lockKey(name)}:fence`);
        }),
      );
      expect(lockKey('a}')).not.toBe(lockKey('a%7D'));
    });
  });

  describe('in Nest', () => {
    it('is injected with the gateway and takes its options from DISTRIBUTED_LOCK_OPTIONS', async () => {
      let now = 0;
      const gateway = new RedisGateway(undefined, new Counters(), { commandTimeoutMs: 20 });
      const moduleRef = await Test.createTestingModule({
        providers: [
          { provide: RedisGateway, useValue: gateway },
          { provide: DISTRIBUTED_LOCK_OPTIONS, useValue: { now: () => now } },
          DistributedLock,
        ],
      }).compile();
      const sut = moduleRef.get(DistributedLock);
      const lease = await acquired(sut, 'job', 10);
      now = 10;
      expect(await lease.isHeld()).toBe(false);
    });

    it('works without DISTRIBUTED_LOCK_OPTIONS', async () => {
      const gateway = new RedisGateway(undefined, new Counters(), { commandTimeoutMs: 20 });
      const moduleRef = await Test.createTestingModule({
        providers: [{ provide: RedisGateway, useValue: gateway }, DistributedLock],
      }).compile();
      const sut = moduleRef.get(DistributedLock);
      expect(sut.shared).toBe(false);
      expect(await sut.acquire('job', 60_000)).toMatchObject({ fence: 1 });
    });
  });
});
