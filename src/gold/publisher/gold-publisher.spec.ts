import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StoreError } from '../../modules/cosmos/cosmos.errors.js';
import type { GoldDatasetName } from '../contract/gold-datasets.js';
import type { ManifestDocument } from '../contract/manifest.schema.js';
import type { BulkItemOutcome, DocumentRef, DocumentWrite } from '../gold-store.repository.js';
import type { VersionedManifest } from '../manifest.repository.js';
import { GoldPublisher, type GoldStore, type ManifestStore, type PublishOptions } from './gold-publisher.js';
import { GoldRefusedError, GoldStoreStateError } from './publisher.errors.js';
import { backoffDelay, type RetryPolicy } from './retry.js';

/** In-memory documents with scripted bulk outcomes. */
class FakeStore implements GoldStore {
  readonly documents = new Map<string, Record<string, unknown>>();
  bulkCalls = 0;
  /** Decides a document's status for one attempt; undefined = store it (201). */
  outcome: (write: DocumentWrite, attempt: number) => number | undefined = () => undefined;
  /** Throws instead of answering, for whole-call failures. */
  callFailure: (call: number) => StoreError | undefined = () => undefined;
  private readonly attempts = new Map<string, number>();

  ensureContainers(): Promise<void> {
    return Promise.resolve();
  }

  upsertDocuments(_dataset: GoldDatasetName, writes: readonly DocumentWrite[]): Promise<BulkItemOutcome[]> {
    this.bulkCalls += 1;
    const failure = this.callFailure(this.bulkCalls);
    if (failure !== undefined) return Promise.reject(failure);
    return Promise.resolve(
      writes.map((write) => {
        const attempt = (this.attempts.get(write.id) ?? 0) + 1;
        this.attempts.set(write.id, attempt);
        const status = this.outcome(write, attempt);
        if (status === undefined) this.documents.set(write.id, write.document);
        return { id: write.id, partitionKey: write.partitionKey, statusCode: status ?? 201 };
      }),
    );
  }

  deleteDocuments(_dataset: GoldDatasetName, refs: readonly DocumentRef[]): Promise<BulkItemOutcome[]> {
    return Promise.resolve(
      refs.map((ref) => ({ ...ref, statusCode: this.documents.delete(ref.id) ? 204 : 404 })),
    );
  }

  countSnapshot(_dataset: GoldDatasetName, snapshotId: string): Promise<number> {
    return Promise.resolve(
      [...this.documents.values()].filter((doc) => doc.snapshotId === snapshotId).length,
    );
  }

  async *snapshotDocumentRefs(_dataset: GoldDatasetName, snapshotId: string): AsyncGenerator<DocumentRef[]> {
    await Promise.resolve();
    yield [...this.documents.values()]
      .filter((doc) => doc.snapshotId === snapshotId)
      .map((doc) => ({ id: doc.id as string, partitionKey: doc.country as string }));
  }
}

/** Manifests with ETags: create fails on an existing one, replace on a stale ETag. */
class FakeManifests implements ManifestStore {
  readonly stored = new Map<string, VersionedManifest>();
  private version = 0;
  /** Runs before a replace is applied: lets a test act as a concurrent writer. */
  beforeReplace: (() => void) | undefined;

  get(dataset: GoldDatasetName): Promise<VersionedManifest | null> {
    const found = this.stored.get(dataset);
    return Promise.resolve(found === undefined ? null : structuredClone(found));
  }

  getAll(): Promise<ManifestDocument[]> {
    return Promise.resolve([...this.stored.values()].map((entry) => structuredClone(entry.manifest)));
  }

  create(manifest: ManifestDocument): Promise<string> {
    if (this.stored.has(manifest.dataset)) {
      return Promise.reject(new StoreError('CONFLICT', 'create manifest: conflict', 409, undefined));
    }
    return Promise.resolve(this.put(manifest));
  }

  replace(manifest: ManifestDocument, etag: string): Promise<string> {
    const hook = this.beforeReplace;
    this.beforeReplace = undefined;
    hook?.();
    if (this.stored.get(manifest.dataset)?.etag !== etag) {
      return Promise.reject(new StoreError('PRECONDITION_FAILED', 'replace manifest: 412', 412, undefined));
    }
    return Promise.resolve(this.put(manifest));
  }

  put(manifest: ManifestDocument): string {
    this.version += 1;
    const etag = `"${this.version}"`;
    this.stored.set(manifest.dataset, { manifest: structuredClone(manifest), etag });
    return etag;
  }
}

let dir: string;
let input: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gold-publisher-'));
  const records = Array.from({ length: 250 }, (_, index) => ({
    country: String.fromCharCode(65 + Math.floor(index / 26), 65 + (index % 26)),
    device: 'TV',
    titleIds: [`t${index}`],
  }));
  input = join(dir, 'popular.jsonl');
  await writeFile(input, records.map((record) => JSON.stringify(record)).join('\n'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const setup = (policy: Partial<RetryPolicy> = {}) => {
  const store = new FakeStore();
  const manifests = new FakeManifests();
  const sleeps: number[] = [];
  const messages: string[] = [];
  const publisher = new GoldPublisher({
    store,
    manifests,
    reporter: {
      info: (message) => messages.push(message),
      warn: (message) => messages.push(`warn: ${message}`),
      badRecord: (bad) => messages.push(`${bad.file}:${bad.line}: ${bad.reason}`),
    },
    retry: {
      maxAttempts: 5,
      baseDelayMs: 100,
      maxDelayMs: 2000,
      random: () => 0.5,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      ...policy,
    },
  });
  return { store, manifests, sleeps, messages, publisher };
};

const options: PublishOptions = {
  dataset: 'popular',
  inputs: [],
  maxBad: 0,
  concurrency: 3,
  modelVersion: 'm1',
};

describe('backoffDelay', () => {
  const policy: RetryPolicy = { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 1000 };
  it('grows exponentially with jitter in the upper half, capped, and honours retry-after', () => {
    expect(backoffDelay({ ...policy, random: () => 0 }, 1)).toBe(50);
    expect(backoffDelay({ ...policy, random: () => 1 }, 1)).toBe(100);
    expect(backoffDelay({ ...policy, random: () => 1 }, 3)).toBe(400);
    expect(backoffDelay({ ...policy, random: () => 1 }, 10)).toBe(1000);
    expect(backoffDelay({ ...policy, random: () => 0 }, 1, 750)).toBe(750);
  });
});

describe('GoldPublisher.publish against a misbehaving store', () => {
  it('retries throttled and unavailable operations with backoff (honouring retry-after) until all are stored', async () => {
    const { store, manifests, sleeps, publisher } = setup();
    store.outcome = (write, attempt) => {
      const n = Number((write.document.titleIds as string[])[0]?.slice(1));
      if (n % 7 === 0 && attempt <= 2) return 429;
      if (n % 11 === 0 && attempt === 1) return 503;
      return undefined;
    };
    store.callFailure = (call) =>
      call === 1 ? new StoreError('THROTTLED', 'upsert: 429', 429, 1500) : undefined;

    const result = await publisher.publish({ ...options, inputs: [input] });

    expect(result).toMatchObject({ outcome: 'published', documentCount: 250 });
    expect(store.documents.size).toBe(250);
    expect(sleeps).toContain(1500); // the whole-call retry-after
    expect(sleeps.filter((ms) => ms === 75)).not.toHaveLength(0); // first backoff: 100 * (0.5 + 0.5 / 2)
    expect(sleeps.filter((ms) => ms === 150)).not.toHaveLength(0); // second backoff, doubled
    const manifest = manifests.stored.get('popular')?.manifest;
    expect(manifest).toMatchObject({
      activeSnapshotId: result.snapshotId,
      documentCount: 250,
      modelVersion: 'm1',
    });
    expect(manifest?.snapshots).toEqual([
      expect.objectContaining({ snapshotId: result.snapshotId, state: 'COMPLETE', documentCount: 250 }),
    ]);
  });

  it('gives up after the bounded attempts and leaves the snapshot WRITING, not active', async () => {
    const { store, manifests, publisher } = setup({ maxAttempts: 3 });
    store.outcome = (write) => ((write.document.country as string) === 'AC' ? 429 : undefined);

    const failure = await publisher.publish({ ...options, inputs: [input] }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(StoreError);
    expect((failure as StoreError).kind).toBe('THROTTLED');
    expect((failure as StoreError).message).toMatch(
      /1 document still failing with HTTP 429 after 3 attempts/,
    );
    const manifest = manifests.stored.get('popular')?.manifest;
    expect(manifest?.activeSnapshotId).toBeNull();
    expect(manifest?.snapshots).toEqual([expect.objectContaining({ state: 'WRITING' })]);
  });

  it('does not retry a document the store rejects for good', async () => {
    const { store, sleeps, publisher } = setup();
    store.outcome = (write) => ((write.document.country as string) === 'AB' ? 413 : undefined);

    const failure = await publisher.publish({ ...options, inputs: [input] }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(GoldStoreStateError);
    expect((failure as Error).message).toMatch(
      /upsert documents in popular: 1 document failed, e.g. g[0-9a-f]{16}:AB:TV with HTTP 413/,
    );
    expect(sleeps).toEqual([]);
  });

  it('refuses to activate when the stored count does not match', async () => {
    const { store, manifests, publisher } = setup();
    store.countSnapshot = () => Promise.resolve(249);

    await expect(publisher.publish({ ...options, inputs: [input] })).rejects.toThrow(
      /verify snapshot g[0-9a-f]{16}: the popular container holds 249 documents of it but 250 were expected/,
    );
    expect(manifests.stored.get('popular')?.manifest.activeSnapshotId).toBeNull();
  });

  it('re-reads and retries the flip when another writer changed the manifest (412)', async () => {
    const { manifests, messages, publisher } = setup();
    const first = await publisher.publish({ ...options, inputs: [input], snapshotId: 'first' });
    expect(first.outcome).toBe('published');
    // Another publish registers its snapshot just before our flip is applied.
    let injected = false;
    const originalGet = manifests.get.bind(manifests);
    manifests.get = async (dataset) => {
      const current = await originalGet(dataset);
      const entry = current?.manifest.snapshots.find((snapshot) => snapshot.snapshotId === 'second');
      if (!injected && entry?.state === 'WRITING') {
        injected = true;
        manifests.beforeReplace = () => {
          const stored = manifests.stored.get('popular') as VersionedManifest;
          manifests.put({
            ...stored.manifest,
            snapshots: [
              ...stored.manifest.snapshots,
              { ...entry, snapshotId: 'other', startedAt: '2024-01-01T00:00:00Z' },
            ],
          });
        };
      }
      return current;
    };

    await publisher.publish({ ...options, inputs: [input], snapshotId: 'second' });

    expect(messages).toContain(
      'warn: popular: the manifest changed during activate snapshot second; retrying',
    );
    const manifest = manifests.stored.get('popular')?.manifest;
    expect(manifest).toMatchObject({ activeSnapshotId: 'second', previousSnapshotId: 'first' });
    expect(manifest?.snapshots.map((entry) => [entry.snapshotId, entry.state])).toEqual([
      ['first', 'COMPLETE'],
      ['second', 'COMPLETE'],
      ['other', 'WRITING'],
    ]);
  });

  it('does not flip over a snapshot another publish activated meanwhile', async () => {
    const { manifests, store, publisher } = setup();
    await publisher.publish({ ...options, inputs: [input], snapshotId: 'first' });
    const originalCount = store.countSnapshot.bind(store);
    store.countSnapshot = async (dataset, snapshotId) => {
      const stored = manifests.stored.get('popular') as VersionedManifest;
      manifests.put({ ...stored.manifest, activeSnapshotId: 'someone-else' });
      return originalCount(dataset, snapshotId);
    };

    await expect(publisher.publish({ ...options, inputs: [input], snapshotId: 'second' })).rejects.toThrow(
      /activate snapshot second: the active snapshot of popular changed from first to someone-else while publishing/,
    );
    expect(manifests.stored.get('popular')?.manifest.activeSnapshotId).toBe('someone-else');
  });

  it('refuses input with more bad records than allowed without touching the store', async () => {
    const { store, manifests, messages, publisher } = setup();
    const bad = join(dir, 'bad.jsonl');
    await writeFile(
      bad,
      '{"country":"US","device":"TV","titleIds":["a"]}\n{"country":"us","device":"TV","titleIds":["a"]}\n',
    );
    const getAll = manifests.getAll.bind(manifests);
    let touched = false;
    manifests.get = () => {
      touched = true;
      return Promise.resolve(null);
    };
    manifests.getAll = getAll;

    await expect(publisher.publish({ ...options, inputs: [bad] })).rejects.toThrow(GoldRefusedError);
    expect(messages).toContain(`${bad}:2: country: must be an ISO 3166-1 alpha-2 code such as "US"`);
    expect(touched).toBe(false);
    expect(store.bulkCalls).toBe(0);
  });
});

describe('GoldPublisher.prune and the PRUNING state', () => {
  /** Publishes the same input under each id in turn: the last is active, the one before previous. */
  const publishAll = async (publisher: GoldPublisher, snapshotIds: readonly string[]): Promise<void> => {
    for (const snapshotId of snapshotIds)
      await publisher.publish({ ...options, inputs: [input], snapshotId });
  };
  const statesOf = (manifests: FakeManifests) =>
    manifests.stored.get('popular')?.manifest.snapshots.map((entry) => [entry.snapshotId, entry.state]);
  const prune = { dataset: 'popular', graceHours: 24, concurrency: 1 } as const;

  it('marks every candidate PRUNING in one manifest write before deleting any document', async () => {
    const { store, manifests, messages, publisher } = setup();
    await publishAll(publisher, ['first', 'second', 'third', 'fourth']);
    // What a reader checking the manifest after a query would see while the documents go.
    const seenDuringDeletes: unknown[] = [];
    const deleteDocuments = store.deleteDocuments.bind(store);
    store.deleteDocuments = (dataset, refs) => {
      seenDuringDeletes.push(statesOf(manifests));
      return deleteDocuments(dataset, refs);
    };

    const [result] = await publisher.prune(prune);

    expect(seenDuringDeletes.length).toBeGreaterThan(0);
    // From the very first delete on, both pruned snapshots are listed, as PRUNING, never COMPLETE.
    expect(seenDuringDeletes[0]).toEqual([
      ['first', 'PRUNING'],
      ['second', 'PRUNING'],
      ['third', 'COMPLETE'],
      ['fourth', 'COMPLETE'],
    ]);
    expect(new Set(seenDuringDeletes.map((states) => JSON.stringify(states)))).toEqual(
      new Set([JSON.stringify(seenDuringDeletes[0])]),
    );
    expect(messages).toContain('popular: marked first, second PRUNING');
    expect(messages).toContain('popular: pruned COMPLETE snapshot first (250 documents deleted)');
    expect(result).toEqual({
      dataset: 'popular',
      pruned: [
        { snapshotId: 'first', state: 'COMPLETE', documentsDeleted: 250 },
        { snapshotId: 'second', state: 'COMPLETE', documentsDeleted: 250 },
      ],
      keptWriting: [],
    });
    expect(statesOf(manifests)).toEqual([
      ['third', 'COMPLETE'],
      ['fourth', 'COMPLETE'],
    ]);
    expect(await store.countSnapshot('popular', 'first')).toBe(0);
    expect(await store.countSnapshot('popular', 'second')).toBe(0);
    expect(await store.countSnapshot('popular', 'third')).toBe(250);
  });

  it('leaves a prune interrupted after the mark PRUNING, refuses to publish that snapshot, and finishes it on the next prune', async () => {
    const { store, manifests, messages, publisher } = setup();
    await publishAll(publisher, ['first', 'second', 'third']);
    // The first batch of deletes goes through, then the store rejects them for good.
    const deleteDocuments = store.deleteDocuments.bind(store);
    let deleteCalls = 0;
    store.deleteDocuments = (dataset, refs) => {
      deleteCalls += 1;
      if (deleteCalls === 1) return deleteDocuments(dataset, refs);
      return Promise.resolve(refs.map((ref) => ({ ...ref, statusCode: 403 })));
    };

    await expect(publisher.prune(prune)).rejects.toThrow(
      /delete snapshot first in popular: 100 documents failed, e.g. \S+ with HTTP 403/,
    );

    // Half deleted, still listed, but as PRUNING: no reader takes it for a complete snapshot.
    expect(await store.countSnapshot('popular', 'first')).toBe(150);
    expect(statesOf(manifests)).toEqual([
      ['first', 'PRUNING'],
      ['second', 'COMPLETE'],
      ['third', 'COMPLETE'],
    ]);
    const [, , popular] = await publisher.status();
    expect(popular?.pruning).toEqual([{ snapshotId: 'first', documentCount: 250 }]);

    // Publishing that snapshot id again is refused until the prune is finished.
    const bulkCalls = store.bulkCalls;
    await expect(publisher.publish({ ...options, inputs: [input], snapshotId: 'first' })).rejects.toThrow(
      new GoldRefusedError(
        'popular: snapshot first is being pruned (PRUNING); finish the prune first (npm run gold -- prune --dataset popular), then run the publish again; nothing was written',
      ),
    );
    expect(store.bulkCalls).toBe(bulkCalls);
    expect(statesOf(manifests)?.[0]).toEqual(['first', 'PRUNING']);

    // The next prune finishes it whatever the grace period, and removes the entry.
    store.deleteDocuments = deleteDocuments;
    const [result] = await publisher.prune({ ...prune, graceHours: 1000 });

    expect(result?.pruned).toEqual([{ snapshotId: 'first', state: 'PRUNING', documentsDeleted: 150 }]);
    expect(messages).toContain(
      'popular: finished pruning snapshot first, left PRUNING by an interrupted prune (150 documents deleted)',
    );
    expect(await store.countSnapshot('popular', 'first')).toBe(0);
    expect(statesOf(manifests)).toEqual([
      ['second', 'COMPLETE'],
      ['third', 'COMPLETE'],
    ]);

    // Once the entry is gone, the same publish starts the snapshot anew.
    const again = await publisher.publish({ ...options, inputs: [input], snapshotId: 'first' });
    expect(again).toMatchObject({ outcome: 'published', snapshotId: 'first', previousSnapshotId: 'third' });
    expect(messages).toContain('popular: registered snapshot first as WRITING');
    expect(await store.countSnapshot('popular', 'first')).toBe(250);
  });

  it('refuses to roll back to a PRUNING snapshot, and prune never touches the previous one', async () => {
    const { store, manifests, publisher } = setup();
    await publishAll(publisher, ['first', 'second', 'third']);
    // Cannot happen through the publisher; a hand edit (or a bug) marks the previous one PRUNING.
    const stored = manifests.stored.get('popular') as VersionedManifest;
    manifests.put({
      ...stored.manifest,
      snapshots: stored.manifest.snapshots.map((entry) =>
        entry.snapshotId === 'second' ? { ...entry, state: 'PRUNING' } : entry,
      ),
    });
    const before = structuredClone(manifests.stored.get('popular'));

    await expect(publisher.rollback('popular')).rejects.toThrow(
      new GoldRefusedError(
        'popular: previous snapshot second is being pruned (PRUNING) and cannot be rolled back to; nothing was changed',
      ),
    );
    expect(manifests.stored.get('popular')).toEqual(before);

    const [result] = await publisher.prune(prune);
    expect(result?.pruned.map((entry) => entry.snapshotId)).toEqual(['first']);
    expect(await store.countSnapshot('popular', 'second')).toBe(250);
    expect(manifests.stored.get('popular')?.manifest).toMatchObject({
      activeSnapshotId: 'third',
      previousSnapshotId: 'second',
    });
  });

  it('does not activate a snapshot a prune marked PRUNING while it was being written', async () => {
    const { store, manifests, publisher } = setup();
    await publishAll(publisher, ['first', 'second', 'third']);
    // Re-publishing the complete but inactive `first`; a prune marks it just after the count.
    const countSnapshot = store.countSnapshot.bind(store);
    store.countSnapshot = async (dataset, snapshotId) => {
      const count = await countSnapshot(dataset, snapshotId);
      const latest = manifests.stored.get('popular') as VersionedManifest;
      manifests.put({
        ...latest.manifest,
        snapshots: latest.manifest.snapshots.map((entry) =>
          entry.snapshotId === 'first' ? { ...entry, state: 'PRUNING' } : entry,
        ),
      });
      return count;
    };

    await expect(publisher.publish({ ...options, inputs: [input], snapshotId: 'first' })).rejects.toThrow(
      /activate snapshot first: a prune started deleting it while publishing; not activating/,
    );
    expect(manifests.stored.get('popular')?.manifest.activeSnapshotId).toBe('third');
    expect(statesOf(manifests)?.[0]).toEqual(['first', 'PRUNING']);
  });

  it('keeps a candidate that became active between the read and the mark', async () => {
    const { store, manifests, messages, publisher } = setup();
    await publishAll(publisher, ['first', 'second', 'third']);
    // Just before the mark is written, another publish makes `first` active again.
    manifests.beforeReplace = () => {
      const stored = manifests.stored.get('popular') as VersionedManifest;
      manifests.put({ ...stored.manifest, activeSnapshotId: 'first', previousSnapshotId: 'third' });
    };
    let deletes = 0;
    store.deleteDocuments = () => {
      deletes += 1;
      return Promise.resolve([]);
    };

    const [result] = await publisher.prune(prune);

    expect(messages).toContain(
      'warn: popular: the manifest changed during mark snapshots of popular PRUNING; retrying',
    );
    expect(messages).toContain('popular: nothing to prune (the manifest changed meanwhile)');
    expect(result?.pruned).toEqual([]);
    expect(deletes).toBe(0);
    expect(statesOf(manifests)).toEqual([
      ['first', 'COMPLETE'],
      ['second', 'COMPLETE'],
      ['third', 'COMPLETE'],
    ]);
  });
});
