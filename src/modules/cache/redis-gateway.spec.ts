import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';

import { Counters } from '../telemetry/counters.service.js';
import { RedisUnavailableError } from './cache.errors.js';
import { RedisGateway } from './redis-gateway.js';
import { FakeRedisClient } from './testing/fake-redis-client.js';

/** `null`: no Redis configured. */
const build = (redis: FakeRedisClient | null = new FakeRedisClient()) => {
  let now = 0;
  const counters = new Counters();
  const sut = new RedisGateway(redis?.asClient() ?? undefined, counters, {
    commandTimeoutMs: 20,
    cooldownMs: 1000,
    description: 'standalone Redis redis://cache:6379',
    startTimeoutMs: 50,
    now: () => now,
  });
  return { sut, counters, redis, advance: (ms: number) => void (now += ms) };
};

const failureOf = async (promise: Promise<unknown>): Promise<RedisUnavailableError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RedisUnavailableError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
};

describe(RedisGateway.name, () => {
  let log: MockInstance;
  let warn: MockInstance;
  beforeEach(() => {
    log = vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it('passes a call through and returns its answer', async () => {
    const { sut, redis } = build();
    redis!.data.set('k', 'v');
    expect(await sut.run('get', (client) => client.get('k'))).toBe('v');
  });

  it('gives up on a call after the command timeout', async () => {
    const { sut, redis, counters } = build();
    redis!.mode = 'hung';
    const started = performance.now();
    const failure = await failureOf(sut.run('get', (client) => client.get('k')));
    expect(performance.now() - started).toBeLessThan(200);
    expect(failure.kind).toBe('TIMEOUT');
    expect(counters.value('cache_errors_total', { op: 'get' })).toBe(1);
  });

  it('skips Redis for the cool-down after a failure, then tries again', async () => {
    const { sut, redis, counters, advance } = build();
    redis!.mode = 'down';
    expect((await failureOf(sut.run('get', (client) => client.get('k')))).kind).toBe('ERROR');
    redis!.mode = 'up';
    advance(999);
    expect((await failureOf(sut.run('set', (client) => client.set('k', 'v', 'EX', 1)))).kind).toBe('SKIPPED');
    expect(redis!.commands).toEqual(['GET k']);
    expect(counters.value('cache_redis_skipped_total', { op: 'set' })).toBe(1);
    advance(1);
    expect(await sut.run('set', (client) => client.set('k', 'v', 'EX', 1))).toBe('OK');
  });

  it('ends the cool-down as soon as the connection is ready again', async () => {
    const { sut, redis } = build();
    redis!.mode = 'down';
    await failureOf(sut.run('get', (client) => client.get('k')));
    redis!.mode = 'up';
    redis!.emit('ready');
    expect(await sut.run('get', (client) => client.get('k'))).toBeNull();
  });

  it('logs where Redis stands at start, then each outage once and each recovery once', async () => {
    const { sut, redis } = build();
    await sut.onApplicationBootstrap();
    expect(log).toHaveBeenCalledWith('standalone Redis redis://cache:6379 ready: L1 in process, L2 in Redis');

    redis!.mode = 'down';
    redis!.emit('error', new Error('connect ECONNREFUSED'));
    redis!.emit('error', new Error('connect ECONNREFUSED'));
    await failureOf(sut.run('get', (client) => client.get('k')));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/^Redis unavailable \(connection error: connect ECONNREFUSED\)/),
    );

    redis!.mode = 'up';
    redis!.emit('ready');
    redis!.emit('ready');
    expect(log).toHaveBeenLastCalledWith('Redis answers again: L2 back in use');
    expect(log).toHaveBeenCalledTimes(2);
  });

  it('says at start when Redis is not reachable yet, and does not wait long for it', async () => {
    const redis = new FakeRedisClient();
    redis.status = 'connecting';
    const { sut } = build(redis);
    const started = performance.now();
    await sut.onApplicationBootstrap();
    expect(performance.now() - started).toBeLessThan(500);
    expect(warn).toHaveBeenCalledWith(
      'standalone Redis redis://cache:6379 not reachable yet: serving from L1 and the source, playback progress unavailable, until it answers',
    );
    redis.status = 'ready';
    redis.emit('ready');
    expect(log).toHaveBeenLastCalledWith('Redis answers again: L2 back in use');
  });

  it('says in one line at start that it runs without Redis', async () => {
    const { sut } = build(null);
    expect(sut.enabled).toBe(false);
    await sut.onApplicationBootstrap();
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0]![0]).toMatch(
      /^No Redis configured .*in process only \(L1\).*playback progress kept in process memory/,
    );
    expect((await failureOf(sut.run('get', (client) => client.get('k')))).kind).toBe('ERROR');
  });

  it('closes the connection at shutdown', async () => {
    const { sut, redis } = build();
    await sut.onApplicationShutdown();
    expect(redis!.status).toBe('end');
  });
});
