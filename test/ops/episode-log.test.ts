import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { EpisodeLog, episodeLogKeys, type EpisodeLogEntry } from '../../src/modules/cache/episode-log.js';
import { RedisGateway } from '../../src/modules/cache/redis-gateway.js';
import { Counters } from '../../src/modules/telemetry/counters.service.js';
import {
  captureLogs,
  startReplica,
  topologies,
  type CacheReplica,
  type Topology,
} from '../cache/cache-stack.js';

/**
 * The shared episode log against real Redis (standalone and a 3-node cluster: its keys share one
 * hash tag) and in process memory: the same rules, checked with the same cases.
 */

const entry = (id: string, startedAt: number, rev: number, data = `${id}@${rev}`): EpisodeLogEntry => ({
  id,
  startedAt,
  rev,
  data,
});

interface Subject {
  name: string;
  /** A fresh, empty log per test; `replicas` logs on the same store. */
  logs(replicas: number): Promise<EpisodeLog[]>;
}

const cases = (subject: () => Subject) => {
  it('keeps the latest state of each entry and lists the newest start first', async () => {
    const [log] = await subject().logs(1);
    await log!.write([entry('a', 100, 1), entry('b', 300, 1), entry('c', 200, 1)], 10);
    await log!.write([entry('a', 100, 2)], 10);
    expect(await log!.latest(10)).toEqual(['b@1', 'c@1', 'a@2']);
    expect(await log!.latest(2)).toEqual(['b@1', 'c@1']);
    expect(await log!.latest(0)).toEqual([]);
  });

  it('ignores a state older than, or as old as, the one stored', async () => {
    const [log] = await subject().logs(1);
    await log!.write([entry('a', 100, 5)], 10);
    await log!.write([entry('a', 100, 4, 'older'), entry('a', 100, 5, 'same rev')], 10);
    expect(await log!.latest(10)).toEqual(['a@5']);
  });

  it('keeps only the newest `maxEntries` by start, however many replicas write', async () => {
    const logs = await subject().logs(3);
    await Promise.all(
      logs.map((log, replica) =>
        (async () => {
          for (let index = 0; index < 10; index++) {
            const startedAt = index * 3 + replica;
            await log.write([entry(`r${replica}-${index}`, startedAt, 1, String(startedAt))], 12);
          }
        })(),
      ),
    );
    expect((await logs[0]!.latest(100)).map(Number)).toEqual(
      Array.from({ length: 12 }, (_, index) => 29 - index),
    );
  });

  it('refuses a bound below one', async () => {
    const [log] = await subject().logs(1);
    await expect(log!.write([entry('a', 1, 1)], 0)).rejects.toThrow(RangeError);
  });
};

describe('EpisodeLog in process memory', () => {
  cases(() => ({
    name: 'memory',
    logs: (replicas) => {
      // Without Redis there is one replica: every "replica" here shares the one in-process log.
      const log = new EpisodeLog(new RedisGateway(undefined, new Counters(), { commandTimeoutMs: 50 }));
      expect(log.shared).toBe(false);
      return Promise.resolve(Array.from({ length: replicas }, () => log));
    },
  }));
});

describe.each(topologies)('EpisodeLog on $name Redis', (topology) => {
  let server: Awaited<ReturnType<Topology['start']>>;
  const replicas: CacheReplica[] = [];

  beforeAll(async () => {
    captureLogs();
    server = await topology.start();
    replicas.push(
      ...(await Promise.all(
        Array.from({ length: 3 }, () => startReplica(server.redis, { commandTimeoutMs: 1000 })),
      )),
    );
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.close()));
    await server?.stop();
    vi.restoreAllMocks();
  });

  cases(() => ({
    name: topology.name,
    logs: async (count) => {
      await Promise.all(Object.values(episodeLogKeys).map((key) => server.client.del(key)));
      const logs = replicas.slice(0, count).map((replica) => new EpisodeLog(replica.gateway));
      for (const log of logs) expect(log.shared).toBe(true);
      return logs;
    },
  }));

  it('drops the data and revision of trimmed entries with them', async () => {
    await Promise.all(Object.values(episodeLogKeys).map((key) => server.client.del(key)));
    const log = new EpisodeLog(replicas[0]!.gateway);
    await log.write(
      Array.from({ length: 20 }, (_, index) => entry(`e${index}`, index, 1)),
      5,
    );
    expect(await server.client.zcard(episodeLogKeys.order)).toBe(5);
    expect(await server.client.hlen(episodeLogKeys.data)).toBe(5);
    expect(await server.client.hlen(episodeLogKeys.revs)).toBe(5);
    // A trimmed entry written again comes back (its revision went with it), then is trimmed as the oldest.
    await log.write([entry('e0', 0, 2)], 5);
    expect(await log.latest(10)).toEqual(['e19@1', 'e18@1', 'e17@1', 'e16@1', 'e15@1']);
  });
});
