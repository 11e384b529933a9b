import { randomUUID } from 'node:crypto';

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';

import { CatalogService } from '../catalog/catalog.service.js';
import { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';
import { Counters } from '../modules/telemetry/counters.service.js';
import { ExportBlobStore } from './export-blob.store.js';
import type { ExportRecord } from './export-record.js';
import { ExportRecordsRepository, type StoredExport } from './export-records.repository.js';
import { ExportFailure, ExportWriter } from './export-writer.js';
import { PartnerMetricsRepository } from './partner-metrics.repository.js';

/** Starts of one export before it is failed for good. */
export const MAX_ATTEMPTS = 5;
export const EXPORT_OUTCOMES_METRIC = 'partner_exports_total';

/**
 * Writes queued exports, a few at a time per replica. An export is taken with a conditional write
 * (status RUNNING, a lease naming this worker), the lease is renewed while it is written, and the
 * final state is written conditionally too: if the lease was lost (this process stalled and another
 * replica took over) the work stops and the other replica's result stands. A replica that dies
 * leaves a RUNNING export whose lease runs out; the next worker takes it and completes it.
 */
@Injectable()
export class ExportWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExportWorker.name);
  private readonly owner = `${process.pid}-${randomUUID()}`;
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private writer: ExportWriter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly records: ExportRecordsRepository,
    private readonly metrics: PartnerMetricsRepository,
    private readonly registry: SnapshotRegistry,
    private readonly catalog: CatalogService,
    private readonly counters: Counters,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { storage, workerConcurrency, partMaxRows, pollMs } = this.config.exports;
    if (storage === undefined) {
      this.logger.log('partner exports are off (no EXPORTS_STORAGE_* configured)');
      return;
    }
    if (this.config.cosmos.key !== undefined) {
      await this.records.ensureContainer().catch((error: unknown) => {
        this.logger.warn(`cannot create the exports container: ${(error as Error).message}`);
      });
    }
    const blobs = ExportBlobStore.fromConfig(storage);
    await blobs.ensureContainer().catch((error: unknown) => {
      this.logger.warn(`cannot create the blob container ${storage.container}: ${(error as Error).message}`);
    });
    this.writer = new ExportWriter(this.metrics, blobs, this.registry, this.catalog, partMaxRows);
    if (workerConcurrency === 0) return;
    this.timer = setInterval(() => this.wake(), pollMs);
    this.timer.unref();
    this.wake();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.polling;
    // Stop writing; the lease runs out and another replica (or this one, restarted) completes the export.
    for (const { abort } of this.running.values()) abort.abort();
    await Promise.allSettled([...this.running.values()].map(({ done }) => done));
  }

  /** Looks for work now (after a request, rather than at the next poll). */
  wake(): void {
    if (this.stopped || this.writer === undefined || this.config.exports.workerConcurrency === 0) return;
    this.polling ??= this.poll().finally(() => (this.polling = undefined));
  }

  private async poll(): Promise<void> {
    // Files carry title names: never start one before the catalogue is in memory.
    if (!this.catalog.isReady()) return;
    const free = this.config.exports.workerConcurrency - this.running.size;
    if (free <= 0) return;
    let candidates: StoredExport[];
    try {
      candidates = await this.records.findWork(new Date(), free * 2);
    } catch (error) {
      this.logger.warn(`cannot look for exports to write: ${(error as Error).message}`);
      return;
    }
    for (const candidate of candidates) {
      if (this.running.size >= this.config.exports.workerConcurrency || this.stopped) return;
      if (this.running.has(candidate.record.id)) continue;
      const claimed = await this.claim(candidate).catch((error: unknown) => {
        this.logger.warn(`cannot take export ${candidate.record.id}: ${(error as Error).message}`);
        return null;
      });
      if (claimed === null) continue;
      const abort = new AbortController();
      const done = this.run(claimed, abort).finally(() => {
        this.running.delete(claimed.record.id);
        this.wake();
      });
      this.running.set(claimed.record.id, { abort, done });
    }
  }

  /** Takes an export with a conditional write; null when another worker was first. */
  private async claim({ record, etag }: StoredExport): Promise<StoredExport | null> {
    if (record.attempts >= MAX_ATTEMPTS) {
      await this.records.replaceIf(
        {
          ...record,
          status: 'FAILED',
          error: `gave up after ${record.attempts} attempts${record.error === null ? '' : `: ${record.error}`}`,
          lease: null,
          completedAt: new Date().toISOString(),
        },
        etag,
      );
      this.counters.increment(EXPORT_OUTCOMES_METRIC, { outcome: 'failed' });
      return null;
    }
    return this.records.replaceIf(
      {
        ...record,
        status: 'RUNNING',
        attempts: record.attempts + 1,
        startedAt: record.startedAt ?? new Date().toISOString(),
        lease: this.lease(),
      },
      etag,
    );
  }

  private lease(): ExportRecord['lease'] {
    return { owner: this.owner, until: new Date(Date.now() + this.config.exports.leaseMs).toISOString() };
  }

  private async run(claimed: StoredExport, abort: AbortController): Promise<void> {
    let current = claimed;
    const id = claimed.record.id;
    // One conditional write at a time: heartbeats and the final state share the ETag chain.
    let writes = Promise.resolve();
    const update = (change: (record: ExportRecord) => ExportRecord): Promise<boolean> => {
      const result = writes.then(async () => {
        const next = await this.records.replaceIf(change(current.record), current.etag);
        if (next === null) {
          abort.abort();
          return false;
        }
        current = next;
        return true;
      });
      writes = result.then(
        () => undefined,
        () => undefined,
      );
      return result;
    };
    const heartbeat = setInterval(
      () => {
        update((record) => ({ ...record, lease: this.lease() })).catch((error: unknown) =>
          this.logger.warn(`cannot renew the lease of export ${id}: ${(error as Error).message}`),
        );
      },
      Math.max(100, Math.floor(this.config.exports.leaseMs / 3)),
    );
    heartbeat.unref();

    try {
      const outcome = await this.writer!.write(claimed.record, abort.signal);
      clearInterval(heartbeat);
      const finished = await update((record) => ({
        ...record,
        status: 'SUCCEEDED',
        error: null,
        rowCount: outcome.rowCount,
        files: outcome.files,
        location: outcome.location,
        completedAt: new Date().toISOString(),
        lease: null,
      }));
      if (finished) {
        this.counters.increment(EXPORT_OUTCOMES_METRIC, { outcome: 'succeeded' });
        this.logger.log(
          `export ${id} of ${claimed.record.partnerId}: ${outcome.rowCount} rows in ${outcome.files.length} parts`,
        );
      }
    } catch (error) {
      clearInterval(heartbeat);
      if (abort.signal.aborted) {
        this.logger.warn(
          `export ${id} stopped (lease lost or shutting down); another attempt will complete it`,
        );
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof ExportFailure;
      this.logger.warn(`export ${id} ${permanent ? 'failed' : 'will be retried'}: ${message}`);
      await update((record) =>
        permanent
          ? {
              ...record,
              status: 'FAILED',
              error: message,
              lease: null,
              completedAt: new Date().toISOString(),
            }
          : { ...record, status: 'QUEUED', error: message, lease: null },
      ).catch((failure: unknown) =>
        this.logger.warn(`cannot record the outcome of export ${id}: ${(failure as Error).message}`),
      );
      this.counters.increment(EXPORT_OUTCOMES_METRIC, { outcome: permanent ? 'failed' : 'retried' });
    }
  }
}
