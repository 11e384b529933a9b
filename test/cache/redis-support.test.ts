import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';

import { startRedis, startRedisCluster } from '../support/redis.js';

describe('test Redis servers', () => {
  it('starts, kills and restarts a standalone server on the same port', async () => {
    const redis = await startRedis();
    try {
      const client = redis.client();
      expect(await client.ping()).toBe('PONG');
      await redis.kill();
      await redis.restart();
      expect(await redis.client().ping()).toBe('PONG');
    } finally {
      await redis.stop();
    }
  });

  it('starts a 3-node cluster that serves every slot', async () => {
    const cluster = await startRedisCluster();
    const client = new Cluster(cluster.nodes);
    try {
      for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) await client.set(key, key);
      expect(await client.get('e')).toBe('e');
      expect(cluster.nodes).toHaveLength(3);
    } finally {
      client.disconnect();
      await cluster.stop();
    }
  });
});
