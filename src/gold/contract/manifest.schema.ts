import { z } from 'zod';

import { GOLD_SCHEMA_VERSION, goldId, isoDateTime } from './common.schema.js';

/**
 * - `WRITING`: a publish is loading the snapshot's documents; not readable.
 * - `COMPLETE`: every document is in; the only state a reader may page through.
 * - `PRUNING`: set before any document is deleted; never readable again. The entry is removed once
 *   every document is gone (an interrupted prune leaves it `PRUNING` and the next prune finishes it).
 */
export const snapshotStates = ['WRITING', 'COMPLETE', 'PRUNING'] as const;

export const snapshotEntry = z.strictObject({
  snapshotId: goldId,
  state: z.enum(snapshotStates),
  startedAt: isoDateTime,
  completedAt: isoDateTime.nullable(),
  documentCount: z.number().int().min(0),
  modelVersion: z.string().max(200).nullable(),
});

/**
 * One per dataset, id = dataset name. Readers take `activeSnapshotId` from here; the publisher
 * changes it only with a conditional (ETag) write after every document of the snapshot is in.
 */
export const manifestDocument = z.strictObject({
  id: z.string(),
  dataset: z.string(),
  goldSchemaVersion: z.literal(GOLD_SCHEMA_VERSION),
  activeSnapshotId: goldId.nullable(),
  previousSnapshotId: goldId.nullable(),
  /** completedAt of the active snapshot: the dataset's age is measured from it. */
  completedAt: isoDateTime.nullable(),
  documentCount: z.number().int().min(0).nullable(),
  modelVersion: z.string().max(200).nullable(),
  /**
   * Every snapshot with documents in the store, oldest first. A prune marks its snapshots `PRUNING`
   * before deleting any document and removes them from this list once their documents are gone.
   */
  snapshots: z.array(snapshotEntry),
});

export type ManifestDocument = z.infer<typeof manifestDocument>;
export type SnapshotEntry = z.infer<typeof snapshotEntry>;
