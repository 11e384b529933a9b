import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';

import type { CacheConfig } from '../config/app-config.js';
import type { Counters } from '../telemetry/counters.service.js';
import { recordDependencyLatency, tracer } from '../telemetry/otel.js';
import { RedisUnavailableError } from './cache.errors.js';
import { createRedisClient, describeRedis, type RedisClient } from './redis-client.factory.js';

export interface RedisGatewayOptions {
  /** Longest wait for one call (it may send several commands). */
  commandTimeoutMs: number;
  /** How long Redis is left alone after a failed call. */
  cooldownMs?: number;
  /** Where Redis is, for logs. */
  description?: string;
  /** Longest wait at start for the first connection before serving without Redis. */
  startTimeoutMs?: number;
  now?: () => number;
}

/**
 * The only door to Redis for the cache module. Every call goes through {@link RedisGateway.run},
 * which bounds it by the command timeout, counts failures, and after a failure skips Redis for a
 * short cool-down so that a dead Redis adds no latency to each request.
 *
 * The resilience module's circuit breaker takes the cool-down's place in `run` once it exists.
 */
export class RedisGateway implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private skipUntil = 0;
  /** False from a failure until Redis answers again: one log line per outage. */
  private healthy = true;
  /** Outages are logged once start-up has said where Redis stands. */
  private announced = false;

  constructor(
    private readonly client: RedisClient | undefined,
    private readonly counters: Counters,
    private readonly options: RedisGatewayOptions,
  ) {
    this.cooldownMs = options.cooldownMs ?? 1000;
    this.now = options.now ?? Date.now;
    // An 'error' event without a listener would crash the process; reconnecting is the client's job.
    client?.on('error', (error: Error) => this.markDown(`connection error: ${error.message}`));
    client?.on('ready', () => {
      this.skipUntil = 0;
      this.markUp();
    });
  }

  /** Redis is configured (it may still be unreachable). */
  get enabled(): boolean {
    return this.client !== undefined;
  }

  /**
   * Runs `call` against Redis within the command timeout. Throws {@link RedisUnavailableError}
   * when Redis is not configured, cooling down, too slow or failing; never anything else.
   */
  async run<T>(op: string, call: (client: RedisClient) => Promise<T>): Promise<T> {
    const client = this.client;
    if (client === undefined) throw new RedisUnavailableError(op, 'ERROR', 'no Redis configured');
    if (this.now() < this.skipUntil) {
      this.counters.increment('cache_redis_skipped_total', { op });
      this.counters.increment('dependency_calls_total', { dependency: 'redis', outcome: 'rejected' });
      throw new RedisUnavailableError(op, 'SKIPPED', 'skipped while Redis cools down after a failure');
    }
    return tracer().startActiveSpan(`redis ${op}`, { kind: SpanKind.CLIENT }, async (span) => {
      span.setAttribute('db.system', 'redis');
      const started = performance.now();
      try {
        const result = await withTimeout(call(client), this.options.commandTimeoutMs);
        this.markUp();
        this.counters.increment('dependency_calls_total', { dependency: 'redis', outcome: 'ok' });
        recordDependencyLatency('redis', (performance.now() - started) / 1000, 'ok');
        return result;
      } catch (error) {
        const failure =
          error instanceof TimeoutError || (error instanceof Error && error.message === 'Command timed out')
            ? new RedisUnavailableError(
                op,
                'TIMEOUT',
                `no answer within ${this.options.commandTimeoutMs} ms`,
                {
                  cause: error,
                },
              )
            : new RedisUnavailableError(op, 'ERROR', error instanceof Error ? error.message : String(error), {
                cause: error,
              });
        span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
        recordDependencyLatency(
          'redis',
          (performance.now() - started) / 1000,
          failure.kind === 'TIMEOUT' ? 'timeout' : 'error',
        );
        this.counters.increment('cache_errors_total', { op });
        this.counters.increment('dependency_calls_total', {
          dependency: 'redis',
          outcome: failure.kind === 'TIMEOUT' ? 'timeout' : 'error',
        });
        this.skipUntil = this.now() + this.cooldownMs;
        this.markDown(failure.message);
        throw failure;
      } finally {
        span.end();
      }
    });
  }

  /** Waits (bounded) for the first connection so that start-up logs say where the service stands. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.client === undefined) {
      this.logger.log(
        'No Redis configured (REDIS_URL and REDIS_CLUSTER_NODES unset): caching in process only (L1), ' +
          'playback progress kept in process memory (per replica, lost on restart)',
      );
      return;
    }
    const description = this.options.description ?? 'Redis';
    this.healthy = await this.ready(this.options.startTimeoutMs ?? 2000);
    if (this.healthy) await this.connectEveryNode();
    this.announced = true;
    if (this.healthy) {
      this.logger.log(`${description} ready: L1 in process, L2 in Redis`);
    } else {
      this.logger.warn(
        `${description} not reachable yet: serving from L1 and the source, playback progress unavailable, until it answers`,
      );
    }
  }

  /**
   * A cluster client connects to each node on its first command to it; with the offline queue off,
   * those first commands would fail and cool the gateway down. One PING per master opens them all.
   */
  private async connectEveryNode(): Promise<void> {
    const client = this.client;
    if (client === undefined || !('nodes' in client)) return;
    await Promise.all(
      client
        .nodes('master')
        .map((node) => withTimeout(node.ping(), this.options.startTimeoutMs ?? 2000).catch(() => undefined)),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    if (client.status === 'ready') await withTimeout(client.quit(), 1000).catch(() => undefined);
    if (client.status !== 'end') client.disconnect();
  }

  /** Resolves true once connected, false after `timeoutMs` or a connection error. */
  ready(timeoutMs: number): Promise<boolean> {
    const client = this.client;
    if (client === undefined) return Promise.resolve(false);
    if (client.status === 'ready') return Promise.resolve(true);
    if (client.status === 'reconnecting' || client.status === 'end') return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ready: boolean) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('error', onError);
        resolve(ready);
      };
      const onReady = () => done(true);
      const onError = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      client.once('ready', onReady);
      client.once('error', onError);
    });
  }

  private markDown(reason: string): void {
    if (!this.healthy) return;
    this.healthy = false;
    if (this.announced)
      this.logger.warn(`Redis unavailable (${reason}): serving without L2 until it answers again`);
  }

  private markUp(): void {
    if (this.healthy) return;
    this.healthy = true;
    if (this.announced) this.logger.log('Redis answers again: L2 back in use');
  }
}

/** The gateway for the configured Redis (none, standalone or cluster). */
export const createRedisGateway = (
  config: CacheConfig,
  counters: Counters,
  options: Partial<RedisGatewayOptions> = {},
): RedisGateway =>
  new RedisGateway(createRedisClient(config), counters, {
    commandTimeoutMs: config.commandTimeoutMs,
    description: describeRedis(config.redis),
    ...options,
  });

class TimeoutError extends Error {}

/**
 * Bounds `promise` by `timeoutMs`. When the timer fires, the rejection waits for one pass of the
 * event loop's poll phase (a `setImmediate` runs after it): on a busy process the timer may fire
 * late, after Redis has answered, and an answer already in the socket must win rather than count as
 * Redis being slow (and make the next second of requests skip Redis).
 */
const withTimeout = <T>(promise: Promise<T>, timeoutMs: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      immediate = setImmediate(() => reject(new TimeoutError()));
    }, timeoutMs);
  });
  // The call may still settle after the timeout; its outcome no longer matters.
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
    clearImmediate(immediate);
  });
};
