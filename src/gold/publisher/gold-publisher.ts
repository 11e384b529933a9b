import { StoreError } from '../../modules/cosmos/cosmos.errors.js';
import { GOLD_SCHEMA_VERSION } from '../contract/common.schema.js';
import {
  goldDataset,
  goldDatasetNames,
  toGoldDocument,
  type GoldDatasetName,
} from '../contract/gold-datasets.js';
import type { ManifestDocument, SnapshotEntry } from '../contract/manifest.schema.js';
import type {
  BulkItemOutcome,
  DocumentRef,
  DocumentWrite,
  GoldStoreRepository,
} from '../gold-store.repository.js';
import type { ManifestRepository, VersionedManifest } from '../manifest.repository.js';
import { GoldRefusedError, GoldStoreStateError } from './publisher.errors.js';
import { InputFileError, readAllRecords } from './record-reader.js';
import { locationOf, SnapshotDigest, validRecords, type BadRecord } from './record-validator.js';
import {
  backoffDelay,
  defaultRetryPolicy,
  isTransientStatus,
  sleep,
  withRetry,
  type RetryPolicy,
} from './retry.js';

/** Where the publisher's messages go: the CLI prints info on stdout, the rest on stderr. */
export interface PublisherReporter {
  info(message: string): void;
  warn(message: string): void;
  badRecord(bad: BadRecord): void;
}

export type GoldStore = Pick<
  GoldStoreRepository,
  'ensureContainers' | 'upsertDocuments' | 'deleteDocuments' | 'countSnapshot' | 'snapshotDocumentRefs'
>;
export type ManifestStore = Pick<ManifestRepository, 'get' | 'getAll' | 'create' | 'replace'>;

export interface PublishOptions {
  dataset: GoldDatasetName;
  inputs: readonly string[];
  /** Bad records tolerated (and left out); more and nothing is written. */
  maxBad: number;
  /** Bulk calls in flight at once. */
  concurrency: number;
  modelVersion: string | null;
  /** Overrides the snapshot id derived from the input. */
  snapshotId?: string;
}

export type PublishResult =
  | {
      outcome: 'published';
      snapshotId: string;
      documentCount: number;
      previousSnapshotId: string | null;
      badRecords: number;
    }
  | { outcome: 'already-active'; snapshotId: string; documentCount: number; badRecords: number };

export interface WritingSnapshotStatus {
  snapshotId: string;
  startedAt: string;
  ageSeconds: number;
  documentCount: number;
}

/** A snapshot a prune has started deleting (or an interrupted prune left behind). */
export interface PruningSnapshotStatus {
  snapshotId: string;
  documentCount: number;
}

export interface DatasetStatus {
  dataset: GoldDatasetName;
  published: boolean;
  activeSnapshotId: string | null;
  previousSnapshotId: string | null;
  completedAt: string | null;
  /** Seconds since the active snapshot completed. */
  ageSeconds: number | null;
  documentCount: number | null;
  modelVersion: string | null;
  writing: WritingSnapshotStatus[];
  pruning: PruningSnapshotStatus[];
  snapshots: SnapshotEntry[];
}

export interface RollbackResult {
  dataset: GoldDatasetName;
  /** The snapshot that was active and stays listed until pruned. */
  from: string;
  to: string;
  completedAt: string | null;
}

export interface PruneOptions {
  /** One dataset, or all of them. */
  dataset?: GoldDatasetName;
  /**
   * WRITING snapshots younger than this are left alone (a publish may still be running). PRUNING
   * ones (left by an interrupted prune) are always finished.
   */
  graceHours: number;
  concurrency: number;
}

export interface PruneResult {
  dataset: GoldDatasetName;
  /** `state` is the one the snapshot had before this prune marked it PRUNING. */
  pruned: { snapshotId: string; state: SnapshotEntry['state']; documentsDeleted: number }[];
  /** WRITING snapshots kept because they are within the grace period. */
  keptWriting: string[];
}

export interface GoldPublisherDeps {
  store: GoldStore;
  manifests: ManifestStore;
  reporter: PublisherReporter;
  retry?: RetryPolicy;
  now?: () => Date;
}

/** Documents per bulk call. */
const BATCH_SIZE = 100;
/** Attempts at a conditional manifest write that keeps losing to other writers. */
const MANIFEST_WRITE_ATTEMPTS = 10;

const emptyManifest = (dataset: GoldDatasetName): ManifestDocument => ({
  id: dataset,
  dataset,
  goldSchemaVersion: GOLD_SCHEMA_VERSION,
  activeSnapshotId: null,
  previousSnapshotId: null,
  completedAt: null,
  documentCount: null,
  modelVersion: null,
  snapshots: [],
});

const refKey = (ref: DocumentRef): string => `${ref.partitionKey}\u0000${ref.id}`;

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/**
 * Runs async tasks with at most `limit` in flight. The first failure stops new submissions (the
 * next `submit` throws it) and is rethrown by `drain` once every running task has settled.
 */
class BoundedPool {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  async submit(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit && this.failure === undefined) await Promise.race(this.running);
    if (this.failure !== undefined) throw this.failure.error;
    const promise: Promise<void> = task().then(
      () => {
        this.running.delete(promise);
      },
      (error: unknown) => {
        this.running.delete(promise);
        this.failure ??= { error };
      },
    );
    this.running.add(promise);
  }

  /** Waits for every running task; throws the first failure, if any. */
  async drain(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure !== undefined) throw this.failure.error;
  }

  /** Waits for every running task, ignoring failures (the caller is already failing). */
  async settle(): Promise<void> {
    await Promise.all(this.running);
  }
}

/**
 * Publishes gold datasets into Cosmos DB under snapshots and moves each dataset's manifest between
 * them. A snapshot becomes active only through one conditional manifest write after all of its
 * documents are stored and counted, so readers never see a partial snapshot.
 */
export class GoldPublisher {
  private readonly store: GoldStore;
  private readonly manifests: ManifestStore;
  private readonly reporter: PublisherReporter;
  private readonly retry: RetryPolicy;
  private readonly now: () => Date;

  constructor(deps: GoldPublisherDeps) {
    this.store = deps.store;
    this.manifests = deps.manifests;
    this.reporter = deps.reporter;
    this.retry = deps.retry ?? defaultRetryPolicy;
    this.now = deps.now ?? (() => new Date());
  }

  // ---------------------------------------------------------------------------------------------
  // publish

  async publish(options: PublishOptions): Promise<PublishResult> {
    const { dataset } = options;
    const spec = goldDataset(dataset);

    // Pass 1: validate every record, nothing is written.
    const digest = new SnapshotDigest(dataset);
    const skip = new Set<string>();
    let badRecords = 0;
    await this.readingInputs('nothing was written', async () => {
      const onBad = (bad: BadRecord): void => {
        badRecords += 1;
        this.reporter.badRecord(bad);
        if (badRecords <= options.maxBad) skip.add(locationOf(bad));
      };
      for await (const valid of validRecords(spec, readAllRecords(options.inputs), onBad)) {
        digest.add(valid.record);
      }
    });
    const expected = digest.count;
    const { hex, snapshotId: derivedId } = digest.finish();
    if (badRecords > options.maxBad) {
      throw new GoldRefusedError(
        `${dataset}: ${plural(badRecords, 'bad record')} out of ${expected + badRecords} (at most ${options.maxBad} allowed by --max-bad); nothing was written`,
      );
    }
    if (expected === 0) {
      throw new GoldRefusedError(`${dataset}: the input holds no valid records; nothing was written`);
    }
    const snapshotId = options.snapshotId ?? derivedId;
    this.reporter.info(
      `${dataset}: ${plural(expected, 'valid record')}` +
        (badRecords > 0 ? `, ${plural(badRecords, 'bad record')} left out` : '') +
        `; snapshot ${snapshotId}`,
    );

    const current = await withRetry(this.retry, () => this.manifests.get(dataset));
    if (current?.manifest.activeSnapshotId === snapshotId) {
      if (current.manifest.documentCount !== expected) {
        throw new GoldRefusedError(
          `${dataset}: snapshot ${snapshotId} is active with ${current.manifest.documentCount ?? 0} documents but the input has ${expected}; use another --snapshot-id`,
        );
      }
      this.reporter.info(`${dataset}: snapshot ${snapshotId} is already active; nothing to do`);
      return { outcome: 'already-active', snapshotId, documentCount: expected, badRecords };
    }

    await withRetry(this.retry, () => this.store.ensureContainers());
    const baseActive = await this.register(dataset, snapshotId, expected, options.modelVersion);

    // Pass 2: re-read the input and write it; the digest proves it is the input validated above.
    const written = await this.writeSnapshot(options, snapshotId, skip, expected, hex);

    const stored = await withRetry(this.retry, () => this.store.countSnapshot(dataset, snapshotId));
    if (stored !== expected) {
      throw new GoldStoreStateError(
        `verify snapshot ${snapshotId}`,
        `the ${spec.container} container holds ${stored} documents of it but ${expected} were expected` +
          ` (${written} written); the manifest was not changed` +
          (options.snapshotId === undefined ? '' : ' — was this --snapshot-id used for other input?'),
      );
    }

    const completedAt = this.now().toISOString();
    const flipped = await this.updateManifest(dataset, `activate snapshot ${snapshotId}`, (latest) => {
      if (latest === null) {
        throw new GoldStoreStateError(
          `activate snapshot ${snapshotId}`,
          `the manifest of ${dataset} disappeared`,
        );
      }
      const manifest = latest.manifest;
      if (manifest.activeSnapshotId === snapshotId) return null;
      if (manifest.activeSnapshotId !== baseActive) {
        throw new GoldStoreStateError(
          `activate snapshot ${snapshotId}`,
          `the active snapshot of ${dataset} changed from ${baseActive ?? 'none'} to ${manifest.activeSnapshotId ?? 'none'} while publishing; not activating — run the publish again to activate it`,
        );
      }
      const entry = manifest.snapshots.find((candidate) => candidate.snapshotId === snapshotId);
      if (entry === undefined) {
        throw new GoldStoreStateError(
          `activate snapshot ${snapshotId}`,
          `it was removed from the manifest of ${dataset} while publishing (pruned?); run the publish again`,
        );
      }
      // A prune marked it while we were writing and may be deleting its documents right now (the
      // count above can be stale): never activate it.
      if (entry.state === 'PRUNING') {
        throw new GoldStoreStateError(
          `activate snapshot ${snapshotId}`,
          `a prune started deleting it while publishing; not activating — finish the prune (npm run gold -- prune --dataset ${dataset}), then run the publish again`,
        );
      }
      return {
        ...manifest,
        previousSnapshotId: manifest.activeSnapshotId,
        activeSnapshotId: snapshotId,
        completedAt,
        documentCount: expected,
        modelVersion: options.modelVersion,
        snapshots: manifest.snapshots.map((entry) =>
          entry.snapshotId === snapshotId
            ? {
                ...entry,
                state: 'COMPLETE',
                completedAt,
                documentCount: expected,
                modelVersion: options.modelVersion,
              }
            : entry,
        ),
      };
    });
    const previousSnapshotId = flipped?.previousSnapshotId ?? baseActive;
    this.reporter.info(
      `${dataset}: snapshot ${snapshotId} is active with ${plural(expected, 'document')}` +
        ` (previous: ${previousSnapshotId ?? 'none'})`,
    );
    return { outcome: 'published', snapshotId, documentCount: expected, previousSnapshotId, badRecords };
  }

  /** Turns unreadable input into a refusal (exit 1) instead of a crash. */
  private async readingInputs(consequence: string, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      if (error instanceof InputFileError) {
        throw new GoldRefusedError(`${error.message}; ${consequence}`, { cause: error });
      }
      throw error;
    }
  }

  /**
   * Lists the snapshot in the manifest as WRITING (creating the manifest if needed). Returns the
   * active snapshot the publish started from.
   */
  private async register(
    dataset: GoldDatasetName,
    snapshotId: string,
    documentCount: number,
    modelVersion: string | null,
  ): Promise<string | null> {
    let baseActive: string | null = null;
    let existing: SnapshotEntry | undefined;
    const startedAt = this.now().toISOString();
    await this.updateManifest(dataset, `register snapshot ${snapshotId}`, (current) => {
      const manifest = current?.manifest ?? emptyManifest(dataset);
      baseActive = manifest.activeSnapshotId;
      existing = manifest.snapshots.find((entry) => entry.snapshotId === snapshotId);
      if (existing !== undefined) return null;
      const entry: SnapshotEntry = {
        snapshotId,
        state: 'WRITING',
        startedAt,
        completedAt: null,
        documentCount,
        modelVersion,
      };
      return { ...manifest, snapshots: [...manifest.snapshots, entry] };
    });
    const found = existing;
    switch (found?.state) {
      case undefined:
        this.reporter.info(`${dataset}: registered snapshot ${snapshotId} as WRITING`);
        break;
      case 'WRITING':
        this.reporter.info(`${dataset}: resuming snapshot ${snapshotId} (WRITING since ${found.startedAt})`);
        break;
      case 'COMPLETE':
        this.reporter.info(
          `${dataset}: snapshot ${snapshotId} is complete but not active; rewriting and activating it`,
        );
        break;
      case 'PRUNING':
        // Refused rather than taken over: a prune may still be deleting its documents, and one
        // that was interrupted would resume deleting them (PRUNING entries get no grace period),
        // so writing under this id now could lose documents after they were counted. The prune
        // removes the entry once the documents are gone; then the same publish starts it anew.
        throw new GoldRefusedError(
          `${dataset}: snapshot ${snapshotId} is being pruned (PRUNING); finish the prune first (npm run gold -- prune --dataset ${dataset}), then run the publish again; nothing was written`,
        );
    }
    return baseActive;
  }

  private async writeSnapshot(
    options: PublishOptions,
    snapshotId: string,
    skip: ReadonlySet<string>,
    expected: number,
    expectedDigest: string,
  ): Promise<number> {
    const { dataset } = options;
    const spec = goldDataset(dataset);
    const digest = new SnapshotDigest(dataset);
    const pool = new BoundedPool(options.concurrency);
    const inputChanged = (detail: string): GoldRefusedError =>
      new GoldRefusedError(
        `${dataset}: the input changed while publishing (${detail}); snapshot ${snapshotId} was left unfinished and not activated — run the publish again`,
      );
    let written = 0;
    let nextReport = Math.ceil(expected / 10);
    const startedAt = Date.now();
    const submit = async (batch: DocumentWrite[]): Promise<void> =>
      pool.submit(async () => {
        await this.bulkWithRetry(dataset, 'upsert documents', batch, (writes) =>
          this.store.upsertDocuments(dataset, writes),
        );
        written += batch.length;
        if (written >= nextReport || written === expected) {
          nextReport = written + Math.ceil(expected / 10);
          const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
          this.reporter.info(`${dataset}: ${written}/${expected} documents written (${seconds} s)`);
        }
      });

    let batch: DocumentWrite[] = [];
    try {
      const unfinished = `snapshot ${snapshotId} was left unfinished and not activated — run the publish again`;
      await this.readingInputs(unfinished, async () => {
        const onBad = (bad: BadRecord): void => {
          throw inputChanged(`${locationOf(bad)} is now bad: ${bad.reason}`);
        };
        for await (const valid of validRecords(spec, readAllRecords(options.inputs), onBad, skip)) {
          digest.add(valid.record);
          const document = toGoldDocument(spec, valid.record, snapshotId);
          batch.push({
            id: document.id,
            partitionKey: spec.partitionKeyOf(valid.record, document.id),
            document,
          });
          if (batch.length >= BATCH_SIZE) {
            await submit(batch);
            batch = [];
          }
        }
      });
      if (batch.length > 0) await submit(batch);
    } catch (error) {
      await pool.settle();
      throw error;
    }
    await pool.drain();
    if (digest.count !== expected || digest.finish().hex !== expectedDigest) {
      throw inputChanged(`${plural(digest.count, 'valid record')} now, ${expected} before`);
    }
    return written;
  }

  /**
   * One bulk call per batch; operations that come back throttled or unavailable are retried with
   * backoff (bounded attempts), any other failure stops the operation.
   */
  private async bulkWithRetry<T extends DocumentRef>(
    dataset: GoldDatasetName,
    operation: string,
    items: readonly T[],
    call: (items: readonly T[]) => Promise<BulkItemOutcome[]>,
    acceptNotFound = false,
  ): Promise<void> {
    let pending = items;
    for (let attempt = 1; ; attempt += 1) {
      let outcomes: BulkItemOutcome[];
      try {
        outcomes = await call(pending);
      } catch (error) {
        if (error instanceof StoreError && error.transient && attempt < this.retry.maxAttempts) {
          await sleep(this.retry, backoffDelay(this.retry, attempt, error.retryAfterMs));
          continue;
        }
        throw error;
      }
      const failed = outcomes.filter(
        (outcome) =>
          !(outcome.statusCode >= 200 && outcome.statusCode < 300) &&
          !(acceptNotFound && outcome.statusCode === 404),
      );
      if (failed.length === 0) return;
      const permanent = failed.find((outcome) => !isTransientStatus(outcome.statusCode));
      if (permanent !== undefined) {
        throw new GoldStoreStateError(
          `${operation} in ${goldDataset(dataset).container}`,
          `${plural(failed.length, 'document')} failed, e.g. ${permanent.id} with HTTP ${permanent.statusCode}`,
        );
      }
      if (attempt >= this.retry.maxAttempts) {
        const status = failed[0]?.statusCode;
        throw new StoreError(
          status === 429 ? 'THROTTLED' : 'UNAVAILABLE',
          `${operation} in ${goldDataset(dataset).container}: ${plural(failed.length, 'document')} still failing with HTTP ${status} after ${attempt} attempts`,
          status,
          undefined,
        );
      }
      const retry = new Set(failed.map(refKey));
      pending = pending.filter((item) => retry.has(refKey(item)));
      await sleep(this.retry, backoffDelay(this.retry, attempt));
    }
  }

  /**
   * A conditional read-modify-write of a dataset's manifest: `change` gets the latest version (or
   * null when there is none) and returns the new document, or null to leave it. Lost races (409 on
   * create, 412 on replace) re-read and try again. Returns the document written, if any.
   */
  private async updateManifest(
    dataset: GoldDatasetName,
    operation: string,
    change: (current: VersionedManifest | null) => ManifestDocument | null,
  ): Promise<ManifestDocument | null> {
    for (let attempt = 1; attempt <= MANIFEST_WRITE_ATTEMPTS; attempt += 1) {
      const current = await withRetry(this.retry, () => this.manifests.get(dataset));
      const next = change(current);
      if (next === null) return null;
      try {
        if (current === null) await withRetry(this.retry, () => this.manifests.create(next));
        else await withRetry(this.retry, () => this.manifests.replace(next, current.etag));
        return next;
      } catch (error) {
        const lostRace =
          error instanceof StoreError && (error.kind === 'PRECONDITION_FAILED' || error.kind === 'CONFLICT');
        if (!lostRace) throw error;
        this.reporter.warn(`${dataset}: the manifest changed during ${operation}; retrying`);
      }
    }
    throw new GoldStoreStateError(
      operation,
      `the manifest of ${dataset} kept changing (${MANIFEST_WRITE_ATTEMPTS} attempts)`,
    );
  }

  // ---------------------------------------------------------------------------------------------
  // status

  async status(): Promise<DatasetStatus[]> {
    let manifests: ManifestDocument[];
    try {
      manifests = await withRetry(this.retry, () => this.manifests.getAll());
    } catch (error) {
      // No database or manifests container yet: nothing was ever published.
      if (error instanceof StoreError && error.kind === 'NOT_FOUND') manifests = [];
      else throw error;
    }
    const now = this.now().getTime();
    const ageOf = (iso: string): number => Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
    return goldDatasetNames.map((dataset): DatasetStatus => {
      const manifest = manifests.find((candidate) => candidate.dataset === dataset);
      if (manifest === undefined) {
        return {
          dataset,
          published: false,
          activeSnapshotId: null,
          previousSnapshotId: null,
          completedAt: null,
          ageSeconds: null,
          documentCount: null,
          modelVersion: null,
          writing: [],
          pruning: [],
          snapshots: [],
        };
      }
      return {
        dataset,
        published: manifest.activeSnapshotId !== null,
        activeSnapshotId: manifest.activeSnapshotId,
        previousSnapshotId: manifest.previousSnapshotId,
        completedAt: manifest.completedAt,
        ageSeconds: manifest.completedAt === null ? null : ageOf(manifest.completedAt),
        documentCount: manifest.documentCount,
        modelVersion: manifest.modelVersion,
        writing: manifest.snapshots
          .filter((entry) => entry.state === 'WRITING')
          .map((entry) => ({
            snapshotId: entry.snapshotId,
            startedAt: entry.startedAt,
            ageSeconds: ageOf(entry.startedAt),
            documentCount: entry.documentCount,
          })),
        pruning: manifest.snapshots
          .filter((entry) => entry.state === 'PRUNING')
          .map((entry) => ({ snapshotId: entry.snapshotId, documentCount: entry.documentCount })),
        snapshots: manifest.snapshots,
      };
    });
  }

  // ---------------------------------------------------------------------------------------------
  // rollback

  async rollback(dataset: GoldDatasetName): Promise<RollbackResult> {
    const operation = `roll back ${dataset}`;
    const checkable = (current: VersionedManifest | null): { active: string; previous: SnapshotEntry } => {
      const manifest = current?.manifest;
      if (manifest === undefined || manifest.activeSnapshotId === null) {
        throw new GoldRefusedError(`${dataset} has never been published; there is nothing to roll back`);
      }
      if (manifest.previousSnapshotId === null) {
        throw new GoldRefusedError(
          `${dataset} has no previous snapshot to roll back to (active: ${manifest.activeSnapshotId}); nothing was changed`,
        );
      }
      const previous = manifest.snapshots.find((entry) => entry.snapshotId === manifest.previousSnapshotId);
      if (previous?.state === 'PRUNING') {
        // Cannot happen through the publisher (prune never marks the previous snapshot), but its
        // documents may be half deleted: never make it active.
        throw new GoldRefusedError(
          `${dataset}: previous snapshot ${previous.snapshotId} is being pruned (PRUNING) and cannot be rolled back to; nothing was changed`,
        );
      }
      if (previous?.state !== 'COMPLETE') {
        throw new GoldRefusedError(
          `${dataset}: previous snapshot ${manifest.previousSnapshotId} is not listed as COMPLETE in the manifest; nothing was changed`,
        );
      }
      return { active: manifest.activeSnapshotId, previous };
    };

    const { previous } = checkable(await withRetry(this.retry, () => this.manifests.get(dataset)));
    const stored = await withRetry(this.retry, () => this.store.countSnapshot(dataset, previous.snapshotId));
    if (stored !== previous.documentCount) {
      throw new GoldStoreStateError(
        operation,
        `previous snapshot ${previous.snapshotId} holds ${stored} documents, the manifest says ${previous.documentCount}; nothing was changed`,
      );
    }

    let result: RollbackResult | undefined;
    await this.updateManifest(dataset, operation, (current) => {
      const checked = checkable(current);
      if (checked.previous.snapshotId !== previous.snapshotId) {
        throw new GoldStoreStateError(
          operation,
          `the manifest of ${dataset} changed meanwhile; run the rollback again`,
        );
      }
      const manifest = (current as VersionedManifest).manifest;
      result = {
        dataset,
        from: checked.active,
        to: previous.snapshotId,
        completedAt: previous.completedAt,
      };
      return {
        ...manifest,
        activeSnapshotId: previous.snapshotId,
        previousSnapshotId: null,
        completedAt: previous.completedAt,
        documentCount: previous.documentCount,
        modelVersion: previous.modelVersion,
      };
    });
    const done = result as RollbackResult;
    this.reporter.info(
      `${dataset}: rolled back from ${done.from} to ${done.to} (completed ${done.completedAt ?? 'unknown'}); ${done.from} stays listed until pruned`,
    );
    return done;
  }

  // ---------------------------------------------------------------------------------------------
  // prune

  async prune(options: PruneOptions): Promise<PruneResult[]> {
    const datasets = options.dataset === undefined ? goldDatasetNames : [options.dataset];
    const results: PruneResult[] = [];
    for (const dataset of datasets) results.push(await this.pruneDataset(dataset, options));
    return results;
  }

  /**
   * Three steps, so that a reader that checks "is my snapshot still listed as COMPLETE?" after a
   * query never takes a half-deleted snapshot for a whole one:
   * 1. one conditional manifest write marks every candidate PRUNING (never readable again);
   * 2. their documents are deleted;
   * 3. one conditional manifest write removes their entries.
   * A prune interrupted after step 1 leaves the entries PRUNING; the next prune finishes them.
   */
  private async pruneDataset(dataset: GoldDatasetName, options: PruneOptions): Promise<PruneResult> {
    const result: PruneResult = { dataset, pruned: [], keptWriting: [] };
    const current = await withRetry(this.retry, () => this.manifests.get(dataset));
    if (current === null) {
      this.reporter.info(`${dataset}: never published; nothing to prune`);
      return result;
    }
    const { manifest } = current;
    const now = this.now().getTime();
    const graceMs = options.graceHours * 3_600_000;
    const kept = new Set([manifest.activeSnapshotId, manifest.previousSnapshotId]);
    const candidateIds = new Set<string>();
    for (const entry of manifest.snapshots) {
      if (kept.has(entry.snapshotId)) continue;
      switch (entry.state) {
        case 'COMPLETE':
        case 'PRUNING': // an interrupted prune: finish it, no grace period
          candidateIds.add(entry.snapshotId);
          break;
        case 'WRITING':
          if (now - Date.parse(entry.startedAt) >= graceMs) {
            candidateIds.add(entry.snapshotId);
          } else {
            result.keptWriting.push(entry.snapshotId);
            this.reporter.info(
              `${dataset}: keeping WRITING snapshot ${entry.snapshotId} (started ${entry.startedAt}, within the ${options.graceHours} h grace period)`,
            );
          }
          break;
      }
    }
    if (candidateIds.size === 0) {
      this.reporter.info(`${dataset}: nothing to prune`);
      return result;
    }

    // Step 1. Decided again on the latest manifest: a snapshot that became active or previous
    // meanwhile (a publish activated it) is kept, one that is gone is skipped.
    let marked: SnapshotEntry[] = [];
    await this.updateManifest(dataset, `mark snapshots of ${dataset} PRUNING`, (latest) => {
      if (latest === null) {
        marked = [];
        return null;
      }
      const stillKept = new Set([latest.manifest.activeSnapshotId, latest.manifest.previousSnapshotId]);
      marked = latest.manifest.snapshots.filter(
        (entry) => candidateIds.has(entry.snapshotId) && !stillKept.has(entry.snapshotId),
      );
      if (marked.every((entry) => entry.state === 'PRUNING')) return null;
      const markedIds = new Set(marked.map((entry) => entry.snapshotId));
      return {
        ...latest.manifest,
        snapshots: latest.manifest.snapshots.map((entry) =>
          markedIds.has(entry.snapshotId) ? { ...entry, state: 'PRUNING' } : entry,
        ),
      };
    });
    if (marked.length === 0) {
      this.reporter.info(`${dataset}: nothing to prune (the manifest changed meanwhile)`);
      return result;
    }
    this.reporter.info(`${dataset}: marked ${marked.map((entry) => entry.snapshotId).join(', ')} PRUNING`);

    // Step 2.
    for (const entry of marked) {
      const deleted = await this.deleteSnapshotDocuments(dataset, entry.snapshotId, options.concurrency);
      result.pruned.push({ snapshotId: entry.snapshotId, state: entry.state, documentsDeleted: deleted });
      this.reporter.info(
        entry.state === 'PRUNING'
          ? `${dataset}: finished pruning snapshot ${entry.snapshotId}, left PRUNING by an interrupted prune (${plural(deleted, 'document')} deleted)`
          : `${dataset}: pruned ${entry.state} snapshot ${entry.snapshotId} (${plural(deleted, 'document')} deleted)`,
      );
    }

    // Step 3. Only entries still PRUNING go (nothing moves a snapshot out of PRUNING; the check
    // guards against hand edits), and never the active or previous one.
    const prunedIds = new Set(result.pruned.map((entry) => entry.snapshotId));
    await this.updateManifest(dataset, `prune ${dataset}`, (latest) => {
      if (latest === null) return null;
      const stillKept = new Set([latest.manifest.activeSnapshotId, latest.manifest.previousSnapshotId]);
      const snapshots = latest.manifest.snapshots.filter(
        (entry) =>
          !prunedIds.has(entry.snapshotId) || entry.state !== 'PRUNING' || stillKept.has(entry.snapshotId),
      );
      if (snapshots.length === latest.manifest.snapshots.length) return null;
      return { ...latest.manifest, snapshots };
    });
    return result;
  }

  /** Deletes every document of a snapshot and checks none is left; returns how many were listed. */
  private async deleteSnapshotDocuments(
    dataset: GoldDatasetName,
    snapshotId: string,
    concurrency: number,
  ): Promise<number> {
    let deleted = 0;
    for (let round = 1; round <= 3; round += 1) {
      // Collect the refs first: deleting while paging could make a continuation skip documents.
      const refs: DocumentRef[] = await withRetry(this.retry, async () => {
        const all: DocumentRef[] = [];
        for await (const page of this.store.snapshotDocumentRefs(dataset, snapshotId)) all.push(...page);
        return all;
      });
      if (refs.length === 0) return deleted;
      const pool = new BoundedPool(concurrency);
      for (let start = 0; start < refs.length; start += BATCH_SIZE) {
        const batch = refs.slice(start, start + BATCH_SIZE);
        await pool.submit(() =>
          this.bulkWithRetry(
            dataset,
            `delete snapshot ${snapshotId}`,
            batch,
            (items) => this.store.deleteDocuments(dataset, items),
            true,
          ),
        );
      }
      await pool.drain();
      deleted += refs.length;
      const left = await withRetry(this.retry, () => this.store.countSnapshot(dataset, snapshotId));
      if (left === 0) return deleted;
    }
    throw new GoldStoreStateError(
      `delete snapshot ${snapshotId}`,
      `documents of it are still in ${goldDataset(dataset).container} after 3 rounds of deletes`,
    );
  }
}
