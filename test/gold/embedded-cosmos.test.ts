import { request } from 'node:https';
import { createRequire } from 'node:module';

import type { Container, CosmosClient, Database, PartitionKey, SqlQuerySpec } from '@azure/cosmos';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { installPartitionScopedQueries, withLinearReduce } from '../../src/dev/embedded-cosmos-partitions.js';
import { startEmbeddedCosmos, type EmbeddedCosmos } from '../../src/dev/embedded-cosmos.js';
import { createCosmosClient } from '../../src/modules/cosmos/cosmos-client.factory.js';

// The embedded server (@vercel/cosmosdb-server) is patched so that a query names a partition key
// scans that logical partition only, as Cosmos DB does (see src/dev/embedded-cosmos-partitions.ts).

type PartitionValue = string | number | boolean | null;

interface Doc {
  id: string;
  segmentId?: PartitionValue;
  kind: string;
  rank: number;
  version?: number;
}

const clientOf = (server: EmbeddedCosmos): CosmosClient =>
  createCosmosClient({
    endpoint: server.endpoint,
    key: server.key,
    database: 'embedded-cosmos',
    preferredRegions: [],
    caCertificate: server.caCertificate,
    maxRetries: 0,
    maxRetryWaitSeconds: 1,
    requestTimeoutMs: 10_000,
  });

let server: EmbeddedCosmos;
let client: CosmosClient;
let database: Database;
let containers = 0;

beforeAll(async () => {
  server = await startEmbeddedCosmos();
  client = clientOf(server);
  ({ database } = await client.databases.createIfNotExists({ id: 'embedded-cosmos' }));
});

afterAll(async () => {
  client?.dispose();
  await server?.close();
});

const newContainer = async (): Promise<Container> => {
  containers += 1;
  const { container } = await database.containers.create({
    id: `c${containers}`,
    partitionKey: { paths: ['/segmentId'] },
  });
  return container;
};

const doc = (id: string, segmentId: PartitionValue | undefined, rank = 0): Doc => ({
  id,
  ...(segmentId === undefined ? {} : { segmentId }),
  kind: 'member',
  rank,
});

const byId = <T extends { id?: string }>(resources: readonly T[]): T[] =>
  [...resources].sort((a, b) => a.id!.localeCompare(b.id!));

const ids = (resources: readonly { id?: string }[]): string[] => resources.map((r) => r.id!).sort();

const queryAll = async <T = Doc>(
  container: Container,
  query: string | SqlQuerySpec,
  partitionKey?: PartitionKey,
): Promise<T[]> =>
  (await container.items.query<T>(query, partitionKey === undefined ? {} : { partitionKey }).fetchAll())
    .resources;

/** Pages like a paging job: a new iterator per page, resumed from the previous continuation token. */
const pageThrough = async (
  container: Container,
  options: { partitionKey?: PartitionKey; maxItemCount: number },
  betweenPages: (page: number) => Promise<void> = () => Promise.resolve(),
): Promise<{ pages: Doc[][] }> => {
  const pages: Doc[][] = [];
  let continuationToken: string | undefined;
  do {
    const page = await container.items
      .query<Doc>('SELECT * FROM c WHERE c.kind = "member"', { ...options, continuationToken })
      .fetchNext();
    expect(page.resources.length).toBeLessThanOrEqual(options.maxItemCount);
    pages.push(page.resources);
    continuationToken = page.continuationToken;
    if (continuationToken !== undefined) await betweenPages(pages.length);
  } while (continuationToken !== undefined);
  return { pages };
};

describe('single-partition queries', () => {
  let container: Container;
  const docs: Doc[] = [
    doc('a1', 'a', 3),
    doc('a2', 'a', 1),
    doc('a3', 'a', 2),
    doc('b1', 'b', 5),
    doc('b2', 'b', 4),
    doc('n7', 7),
    doc('s7', '7'),
    doc('t', true),
    doc('null', null),
    doc('none', undefined),
  ];

  beforeAll(async () => {
    container = await newContainer();
    for (const d of docs) await container.items.create(d);
  });

  it('return only the documents of the partition named, even when the SQL matches others', async () => {
    expect(ids(await queryAll(container, 'SELECT * FROM c', 'a'))).toEqual(['a1', 'a2', 'a3']);
    expect(ids(await queryAll(container, 'SELECT * FROM c WHERE c.kind = "member"', 'b'))).toEqual([
      'b1',
      'b2',
    ]);
    // Naming another partition in the SQL does not widen the scope.
    expect(await queryAll(container, 'SELECT * FROM c WHERE c.segmentId = "b"', 'a')).toEqual([]);
    expect(
      await queryAll(
        container,
        {
          query: 'SELECT VALUE c.id FROM c WHERE c.rank >= @min ORDER BY c.rank DESC',
          parameters: [{ name: '@min', value: 2 }],
        },
        'a',
      ),
    ).toEqual(['a1', 'a3']);
    expect(await queryAll(container, 'SELECT VALUE COUNT(1) FROM c', 'a')).toEqual([3]);
    expect(await queryAll(container, 'SELECT * FROM c', 'nobody')).toEqual([]);
  });

  it('tell partition key values of different types apart', async () => {
    expect(ids(await queryAll(container, 'SELECT * FROM c', 7))).toEqual(['n7']);
    expect(ids(await queryAll(container, 'SELECT * FROM c', '7'))).toEqual(['s7']);
    expect(ids(await queryAll(container, 'SELECT * FROM c', true))).toEqual(['t']);
    expect(ids(await queryAll(container, 'SELECT * FROM c', null))).toEqual(['null']);
  });

  it('still report a bad query as 400', async () => {
    await expect(queryAll(container, 'SELECT * FROM', 'a')).rejects.toMatchObject({ code: 400 });
  });

  it('cross-partition queries (no partition key) still see every partition', async () => {
    expect(ids(await queryAll(container, 'SELECT * FROM c'))).toEqual(ids(docs));
    expect(await queryAll(container, 'SELECT VALUE COUNT(1) FROM c')).toEqual([docs.length]);
    expect(
      await queryAll(container, 'SELECT VALUE c.id FROM c WHERE c.segmentId IN ("a", "b") ORDER BY c.rank'),
    ).toEqual(['a2', 'a3', 'a1', 'b2', 'b1']);
    const { pages } = await pageThrough(container, { maxItemCount: 3 });
    expect(
      pages
        .flat()
        .map((d) => d.id)
        .sort(),
    ).toEqual(ids(docs));
    expect(pages.length).toBe(Math.ceil(docs.length / 3));
  });

  it('answer the SDK query-plan request over no documents instead of the whole container', async () => {
    // The SDK sends it (without partition key) next to every query page; it only needs it for
    // pipelined cross-partition execution, which this single-range server never asks for.
    const post = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        const req = request(
          `${server.endpoint}dbs/embedded-cosmos/colls/${container.id}/docs`,
          {
            method: 'POST',
            ca: server.caCertificate,
            headers: {
              'content-type': 'application/query+json',
              'x-ms-documentdb-isquery': 'true',
              'x-ms-documentdb-query-enablecrosspartition': 'true',
              ...headers,
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ query: 'SELECT VALUE c.id FROM c' }));
      });

    expect(await post({ 'x-ms-cosmos-is-query-plan-request': 'True' })).toEqual({
      status: 200,
      body: { Documents: [], _count: 0 },
    });
    const all = await post({});
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ _count: docs.length });
    const inB = await post({ 'x-ms-documentdb-partitionkey': '["b"]' });
    expect((inB.body as { Documents: string[] }).Documents.sort()).toEqual(['b1', 'b2']);
  });
});

describe('paging through one partition with continuation tokens', () => {
  type Mutation =
    { kind: 'create'; partition: string } | { kind: 'upsert' | 'replace' | 'delete' | 'patch'; pick: number };
  const partitions = ['p0', 'p1', 'p2'] as const;
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('create' as const), partition: fc.constantFrom(...partitions) }),
    fc.record({
      kind: fc.constantFrom('upsert' as const, 'replace' as const, 'delete' as const, 'patch' as const),
      pick: fc.nat(),
    }),
  );

  it('returns every document of the partition exactly once, despite writes between pages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...partitions), { maxLength: 18 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.array(mutation, { maxLength: 3 }), { maxLength: 6 }),
        async (initial, maxItemCount, mutations) => {
          const container = await newContainer();
          try {
            // The model: id -> partition of every live document.
            const live = new Map<string, string>();
            let next = 0;
            const fresh = (partition: string): Doc => {
              next += 1;
              const d = doc(`d${next}`, partition, next);
              live.set(d.id, partition);
              return d;
            };
            // One by one: executeBulkOperations waits ~1 s for more operations per call.
            await Promise.all(initial.map((partition) => container.items.create(fresh(partition))));
            const atStart = new Set([...live].filter(([, p]) => p === 'p0').map(([id]) => id));
            const deleted = new Set<string>();
            const created = new Set<string>();

            const apply = async (m: Mutation): Promise<void> => {
              if (m.kind === 'create') {
                const d = fresh(m.partition);
                if (m.partition === 'p0') created.add(d.id);
                await container.items.create(d);
                return;
              }
              const candidates = [...live].sort(([a], [b]) => a.localeCompare(b));
              if (candidates.length === 0) return;
              const [id, partition] = candidates[m.pick % candidates.length]!;
              const item = container.item(id, partition);
              switch (m.kind) {
                case 'upsert':
                  await container.items.upsert({ ...doc(id, partition, 100), version: 2 });
                  break;
                case 'replace':
                  await item.replace({ ...doc(id, partition, 200), version: 3 });
                  break;
                case 'patch':
                  await item.patch([{ op: 'set', path: '/version', value: 4 }]);
                  break;
                case 'delete':
                  await item.delete();
                  live.delete(id);
                  if (partition === 'p0') deleted.add(id);
                  break;
              }
            };

            const { pages } = await pageThrough(
              container,
              { partitionKey: 'p0', maxItemCount },
              async (page) => {
                for (const m of mutations[page - 1] ?? []) await apply(m);
              },
            );

            const seen = pages.flat();
            expect(seen.every((d) => d.segmentId === 'p0')).toBe(true);
            const seenIds = seen.map((d) => d.id);
            expect(new Set(seenIds).size).toBe(seenIds.length);
            // Present from the first page to the last: returned. Deleted or created meanwhile: at
            // most once (the cursor may already have passed their place).
            for (const id of atStart) if (!deleted.has(id)) expect(seenIds).toContain(id);
            for (const id of seenIds) expect(atStart.has(id) || created.has(id)).toBe(true);
            // Whatever happened meanwhile, the partition now holds exactly the model's documents.
            expect(ids(await queryAll(container, 'SELECT * FROM c', 'p0'))).toEqual(
              [...live]
                .filter(([, p]) => p === 'p0')
                .map(([id]) => id)
                .sort(),
            );
          } finally {
            await container.delete();
          }
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe('document operations', () => {
  it('point reads, create, upsert, replace, patch, delete and bulk keep queries in step', async () => {
    const container = await newContainer();
    const inA = async () => byId(await queryAll(container, 'SELECT * FROM c', 'a'));

    await container.items.create(doc('x', 'a', 1));
    expect((await container.item('x', 'a').read<Doc>()).resource).toMatchObject({ id: 'x', rank: 1 });
    expect((await container.item('x', 'b').read()).statusCode).toBe(404);

    await container.items.upsert({ ...doc('x', 'a', 2), version: 2 });
    await container.items.upsert(doc('y', 'a', 3));
    expect((await inA()).map((d) => [d.id, d.rank, d.version])).toEqual([
      ['x', 2, 2],
      ['y', 3, undefined],
    ]);

    await container.item('x', 'a').replace({ ...doc('x', 'a', 5), version: 3 });
    expect((await container.item('x', 'a').read<Doc>()).resource).toMatchObject({ rank: 5, version: 3 });
    // Moving a document to another partition is refused by the server: it stays where it was.
    await expect(container.item('x', 'a').replace(doc('x', 'b', 6))).rejects.toMatchObject({ code: 400 });
    await container.item('y', 'a').patch({
      condition: 'from c where c.rank = 3',
      operations: [{ op: 'set', path: '/version', value: 7 }],
    });
    expect((await inA()).map((d) => [d.id, d.rank, d.version])).toEqual([
      ['x', 5, 3],
      ['y', 3, 7],
    ]);
    expect(await queryAll(container, 'SELECT * FROM c', 'b')).toEqual([]);

    await container.item('x', 'a').delete();
    expect((await container.item('x', 'a').read()).statusCode).toBe(404);
    expect(ids(await inA())).toEqual(['y']);
    // The same id in another partition is another document.
    await container.items.create(doc('y', 'b', 9));
    expect((await inA()).map((d) => [d.id, d.rank])).toEqual([['y', 3]]);

    const bulk = await container.items.executeBulkOperations([
      { operationType: 'Create', partitionKey: 'c', resourceBody: { ...doc('z1', 'c') } },
      { operationType: 'Create', partitionKey: 'c', resourceBody: { ...doc('z2', 'c') } },
      { operationType: 'Upsert', partitionKey: 'c', resourceBody: { ...doc('z1', 'c', 8) } },
      { operationType: 'Delete', partitionKey: 'c', id: 'z2' },
      { operationType: 'Replace', partitionKey: 'a', id: 'y', resourceBody: { ...doc('y', 'a', 4) } },
      { operationType: 'Read', partitionKey: 'c', id: 'z1' },
    ]);
    expect(bulk.map((r) => r.response?.statusCode)).toEqual([201, 201, 200, 204, 200, 200]);
    expect((await queryAll(container, 'SELECT * FROM c', 'c')).map((d) => [d.id, d.rank])).toEqual([
      ['z1', 8],
    ]);
    expect((await inA()).map((d) => [d.id, d.rank])).toEqual([['y', 4]]);
    expect(ids(await queryAll(container, 'SELECT * FROM c'))).toEqual(['y', 'y', 'z1']);
  });

  it('leaves databases, containers and their listings alone', async () => {
    const container = await newContainer();
    const { resources: dbs } = await client.databases.readAll().fetchAll();
    expect(dbs.map((d) => d.id)).toContain('embedded-cosmos');
    const { resources: listed } = await database.containers.readAll().fetchAll();
    expect(listed.map((c) => c.id)).toContain(container.id);
    const { resources: found } = await database.containers
      .query<{ id: string }>({
        query: 'SELECT * FROM c WHERE c.id = @id',
        parameters: [{ name: '@id', value: container.id }],
      })
      .fetchAll();
    expect(found.map((c) => c.id)).toEqual([container.id]);
    expect((await container.read()).resource?.partitionKey?.paths).toEqual(['/segmentId']);
  });

  it('patches the library once per process; a second server is scoped as well', async () => {
    expect(installPartitionScopedQueries()).toBe(installPartitionScopedQueries());
    const second = await startEmbeddedCosmos();
    const secondClient = clientOf(second);
    try {
      const { database: db } = await secondClient.databases.createIfNotExists({ id: 'second' });
      const { container } = await db.containers.create({ id: 'c', partitionKey: { paths: ['/segmentId'] } });
      await container.items.create(doc('a1', 'a'));
      await container.items.create(doc('b1', 'b'));
      const [a, b] = await Promise.all([
        queryAll(container, 'SELECT * FROM c', 'a'),
        queryAll(container, 'SELECT * FROM c', 'b'),
      ]);
      expect([ids(a), ids(b)]).toEqual([['a1'], ['b1']]);
    } finally {
      secondClient.dispose();
      await second.close();
    }
  });
});

describe('withLinearReduce', () => {
  interface CompiledQuery {
    exec(documents: unknown[], options: unknown): { result: unknown; continuation: { token: string } | null };
  }
  const compile = (
    createRequire(import.meta.url)('@zeit/cosmosdb-query') as { default: (sql: string) => CompiledQuery }
  ).default;
  const queries = [
    'SELECT * FROM c',
    'SELECT c.id, c.n FROM c WHERE c.n > 10 ORDER BY c.n DESC',
    'SELECT VALUE COUNT(1) FROM c',
    'SELECT VALUE SUM(c.n) FROM c WHERE IS_NUMBER(c.n)',
    'SELECT c.id, t FROM c JOIN t IN c.tags',
    'SELECT * FROM t IN c.tags',
    'SELECT TOP 3 * FROM c WHERE IS_DEFINED(c.n)',
    'SELECT * FROM c WHERE EXISTS(SELECT VALUE t FROM t IN c.tags WHERE t > 1)',
    'SELECT * FROM c.child x',
    'SELECT * FROM c.children[0] x',
  ];
  const documents = fc
    .array(
      fc.record(
        {
          n: fc.integer({ min: 0, max: 30 }),
          tags: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
          child: fc.record({ v: fc.nat(5) }),
          children: fc.array(fc.record({ v: fc.nat(5) }), { maxLength: 2 }),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 25 },
    )
    .map((docs) => docs.map((d, i) => ({ ...d, id: `d${i}`, _rid: `r${String(i).padStart(3, '0')}` })));

  /** Every page of `sql` over `docs`, or the error it throws. */
  const run = (sql: string, docs: object[], maxItemCount: number, linear: boolean): unknown => {
    const query = compile(sql);
    const pages: unknown[] = [];
    let continuation: { token: string } | null = null;
    try {
      do {
        const rows = structuredClone(docs);
        const page = query.exec(linear ? withLinearReduce(rows) : rows, { maxItemCount, continuation });
        pages.push(page.result);
        continuation = page.continuation;
      } while (continuation !== null && pages.length < 50);
    } catch (error) {
      return { error: String(error) };
    }
    return pages;
  };

  it('gives the compiled queries the same pages as the standard reduce', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...queries),
        documents,
        fc.integer({ min: 1, max: 6 }),
        (sql, docs, size) => {
          expect(run(sql, docs, size, true)).toEqual(run(sql, docs, size, false));
        },
      ),
      { numRuns: 300 },
    );
  });
});
