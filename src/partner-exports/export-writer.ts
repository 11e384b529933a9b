import { createHash } from 'node:crypto';

import type { CatalogService } from '../catalog/catalog.service.js';
import type { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { BlobConflictError, type ExportBlobStore } from './export-blob.store.js';
import {
  contentTypeOf,
  encodeParts,
  TITLE_PERFORMANCE_COLUMNS,
  type TitlePerformanceRow,
} from './export-files.js';
import { exportFolder, type ExportFileRecord, type ExportRecord } from './export-record.js';
import type { PartnerMetricsRepository } from './partner-metrics.repository.js';

export const MANIFEST_FILE = '_manifest.json';
export const SUCCESS_FILE = '_SUCCESS';

/** An export that cannot succeed by trying again (its snapshot is gone, its folder holds other files). */
export class ExportFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportFailure';
  }
}

export interface ExportOutcome {
  rowCount: number;
  files: ExportFileRecord[];
  location: string;
}

/** What `_manifest.json` says; every field is fixed by the export record, so a retry writes the same bytes. */
export interface ExportManifest {
  partnerId: string;
  dataset: string;
  exportId: string;
  goldSnapshotId: string;
  from: string;
  to: string;
  format: string;
  requestedAt: string;
  schema: typeof TITLE_PERFORMANCE_COLUMNS;
  rowCount: number;
  files: ExportFileRecord[];
}

/**
 * Writes one export into its blob folder: part files in order, then `_manifest.json`, then
 * `_SUCCESS` last. Every file is created with a no-overwrite condition and the same export always
 * produces the same bytes (an immutable gold snapshot, deterministic encoding), so a retry after a
 * crash finds the parts it already wrote identical and goes on; a folder with `_SUCCESS` is never
 * written to again. (Title names come from the catalogue: should a new catalogue rename a title
 * between a crash and the retry, the retry's part differs from the one written, and the export
 * fails rather than overwrite it.)
 */
export class ExportWriter {
  constructor(
    private readonly metrics: PartnerMetricsRepository,
    private readonly blobs: ExportBlobStore,
    private readonly registry: SnapshotRegistry,
    private readonly catalog: CatalogService,
    private readonly partMaxRows: number,
  ) {}

  async write(record: ExportRecord, signal: AbortSignal): Promise<ExportOutcome> {
    const folder = exportFolder(record);
    const location = this.blobs.url(folder);
    const done = await this.blobs.read(`${folder}/${MANIFEST_FILE}`);
    if (done !== null && (await this.blobs.exists(`${folder}/${SUCCESS_FILE}`))) {
      const manifest = JSON.parse(done.toString('utf8')) as ExportManifest;
      return { rowCount: manifest.rowCount, files: manifest.files, location };
    }

    const files: ExportFileRecord[] = [];
    let rowCount = 0;
    const parts = encodeParts(this.rows(record), { format: record.format, maxRowsPerPart: this.partMaxRows });
    for await (const part of parts) {
      signal.throwIfAborted();
      const path = `${folder}/${part.fileName}`;
      await this.put(path, part.bytes, contentTypeOf(record.format));
      files.push({ path, rows: part.rows, bytes: part.bytes.byteLength, sha256: part.sha256 });
      rowCount += part.rows;
    }
    signal.throwIfAborted();
    // Read to the end: only now may the snapshot be known to have been whole while it was read.
    if (!(await this.registry.isReadable('partner_metrics', record.goldSnapshotId))) {
      throw new ExportFailure(
        `gold snapshot ${record.goldSnapshotId} was pruned before the export completed; request the export again`,
      );
    }

    const manifest: ExportManifest = {
      partnerId: record.partnerId,
      dataset: record.dataset,
      exportId: record.id,
      goldSnapshotId: record.goldSnapshotId,
      from: record.from,
      to: record.to,
      format: record.format,
      requestedAt: record.requestedAt,
      schema: TITLE_PERFORMANCE_COLUMNS,
      rowCount,
      files,
    };
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
    await this.put(`${folder}/${MANIFEST_FILE}`, manifestBytes, 'application/json');
    signal.throwIfAborted();
    const checksum = createHash('sha256').update(manifestBytes).digest('hex');
    await this.put(
      `${folder}/${SUCCESS_FILE}`,
      Buffer.from(`${MANIFEST_FILE} sha256 ${checksum}\n`),
      'text/plain',
    );
    return { rowCount, files, location };
  }

  /** The partner's rows, day by title by country, straight from its own partition of the gold. */
  private async *rows(record: ExportRecord): AsyncGenerator<TitlePerformanceRow> {
    for await (const page of this.metrics.pages(
      record.goldSnapshotId,
      record.partnerId,
      record.from,
      record.to,
    )) {
      for (const metric of page) {
        const titleName = this.titleName(metric.titleId);
        for (const entry of metric.byCountry) {
          yield {
            partnerId: record.partnerId,
            titleId: metric.titleId,
            titleName,
            day: metric.day,
            country: entry.country,
            views: entry.views,
            hoursViewed: entry.hoursViewed,
            completionRate: entry.completionRate,
          };
        }
      }
    }
  }

  /** The title's name in the current catalogue (the worker starts only once it is loaded); null if unknown. */
  private titleName(titleId: string): string | null {
    return this.catalog.getTitle(titleId)?.name ?? null;
  }

  private async put(path: string, bytes: Uint8Array, contentType: string): Promise<void> {
    try {
      await this.blobs.putIfAbsent(path, bytes, contentType);
    } catch (error) {
      if (error instanceof BlobConflictError) {
        throw new ExportFailure(`${path} already exists with other contents; it is never overwritten`);
      }
      throw error;
    }
  }
}
