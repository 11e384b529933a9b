import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Database } from '@azure/cosmos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { GoldDatasetName } from '../../src/gold/contract/gold-datasets.js';
import type { ManifestDocument } from '../../src/gold/contract/manifest.schema.js';
import { GoldStoreRepository } from '../../src/gold/gold-store.repository.js';
import { ManifestRepository } from '../../src/gold/manifest.repository.js';
import { GoldPublisher } from '../../src/gold/publisher/gold-publisher.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import {
  completion,
  profileRecord,
  profileRecords,
  runCli,
  spawnCli,
  writeJsonl,
  writeJsonlGz,
  writeProfilesParquet,
} from './fixtures.js';

let cosmos: TestCosmos;
let dir: string;
let databases = 0;

beforeAll(async () => {
  cosmos = await startTestCosmos();
  dir = await mkdtemp(join(tmpdir(), 'gold-publisher-test-'));
});

afterAll(async () => {
  await cosmos?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** A fresh database per test: its env for the CLI, and in-process access to the same store. */
const freshStore = () => {
  databases += 1;
  const name = `gold-test-${databases}`;
  const database: Database = cosmos.database(name);
  const store = new GoldStoreRepository(database);
  const manifests = new ManifestRepository(database);
  const publisher = new GoldPublisher({
    store,
    manifests,
    reporter: { info: () => undefined, warn: () => undefined, badRecord: () => undefined },
  });
  return {
    env: { ...cosmos.env, COSMOS_DATABASE: name },
    database,
    store,
    manifests,
    /** Seeds a snapshot in-process (faster than a child process) for tests about what follows. */
    seed: async (file: string, dataset: GoldDatasetName = 'profiles') => {
      const result = await publisher.publish({
        dataset,
        inputs: [file],
        maxBad: 0,
        concurrency: 4,
        modelVersion: null,
      });
      return result.snapshotId;
    },
    manifest: async (dataset: GoldDatasetName = 'profiles'): Promise<ManifestDocument> => {
      const found = await manifests.get(dataset);
      if (found === null) throw new Error(`no manifest for ${dataset}`);
      return found.manifest;
    },
    /** Documents of the container whose snapshot is not one of `snapshotIds`. */
    countOthers: async (snapshotIds: string[], container = 'profiles'): Promise<number> => {
      try {
        const { resources } = await database
          .container(container)
          .items.query<number>({
            query: 'SELECT VALUE COUNT(1) FROM c WHERE NOT ARRAY_CONTAINS(@ids, c.snapshotId)',
            parameters: [{ name: '@ids', value: snapshotIds }],
          })
          .fetchAll();
        return resources[0] ?? 0;
      } catch (error) {
        if ((error as { code?: unknown }).code === 404) return 0; // no container: nothing was written
        throw error;
      }
    },
    readProfile: async (snapshotId: string, profileId: string) => {
      const { resource, statusCode } = await database
        .container('profiles')
        .item(`${snapshotId}:${profileId}`, profileId)
        .read<Record<string, unknown>>();
      return { resource, statusCode };
    },
  };
};

const file = (name: string) => join(dir, name);

/** A stored document without the system properties Cosmos adds. */
const userFields = (document: Record<string, unknown> | undefined) =>
  Object.fromEntries(Object.entries(document ?? {}).filter(([key]) => !key.startsWith('_')));

/** The `file:line` locations printed on stderr. */
const reportedLines = (stderr: string, path: string): number[] =>
  stderr
    .split('\n')
    .filter((line) => line.startsWith(`${path}:`))
    .map((line) => Number(line.slice(path.length + 1).split(':')[0]));

describe('gold publish (CLI against the embedded Cosmos server)', () => {
  it('publishes a good snapshot from JSON Lines (gzip) and Parquet and makes it active', async () => {
    const { env, store, manifest, readProfile } = freshStore();
    const records = profileRecords(300);
    const gz = await writeJsonlGz(file('good-1.jsonl.gz'), records.slice(0, 180));
    const parquet = await writeProfilesParquet(file('good-2.parquet'), records.slice(180));

    const run = await runCli(
      ['publish', '--dataset', 'profiles', '--input', gz, parquet, '--model-version', 'recs-2024.05'],
      env,
    );

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const snapshotId = /snapshot (g[0-9a-f]{16}) is active with 300 documents \(previous: none\)/.exec(
      run.stdout,
    )?.[1];
    expect(snapshotId, run.stdout).toBeDefined();
    const active = await manifest();
    expect(active).toMatchObject({
      activeSnapshotId: snapshotId,
      previousSnapshotId: null,
      documentCount: 300,
      modelVersion: 'recs-2024.05',
      snapshots: [
        expect.objectContaining({
          snapshotId,
          state: 'COMPLETE',
          documentCount: 300,
          modelVersion: 'recs-2024.05',
        }),
      ],
    });
    expect(Date.now() - Date.parse(active.completedAt ?? '')).toBeLessThan(60_000);
    expect(await store.countSnapshot('profiles', snapshotId as string)).toBe(300);
    // Point reads by `${snapshotId}:${key}`, from the JSON Lines part and from the Parquet part.
    for (const index of [0, 179, 180, 299]) {
      const record = profileRecord(index);
      const { resource } = await readProfile(snapshotId as string, record.profileId);
      expect(userFields(resource)).toEqual({
        ...record,
        id: `${snapshotId}:${record.profileId}`,
        snapshotId,
        goldSchemaVersion: 1,
      });
    }

    const status = await runCli(['status', '--json'], env);
    expect(status.code).toBe(0);
    const statuses = JSON.parse(status.stdout) as { dataset: string; activeSnapshotId: string | null }[];
    expect(statuses.map((entry) => [entry.dataset, entry.activeSnapshotId])).toEqual([
      ['catalog', null],
      ['profiles', snapshotId],
      ['popular', null],
      ['segments', null],
      ['partner_metrics', null],
    ]);

    // The same input again targets the same snapshot, which is already active.
    const again = await runCli(['publish', '--dataset', 'profiles', '--input', gz, parquet], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`profiles: snapshot ${snapshotId} is already active; nothing to do`);
  });

  it('rejects a file with bad records: reports each as file:line: reason, exits 1 and writes nothing', async () => {
    const { env, seed, manifests, store, countOthers } = freshStore();
    const v1 = await seed(await writeJsonl(file('bad-v1.jsonl'), profileRecords(120)));
    const before = await manifests.get('profiles');

    const lines: unknown[] = profileRecords(200, 'v2');
    lines[4] = '{"profileId": "p00004", "accountId": ';
    lines[16] = {
      ...profileRecord(16, 'v2'),
      recommendations: [
        ...profileRecord(16, 'v2').recommendations.slice(0, 3),
        { titleId: 't1', score: 'high', reason: { kind: 'POPULAR', sourceTitleId: null, detail: null } },
      ],
    };
    lines[39] = profileRecord(3, 'v2');
    lines[76] = { ...profileRecord(76, 'v2'), country: 'usa' };
    const input = await writeJsonl(file('bad-v2.jsonl'), lines);

    const run = await runCli(['publish', '--dataset', 'profiles', '--input', input], env);

    expect(run.code).toBe(1);
    expect(reportedLines(run.stderr, input)).toEqual([5, 17, 40, 77]);
    expect(run.stderr).toMatch(new RegExp(`^${input}:5: invalid JSON: .+$`, 'm'));
    expect(run.stderr).toContain(`${input}:17: recommendations[3].score: expected number, received string\n`);
    expect(run.stderr).toContain(`${input}:40: duplicate key p00003 (first seen at ${input}:4)\n`);
    expect(run.stderr).toContain(`${input}:77: country: must be an ISO 3166-1 alpha-2 code such as "US"\n`);
    expect(run.stderr).toContain(
      'gold publish: profiles: 4 bad records out of 200 (at most 0 allowed by --max-bad); nothing was written\n',
    );
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(5); // the four bad records and the summary
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // The active snapshot is untouched (not even the manifest's ETag changed) and still complete.
    const after = await manifests.get('profiles');
    expect(after?.etag).toBe(before?.etag);
    expect(after?.manifest).toEqual(before?.manifest);
    expect(after?.manifest.activeSnapshotId).toBe(v1);
    expect(await store.countSnapshot('profiles', v1)).toBe(120);
    expect(await countOthers([v1])).toBe(0);
  });

  it('leaves the old snapshot active when a publish is killed half-way; the same command completes it', async () => {
    const { env, seed, manifest, store, countOthers } = freshStore();
    const v1 = await seed(await writeJsonl(file('kill-v1.jsonl'), profileRecords(50)));
    const total = 6000;
    const input = await writeJsonl(file('kill-v2.jsonl'), profileRecords(total, 'v2'));
    const args = ['publish', '--dataset', 'profiles', '--input', input, '--concurrency', '1'];

    const child = spawnCli(args, env);
    const exited = completion(child);
    let seen = 0;
    const deadline = Date.now() + 30_000;
    while (seen === 0 && child.exitCode === null && Date.now() < deadline) {
      seen = await countOthers([v1]);
    }
    child.kill('SIGKILL');
    const killed = await exited;
    expect(killed.signal, `the publish ended before it could be killed: ${killed.stdout}`).toBe('SIGKILL');
    expect(seen).toBeGreaterThan(0);

    const partial = await countOthers([v1]);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(total);
    const interrupted = await manifest();
    expect(interrupted.activeSnapshotId).toBe(v1);
    const writing = interrupted.snapshots.find((entry) => entry.state === 'WRITING');
    expect(writing).toMatchObject({ documentCount: total, completedAt: null });
    expect(await store.countSnapshot('profiles', v1)).toBe(50);
    const status = await runCli(['status'], env);
    expect(status.stdout).toMatch(new RegExp(`^profiles\\s+${v1}\\s+-\\s+\\S+Z\\s+\\d+s\\s+50\\s+-$`, 'm'));
    expect(status.stdout).toContain(`  WRITING ${writing?.snapshotId}: started ${writing?.startedAt}`);

    const rerun = await runCli(args, env);

    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain(`resuming snapshot ${writing?.snapshotId}`);
    const completed = await manifest();
    expect(completed).toMatchObject({
      activeSnapshotId: writing?.snapshotId,
      previousSnapshotId: v1,
      documentCount: total,
    });
    expect(completed.snapshots.map((entry) => [entry.snapshotId, entry.state])).toEqual([
      [v1, 'COMPLETE'],
      [writing?.snapshotId, 'COMPLETE'],
    ]);
    expect(await store.countSnapshot('profiles', writing?.snapshotId as string)).toBe(total);
  });

  it('rolls back to the previous snapshot, then refuses a second rollback', async () => {
    const { env, seed, manifest, readProfile } = freshStore();
    const v1 = await seed(await writeJsonl(file('rb-v1.jsonl'), profileRecords(40)));
    const v1Manifest = await manifest();
    const v2 = await seed(await writeJsonl(file('rb-v2.jsonl'), profileRecords(60, 'v2')));
    expect((await manifest()).activeSnapshotId).toBe(v2);

    const run = await runCli(['rollback', '--dataset', 'profiles'], env);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`profiles: rolled back from ${v2} to ${v1}`);
    const rolledBack = await manifest();
    expect(rolledBack).toMatchObject({
      activeSnapshotId: v1,
      previousSnapshotId: null,
      completedAt: v1Manifest.completedAt,
      documentCount: 40,
    });
    // The rolled-back snapshot stays listed (and stored) until pruned.
    expect(rolledBack.snapshots.map((entry) => entry.snapshotId)).toEqual([v1, v2]);
    expect((await readProfile(v1, 'p00001')).statusCode).toBe(200);

    const again = await runCli(['rollback', '--dataset', 'profiles'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `gold rollback: profiles has no previous snapshot to roll back to (active: ${v1}); nothing was changed\n`,
    );
    expect((await manifest()).activeSnapshotId).toBe(v1);

    const never = await runCli(['rollback', '--dataset', 'catalog'], env);
    expect(never.code).toBe(1);
    expect(never.stderr).toContain('catalog has never been published');
  });

  it('prunes every snapshot but the active and previous ones, and abandoned WRITING ones after the grace period', async () => {
    const { env, seed, manifest, manifests, store, readProfile } = freshStore();
    const v1 = await seed(await writeJsonl(file('prune-v1.jsonl'), profileRecords(30, 'v1')));
    const v2 = await seed(await writeJsonl(file('prune-v2.jsonl'), profileRecords(35, 'v2')));
    const v3 = await seed(await writeJsonl(file('prune-v3.jsonl'), profileRecords(40, 'v3')));
    // Two unfinished publishes: one abandoned two days ago, one started a minute ago.
    const writeUnfinished = async (snapshotId: string, startedAt: Date) => {
      const records = profileRecords(10, snapshotId);
      await store.upsertDocuments(
        'profiles',
        records.map((record) => ({
          id: `${snapshotId}:${record.profileId}`,
          partitionKey: record.profileId,
          document: { ...record, snapshotId, goldSchemaVersion: 1 },
        })),
      );
      const current = await manifests.get('profiles');
      if (current === null) throw new Error('no manifest');
      await manifests.replace(
        {
          ...current.manifest,
          snapshots: [
            ...current.manifest.snapshots,
            {
              snapshotId,
              state: 'WRITING',
              startedAt: startedAt.toISOString(),
              completedAt: null,
              documentCount: 10,
              modelVersion: null,
            },
          ],
        },
        current.etag,
      );
    };
    await writeUnfinished('abandoned', new Date(Date.now() - 48 * 3_600_000));
    await writeUnfinished('running', new Date(Date.now() - 60_000));

    const run = await runCli(['prune', '--dataset', 'profiles'], env);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`profiles: pruned COMPLETE snapshot ${v1} (30 documents deleted)`);
    expect(run.stdout).toContain('profiles: pruned WRITING snapshot abandoned (10 documents deleted)');
    expect(run.stdout).toContain('profiles: keeping WRITING snapshot running');
    expect(await store.countSnapshot('profiles', v1)).toBe(0);
    expect(await store.countSnapshot('profiles', 'abandoned')).toBe(0);
    expect(await store.countSnapshot('profiles', v2)).toBe(35);
    expect(await store.countSnapshot('profiles', v3)).toBe(40);
    expect(await store.countSnapshot('profiles', 'running')).toBe(10);
    expect((await readProfile(v1, 'p00001')).statusCode).toBe(404);
    expect((await readProfile(v2, 'p00001')).statusCode).toBe(200);
    const pruned = await manifest();
    expect(pruned).toMatchObject({ activeSnapshotId: v3, previousSnapshotId: v2 });
    expect(pruned.snapshots.map((entry) => entry.snapshotId)).toEqual([v2, v3, 'running']);

    // With no grace period the running one goes too; active and previous always stay.
    const noGrace = await runCli(['prune', '--grace-hours', '0'], env);
    expect(noGrace.code).toBe(0);
    expect(noGrace.stdout).toContain('profiles: pruned WRITING snapshot running (10 documents deleted)');
    expect(noGrace.stdout).toContain('catalog: never published; nothing to prune');
    expect((await manifest()).snapshots.map((entry) => entry.snapshotId)).toEqual([v2, v3]);
    expect(await store.countSnapshot('profiles', v2)).toBe(35);
    expect(await store.countSnapshot('profiles', v3)).toBe(40);
  });

  it('marks a pruned snapshot PRUNING before deleting it; an interrupted prune blocks its publish and the next prune finishes it', async () => {
    const { env, database, seed, manifest, manifests, store } = freshStore();
    const v1Input = await writeJsonl(file('pruning-v1.jsonl'), profileRecords(250, 'v1'));
    const v1 = await seed(v1Input);
    const v2 = await seed(await writeJsonl(file('pruning-v2.jsonl'), profileRecords(20, 'v2')));
    const v3 = await seed(await writeJsonl(file('pruning-v3.jsonl'), profileRecords(20, 'v3')));
    // A prune whose store takes the first batch of deletes (100 documents), then rejects them.
    const stateOfV1 = async () =>
      (await manifest()).snapshots.find((entry) => entry.snapshotId === v1)?.state;
    const statesDuringDeletes: unknown[] = [];
    const failing = new GoldStoreRepository(database);
    let deleteCalls = 0;
    failing.deleteDocuments = async (dataset, refs) => {
      statesDuringDeletes.push(await stateOfV1());
      deleteCalls += 1;
      if (deleteCalls === 1) return store.deleteDocuments(dataset, refs);
      return refs.map((ref) => ({ ...ref, statusCode: 403 }));
    };
    const interrupted = new GoldPublisher({
      store: failing,
      manifests,
      reporter: { info: () => undefined, warn: () => undefined, badRecord: () => undefined },
    });

    await expect(interrupted.prune({ dataset: 'profiles', graceHours: 24, concurrency: 1 })).rejects.toThrow(
      /delete snapshot \S+ in profiles: 100 documents failed, e\.g\. \S+ with HTTP 403/,
    );

    expect(statesDuringDeletes).toEqual(['PRUNING', 'PRUNING']);
    expect(await store.countSnapshot('profiles', v1)).toBe(150);
    expect((await manifest()).snapshots.map((entry) => [entry.snapshotId, entry.state])).toEqual([
      [v1, 'PRUNING'],
      [v2, 'COMPLETE'],
      [v3, 'COMPLETE'],
    ]);
    const status = await runCli(['status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`  PRUNING ${v1}: being deleted, not readable (250 documents)`);

    // The same input targets the same snapshot: refused until the prune is finished.
    const publish = await runCli(['publish', '--dataset', 'profiles', '--input', v1Input], env);
    expect(publish.code).toBe(1);
    expect(publish.stderr).toBe(
      `gold publish: profiles: snapshot ${v1} is being pruned (PRUNING); finish the prune first (npm run gold -- prune --dataset profiles), then run the publish again; nothing was written\n`,
    );
    expect(await store.countSnapshot('profiles', v1)).toBe(150);

    const prune = await runCli(['prune', '--dataset', 'profiles'], env);

    expect(prune.code).toBe(0);
    expect(prune.stdout).toContain(
      `profiles: finished pruning snapshot ${v1}, left PRUNING by an interrupted prune (150 documents deleted)`,
    );
    expect(await store.countSnapshot('profiles', v1)).toBe(0);
    expect((await manifest()).snapshots.map((entry) => [entry.snapshotId, entry.state])).toEqual([
      [v2, 'COMPLETE'],
      [v3, 'COMPLETE'],
    ]);
  });

  it('publishes with --max-bad when the bad records are within the limit, still reporting each', async () => {
    const { env, manifest, manifests, store, readProfile, countOthers } = freshStore();
    const lines: unknown[] = profileRecords(150);
    lines[9] = { ...profileRecord(9), maturityLevel: 9 };
    lines[99] = 'not json at all';
    lines[149] = { ...profileRecord(149), kids: 'yes' };
    const input = await writeJsonl(file('maxbad.jsonl'), lines);

    const refused = await runCli(
      ['publish', '--dataset', 'profiles', '--input', input, '--max-bad', '2'],
      env,
    );
    expect(refused.code).toBe(1);
    expect(reportedLines(refused.stderr, input)).toEqual([10, 100, 150]);
    expect(refused.stderr).toContain(
      'gold publish: profiles: 3 bad records out of 150 (at most 2 allowed by --max-bad); nothing was written\n',
    );
    expect(await manifests.get('profiles')).toBeNull();
    expect(await countOthers([])).toBe(0);

    const run = await runCli(['publish', '--dataset', 'profiles', '--input', input, '--max-bad', '3'], env);

    expect(run.code).toBe(0);
    expect(reportedLines(run.stderr, input)).toEqual([10, 100, 150]);
    expect(run.stderr).toContain(`${input}:10: maturityLevel: Too big: expected number to be <=4\n`);
    expect(run.stderr).toContain(`${input}:150: kids: expected boolean, received string\n`);
    expect(run.stdout).toContain('147 valid records, 3 bad records left out');
    const active = await manifest();
    expect(active.documentCount).toBe(147);
    const snapshotId = active.activeSnapshotId as string;
    expect(await store.countSnapshot('profiles', snapshotId)).toBe(147);
    expect((await readProfile(snapshotId, 'p00009')).statusCode).toBe(404);
    expect((await readProfile(snapshotId, 'p00149')).statusCode).toBe(404);
    expect((await readProfile(snapshotId, 'p00010')).statusCode).toBe(200);
  });

  it('answers usage and store problems with a one-line message and exit codes 2 and 3', async () => {
    const { env } = freshStore();
    const unknownDataset = await runCli(['publish', '--dataset', 'movies', '--input', 'x.jsonl'], env);
    expect(unknownDataset.code).toBe(2);
    expect(unknownDataset.stderr.split('\n')[0]).toBe(
      'gold: publish: unknown dataset "movies" (expected one of catalog, profiles, popular, segments, partner_metrics)',
    );
    expect(unknownDataset.stderr).toContain('Usage: npm run gold -- <command> [options]');

    const missing = await runCli(['publish', '--dataset', 'profiles', '--input', file('nope.jsonl')], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe(`gold: publish: input file not found: ${file('nope.jsonl')}`);

    const config = await runCli(['status'], { ...env, COSMOS_ENDPOINT: 'not a url' });
    expect(config.code).toBe(2);
    expect(config.stderr).toBe('gold: Invalid configuration:\n  - COSMOS_ENDPOINT: Invalid URL\n');

    // A container created by hand with the wrong partition key: the publish must not write into it.
    await cosmos.client.databases.createIfNotExists({ id: env.COSMOS_DATABASE });
    await cosmos
      .database(env.COSMOS_DATABASE)
      .containers.create({ id: 'profiles', partitionKey: { paths: ['/wrong'] } });
    const input = await writeJsonl(file('store-failure.jsonl'), profileRecords(5));
    const down = await runCli(['publish', '--dataset', 'profiles', '--input', input], env);
    expect(down.code).toBe(3);
    expect(down.stderr).toBe(
      'gold publish: store failure: create container profiles: it exists with partition key /wrong, expected /profileId\n',
    );
    expect(down.stderr).not.toMatch(/\n\s+at /);
  });
});
