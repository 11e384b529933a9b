import type { Container, Database, OperationInput } from '@azure/cosmos';

import { StoreError, toStoreError } from '../modules/cosmos/cosmos.errors.js';
import {
  goldDataset,
  goldDatasetNames,
  MANIFESTS_CONTAINER,
  type GoldDatasetName,
} from './contract/gold-datasets.js';

/** One document to upsert, with the value of its container's partition key. */
export interface DocumentWrite {
  id: string;
  partitionKey: string;
  document: Record<string, unknown>;
}

/** Where a stored document is: its id and partition key value. */
export interface DocumentRef {
  id: string;
  partitionKey: string;
}

/** What happened to one operation of a bulk call. */
export interface BulkItemOutcome extends DocumentRef {
  /** HTTP status of the operation: 2xx done, 404 not found (delete), 429 throttled, ... */
  statusCode: number;
}

/** Cosmos executes at most 100 operations per bulk call. */
export const MAX_BULK_OPERATIONS = 100;

const MANIFEST_PARTITION_KEY_PATH = '/dataset';

/** `c["profileId"]` for `/profileId`: the partition key property of a container (one level). */
const partitionKeyExpression = (path: string): string => {
  const property = path.replace(/^\//, '');
  if (property === '' || property.includes('/')) throw new Error(`unsupported partition key path ${path}`);
  return `c[${JSON.stringify(property)}]`;
};

/**
 * The gold containers as the publisher sees them: creating them, writing and deleting documents in
 * bulk, and counting or listing the documents of one snapshot. Throws only {@link StoreError}.
 */
export class GoldStoreRepository {
  constructor(private readonly database: Database) {}

  private container(dataset: GoldDatasetName): Container {
    return this.database.container(goldDataset(dataset).container);
  }

  /** Creates the database, the five gold containers and `manifests` if missing; checks their partition keys. */
  async ensureContainers(): Promise<void> {
    try {
      await this.database.client.databases.createIfNotExists({ id: this.database.id });
    } catch (error) {
      throw toStoreError(error, `create database ${this.database.id}`);
    }
    const containers = [
      ...goldDatasetNames.map((name) => ({
        id: goldDataset(name).container,
        path: goldDataset(name).partitionKeyPath,
      })),
      { id: MANIFESTS_CONTAINER, path: MANIFEST_PARTITION_KEY_PATH },
    ];
    for (const { id, path } of containers) {
      let actual: string | undefined;
      try {
        const { resource } = await this.database.containers.createIfNotExists({
          id,
          partitionKey: { paths: [path] },
        });
        actual = resource?.partitionKey?.paths?.[0];
      } catch (error) {
        throw toStoreError(error, `create container ${id}`);
      }
      if (actual !== undefined && actual !== path) {
        throw new StoreError(
          'BAD_REQUEST',
          `create container ${id}: it exists with partition key ${actual}, expected ${path}`,
          undefined,
          undefined,
        );
      }
    }
  }

  private async bulk(
    dataset: GoldDatasetName,
    operation: string,
    refs: readonly DocumentRef[],
    operations: OperationInput[],
  ): Promise<BulkItemOutcome[]> {
    const container = this.container(dataset);
    const outcomes: BulkItemOutcome[] = [];
    for (let start = 0; start < operations.length; start += MAX_BULK_OPERATIONS) {
      const chunk = operations.slice(start, start + MAX_BULK_OPERATIONS);
      let responses;
      try {
        responses = await container.items.bulk(chunk, { continueOnError: true });
      } catch (error) {
        throw toStoreError(error, `${operation} in ${container.id}`);
      }
      chunk.forEach((_operation, index) => {
        const ref = refs[start + index] as DocumentRef;
        // A missing response means the call stopped before this operation: treat as unavailable.
        outcomes.push({ ...ref, statusCode: responses[index]?.statusCode ?? 503 });
      });
    }
    return outcomes;
  }

  /** Upserts documents (≤100 per bulk call, partition key on every operation); one outcome per document. */
  upsertDocuments(dataset: GoldDatasetName, writes: readonly DocumentWrite[]): Promise<BulkItemOutcome[]> {
    return this.bulk(
      dataset,
      'upsert documents',
      writes,
      writes.map((write) => ({
        operationType: 'Upsert',
        partitionKey: write.partitionKey,
        resourceBody: { ...write.document, id: write.id },
      })),
    );
  }

  /** Deletes documents in bulk; 404 outcomes mean the document was already gone. */
  deleteDocuments(dataset: GoldDatasetName, refs: readonly DocumentRef[]): Promise<BulkItemOutcome[]> {
    return this.bulk(
      dataset,
      'delete documents',
      refs,
      refs.map((ref) => ({ operationType: 'Delete', id: ref.id, partitionKey: ref.partitionKey })),
    );
  }

  /** How many documents of the dataset's container belong to the snapshot. */
  async countSnapshot(dataset: GoldDatasetName, snapshotId: string): Promise<number> {
    const container = this.container(dataset);
    try {
      const { resources } = await container.items
        .query<number>({
          query: 'SELECT VALUE COUNT(1) FROM c WHERE c.snapshotId = @snapshotId',
          parameters: [{ name: '@snapshotId', value: snapshotId }],
        })
        .fetchAll();
      return resources.reduce((sum, count) => sum + count, 0);
    } catch (error) {
      throw toStoreError(error, `count snapshot ${snapshotId} in ${container.id}`);
    }
  }

  /** The ids and partition key values of a snapshot's documents, page by page (continuation tokens). */
  async *snapshotDocumentRefs(
    dataset: GoldDatasetName,
    snapshotId: string,
    pageSize = 1000,
  ): AsyncGenerator<DocumentRef[]> {
    const spec = goldDataset(dataset);
    const container = this.container(dataset);
    const operation = `list documents of snapshot ${snapshotId} in ${container.id}`;
    let iterator;
    try {
      iterator = container.items.query<{ id: string; pk: unknown }>(
        {
          query: `SELECT c.id, ${partitionKeyExpression(spec.partitionKeyPath)} AS pk FROM c WHERE c.snapshotId = @snapshotId`,
          parameters: [{ name: '@snapshotId', value: snapshotId }],
        },
        { maxItemCount: pageSize },
      );
    } catch (error) {
      throw toStoreError(error, operation);
    }
    for (;;) {
      let page;
      try {
        if (!iterator.hasMoreResults()) return;
        page = await iterator.fetchNext();
      } catch (error) {
        throw toStoreError(error, operation);
      }
      const refs = page.resources.flatMap((row) =>
        typeof row.pk === 'string' ? [{ id: row.id, partitionKey: row.pk }] : [],
      );
      if (refs.length > 0) yield refs;
      if (page.resources.length === 0 && !iterator.hasMoreResults()) return;
    }
  }
}
