import type { z } from 'zod';

import { catalogRecord, type CatalogRecord } from './catalog.schema.js';
import { GOLD_SCHEMA_VERSION } from './common.schema.js';
import { partnerMetricRecord, type PartnerMetricRecord } from './partner-metrics.schema.js';
import { popularRecord, type PopularRecord } from './popular.schema.js';
import { profileRecord, type ProfileRecord } from './profiles.schema.js';
import { segmentRecord, type SegmentRecord } from './segments.schema.js';

export const goldDatasetNames = ['catalog', 'profiles', 'popular', 'segments', 'partner_metrics'] as const;
export type GoldDatasetName = (typeof goldDatasetNames)[number];

export const MANIFESTS_CONTAINER = 'manifests';

export interface GoldDatasetSpec<TRecord> {
  name: GoldDatasetName;
  /** Cosmos container the documents live in. */
  container: string;
  /** Partition key path of that container. */
  partitionKeyPath: string;
  schema: z.ZodType<TRecord>;
  /** The part of the document id after `${snapshotId}:`; unique within a snapshot. */
  keyOf(record: TRecord): string;
  /** Value of the partition key of the stored document. */
  partitionKeyOf(record: TRecord, id: string): string;
}

/** A stored gold document: the record plus its snapshot-scoped id. */
export type GoldDocument<TRecord> = TRecord & { id: string; snapshotId: string; goldSchemaVersion: number };

const catalog: GoldDatasetSpec<CatalogRecord> = {
  name: 'catalog',
  container: 'catalog',
  partitionKeyPath: '/id',
  schema: catalogRecord,
  keyOf: (record) => record.titleId,
  partitionKeyOf: (_record, id) => id,
};

const profiles: GoldDatasetSpec<ProfileRecord> = {
  name: 'profiles',
  container: 'profiles',
  partitionKeyPath: '/profileId',
  schema: profileRecord,
  keyOf: (record) => record.profileId,
  partitionKeyOf: (record) => record.profileId,
};

const popular: GoldDatasetSpec<PopularRecord> = {
  name: 'popular',
  container: 'popular',
  partitionKeyPath: '/country',
  schema: popularRecord,
  keyOf: (record) => `${record.country}:${record.device}`,
  partitionKeyOf: (record) => record.country,
};

const segments: GoldDatasetSpec<SegmentRecord> = {
  name: 'segments',
  container: 'segments',
  partitionKeyPath: '/segmentId',
  schema: segmentRecord,
  // Unique across partitions too, so the publisher's duplicate check needs no partition context.
  keyOf: (record) =>
    record.type === 'definition' ? record.segmentId : `${record.segmentId}:${record.profileId}`,
  partitionKeyOf: (record) => record.segmentId,
};

const partnerMetrics: GoldDatasetSpec<PartnerMetricRecord> = {
  name: 'partner_metrics',
  container: 'partner_metrics',
  partitionKeyPath: '/partnerId',
  schema: partnerMetricRecord,
  keyOf: (record) => `${record.titleId}:${record.day}`,
  partitionKeyOf: (record) => record.partnerId,
};

export const goldDatasets = {
  catalog,
  profiles,
  popular,
  segments,
  partner_metrics: partnerMetrics,
} as const;

export const goldDataset = (name: GoldDatasetName): GoldDatasetSpec<unknown> => goldDatasets[name];

export const isGoldDatasetName = (value: string): value is GoldDatasetName =>
  (goldDatasetNames as readonly string[]).includes(value);

export const documentId = (snapshotId: string, key: string): string => `${snapshotId}:${key}`;

export const toGoldDocument = <TRecord>(
  spec: GoldDatasetSpec<TRecord>,
  record: TRecord,
  snapshotId: string,
): GoldDocument<TRecord> => ({
  ...record,
  id: documentId(snapshotId, spec.keyOf(record)),
  snapshotId,
  goldSchemaVersion: GOLD_SCHEMA_VERSION,
});
