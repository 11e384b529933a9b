import { isIP } from 'node:net';

import { Cluster, Redis, type RedisOptions } from 'ioredis';

import type { CacheConfig, RedisConfig } from '../config/app-config.js';

/** A standalone Redis or a Redis Cluster: the commands the cache module uses exist on both. */
export type RedisClient = Redis | Cluster;

/** Reconnect backoff: 200 ms doubling to 2 s, plus jitter so replicas do not reconnect in step. */
export const reconnectDelayMs = (attempt: number): number =>
  Math.min(100 * 2 ** Math.min(attempt, 5), 2000) + Math.floor(Math.random() * 100);

/**
 * Options every connection shares: commands fail at once while disconnected (no offline queue),
 * are not replayed after a reconnect, and the client reconnects in the background for as long as
 * the process runs. The command timeout that matters is the gateway's (`commandTimeoutMs`, which
 * does not blame Redis for a late timer); the client's own is only a backstop behind it.
 */
const connectionOptions = (config: CacheConfig) =>
  ({
    commandTimeout: Math.max(1000, config.commandTimeoutMs * 4),
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    connectionName: 'flick-api',
  }) satisfies RedisOptions;

/** The client for `config.redis`, connecting in the background; undefined without Redis. */
export const createRedisClient = (config: CacheConfig): RedisClient | undefined => {
  const redis = config.redis;
  switch (redis.mode) {
    case 'none':
      return undefined;
    case 'standalone':
      return new Redis(redis.url, {
        ...connectionOptions(config),
        enableOfflineQueue: false,
        retryStrategy: reconnectDelayMs,
      });
    case 'cluster': {
      // Azure Cache for Redis announces its shards by IP while its certificate names the host
      // name, so TLS checks the seed host name on every shard connection.
      const seedHost = redis.nodes[0]?.host;
      const tls =
        redis.tls && seedHost !== undefined && isIP(seedHost) === 0
          ? { servername: seedHost }
          : redis.tls
            ? {}
            : undefined;
      return new Cluster(redis.nodes, {
        enableOfflineQueue: false,
        clusterRetryStrategy: reconnectDelayMs,
        // A shard that restarts without a slot change is reconnected instead of waiting for a MOVED.
        clusterNodeRetryStrategy: reconnectDelayMs,
        slotsRefreshTimeout: 1000,
        ...(tls === undefined ? {} : { dnsLookup: (address, callback) => callback(null, address) }),
        redisOptions: {
          ...connectionOptions(config),
          ...(redis.password === undefined ? {} : { password: redis.password }),
          ...(tls === undefined ? {} : { tls }),
        },
      });
    }
  }
};

/** Where Redis is, for logs: never credentials. */
export const describeRedis = (redis: RedisConfig): string => {
  switch (redis.mode) {
    case 'none':
      return 'no Redis';
    case 'standalone': {
      const url = new URL(redis.url);
      return `standalone Redis ${url.protocol}//${url.host}`;
    }
    case 'cluster':
      return `Redis Cluster (seed nodes ${redis.nodes.map(({ host, port }) => `${host}:${port}`).join(', ')}${redis.tls ? ', TLS' : ''})`;
  }
};
