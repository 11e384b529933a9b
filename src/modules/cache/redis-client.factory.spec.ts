import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';

import { createRedisClient, describeRedis, reconnectDelayMs } from './redis-client.factory.js';
import { testCacheConfig } from './testing/cache-config.js';

/** Builds a client without letting it reach anything: it is closed before its first connect. */
const built = <T extends Redis | Cluster>(client: T | undefined): T => {
  if (client === undefined) throw new Error('expected a client');
  client.on('error', () => undefined);
  client.disconnect();
  return client;
};

describe(createRedisClient.name, () => {
  it('builds no client without Redis', () => {
    expect(createRedisClient(testCacheConfig())).toBeUndefined();
  });

  it('builds a standalone client that fails fast instead of queueing', () => {
    const client = built(
      createRedisClient(
        testCacheConfig({
          redis: { mode: 'standalone', url: 'rediss://:secret@127.0.0.1:1/2' },
          commandTimeoutMs: 40,
        }),
      ),
    ) as Redis;
    expect(client).toBeInstanceOf(Redis);
    expect(client.options).toMatchObject({
      host: '127.0.0.1',
      port: 1,
      db: 2,
      password: 'secret',
      enableOfflineQueue: false,
      // A backstop behind the gateway's own timeout (40 ms here).
      commandTimeout: 1000,
      maxRetriesPerRequest: 1,
      autoResendUnfulfilledCommands: false,
    });
    expect(client.options.tls).toBeDefined();
  });

  it('builds a cluster client whose TLS checks the seed host name on every shard', () => {
    const client = built(
      createRedisClient(
        testCacheConfig({
          redis: { mode: 'cluster', nodes: [{ host: 'localhost', port: 1 }], password: 'key', tls: true },
        }),
      ),
    ) as Cluster;
    expect(client).toBeInstanceOf(Cluster);
    expect(client.options.enableOfflineQueue).toBe(false);
    expect(client.options.redisOptions).toMatchObject({
      password: 'key',
      tls: { servername: 'localhost' },
      commandTimeout: 1000,
    });

    const plain = built(
      createRedisClient(
        testCacheConfig({ redis: { mode: 'cluster', nodes: [{ host: '127.0.0.1', port: 1 }], tls: false } }),
      ),
    ) as Cluster;
    expect(plain.options.redisOptions?.tls).toBeUndefined();
    expect(plain.options.redisOptions?.password).toBeUndefined();
  });

  it('backs off reconnects up to about two seconds', () => {
    expect(reconnectDelayMs(1)).toBeGreaterThanOrEqual(200);
    expect(reconnectDelayMs(1)).toBeLessThan(300);
    expect(reconnectDelayMs(100)).toBeGreaterThanOrEqual(2000);
    expect(reconnectDelayMs(100)).toBeLessThan(2100);
  });
});

describe(describeRedis.name, () => {
  it('says where Redis is without its credentials', () => {
    expect(
      describeRedis({
        mode: 'standalone',
        url: 'rediss://user:pa55word@flick.redis.cache.windows.net:6380/0',
      }),
    ).toBe('standalone Redis rediss://flick.redis.cache.windows.net:6380');
    expect(
      describeRedis({
        mode: 'cluster',
        nodes: [
          { host: 'a', port: 1 },
          { host: 'b', port: 2 },
        ],
        password: 'pa55word',
        tls: true,
      }),
    ).toBe('Redis Cluster (seed nodes a:1, b:2, TLS)');
    expect(describeRedis({ mode: 'none' })).toBe('no Redis');
  });
});
