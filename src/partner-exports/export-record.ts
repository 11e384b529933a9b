import { createHash } from 'node:crypto';

export const partnerDatasets = ['TITLE_PERFORMANCE'] as const;
export type PartnerDatasetName = (typeof partnerDatasets)[number];
export const exportFormats = ['PARQUET', 'CSV'] as const;
export type ExportFormat = (typeof exportFormats)[number];
export const exportStatuses = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export type ExportStatus = (typeof exportStatuses)[number];

/** The Cosmos container of export records (partition key `/partnerId`); not gold: the service owns it. */
export const EXPORTS_CONTAINER = 'exports';

export interface ExportFileRecord {
  /** Blob path inside the exports container. */
  path: string;
  rows: number;
  bytes: number;
  /** Lowercase hex. */
  sha256: string;
}

/** One partner export, as stored in the `exports` container. */
export interface ExportRecord {
  id: string;
  partnerId: string;
  dataset: PartnerDatasetName;
  /** First and last day covered (YYYY-MM-DD, inclusive). */
  from: string;
  to: string;
  format: ExportFormat;
  /** The partner_metrics snapshot the export reads, fixed when it is requested. */
  goldSnapshotId: string;
  trigger: 'REQUEST' | 'SCHEDULE';
  status: ExportStatus;
  /** Why it failed, for the partner to read. */
  error: string | null;
  rowCount: number | null;
  files: ExportFileRecord[];
  /** Blob folder of the export (URL). */
  location: string | null;
  requestedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  /** Times a worker has started it. */
  attempts: number;
  /** The worker writing it and until when; another worker may take it over after `until`. */
  lease: { owner: string; until: string } | null;
  /** Daily exports: the fencing token of the scheduler run that created it. */
  fence: number | null;
}

const digest = (parts: readonly (string | number)[]): string =>
  createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 24);

/**
 * The id of a requested export: the same partner, dataset, range, format and gold snapshot always
 * give the same id, so a repeated request finds the export it already made.
 */
export const requestedExportId = (
  key: Pick<ExportRecord, 'partnerId' | 'dataset' | 'from' | 'to' | 'format' | 'goldSnapshotId'>,
): string =>
  `exp-${digest(['request', key.partnerId, key.dataset, key.from, key.to, key.format, key.goldSnapshotId])}`;

/** The id of a partner's daily export of one day: one per day whatever the replica or snapshot. */
export const dailyExportId = (partnerId: string, dataset: PartnerDatasetName, day: string): string =>
  `daily-${digest(['daily', partnerId, dataset, day])}`;

/** The blob folder of an export (no trailing slash). */
export const exportFolder = (
  record: Pick<ExportRecord, 'partnerId' | 'dataset' | 'goldSnapshotId' | 'id'>,
): string =>
  `partner=${record.partnerId}/dataset=${record.dataset.toLowerCase()}/snapshot=${record.goldSnapshotId}/export=${record.id}`;
