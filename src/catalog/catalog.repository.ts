import { Injectable, Logger } from '@nestjs/common';
import { Database, type Container } from '@azure/cosmos';

import { catalogRecord, type CatalogRecord } from '../gold/contract/catalog.schema.js';
import { GOLD_SCHEMA_VERSION } from '../gold/contract/common.schema.js';
import { goldDatasets } from '../gold/contract/gold-datasets.js';
import { toStoreError } from '../modules/cosmos/cosmos.errors.js';

export interface LoadSnapshotOptions {
  /** Aborts the load between pages and the page request in flight. */
  signal?: AbortSignal;
  /** Documents per page (Cosmos `maxItemCount`). */
  pageSize?: number;
}

/** Fields the store adds around a record: Cosmos system properties start with `_`. */
const STORAGE_FIELDS = new Set(['id', 'snapshotId', 'goldSchemaVersion']);

const MAX_REPORTED_REJECTIONS = 5;

/**
 * The `catalog` container: one document per title per snapshot, id `${snapshotId}:${titleId}`,
 * partition key `/id`. The only catalogue code that talks to Cosmos DB.
 */
@Injectable()
export class CatalogRepository {
  private readonly logger = new Logger(CatalogRepository.name);
  private readonly container: Container;

  constructor(database: Database) {
    this.container = database.container(goldDatasets.catalog.container);
  }

  /**
   * Every title of a snapshot, read page by page with continuation tokens. The partition key is
   * the document id, so this is a cross-partition query: fine once per snapshot, never per request.
   * Documents that fail the contract are skipped and logged (the publisher validated them; one bad
   * document must not keep a whole catalogue out). Throws only StoreError.
   */
  async loadSnapshot(snapshotId: string, options: LoadSnapshotOptions = {}): Promise<CatalogRecord[]> {
    const records: CatalogRecord[] = [];
    const rejected: string[] = [];
    let rejectedCount = 0;
    const iterator = this.container.items.query<Record<string, unknown>>(
      {
        query: 'SELECT * FROM c WHERE c.snapshotId = @snapshotId',
        parameters: [{ name: '@snapshotId', value: snapshotId }],
      },
      {
        maxItemCount: options.pageSize ?? 1000,
        ...(options.signal === undefined ? {} : { abortSignal: options.signal }),
      },
    );
    try {
      for await (const page of iterator.getAsyncIterator()) {
        options.signal?.throwIfAborted();
        for (const document of page.resources) {
          const parsed = this.parse(document);
          if (typeof parsed === 'string') {
            rejectedCount++;
            if (rejected.length < MAX_REPORTED_REJECTIONS) rejected.push(parsed);
          } else {
            records.push(parsed);
          }
        }
      }
    } catch (error) {
      throw toStoreError(error, `load catalog snapshot ${snapshotId}`);
    }
    if (rejectedCount > 0) {
      this.logger.warn(
        `catalog snapshot ${snapshotId}: skipped ${rejectedCount} document(s) breaking the gold contract: ${rejected.join('; ')}`,
      );
    }
    return records;
  }

  /** The record of a stored document, or why it is not one. */
  private parse(document: Record<string, unknown>): CatalogRecord | string {
    const id = typeof document['id'] === 'string' ? document['id'] : '(no id)';
    if (document['goldSchemaVersion'] !== GOLD_SCHEMA_VERSION) {
      return `${id}: goldSchemaVersion ${String(document['goldSchemaVersion'])} is not ${GOLD_SCHEMA_VERSION}`;
    }
    const record = Object.fromEntries(
      Object.entries(document).filter(([key]) => !key.startsWith('_') && !STORAGE_FIELDS.has(key)),
    );
    const result = catalogRecord.safeParse(record);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    return `${id}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`.trim();
  }
}
