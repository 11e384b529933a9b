import { Injectable } from '@nestjs/common';
import { Database, type Container, type ItemDefinition } from '@azure/cosmos';

import { StoreError, toStoreError } from '../modules/cosmos/cosmos.errors.js';
import { EXPORTS_CONTAINER, type ExportRecord } from './export-record.js';

/** A record with the ETag it was read with, for conditional writes. */
export interface StoredExport {
  record: ExportRecord;
  etag: string;
}

export interface ExportsPage {
  records: ExportRecord[];
  continuation: string | null;
}

const FIELDS: readonly (keyof ExportRecord)[] = [
  'id',
  'partnerId',
  'dataset',
  'from',
  'to',
  'format',
  'goldSnapshotId',
  'trigger',
  'status',
  'error',
  'rowCount',
  'files',
  'location',
  'requestedAt',
  'startedAt',
  'completedAt',
  'attempts',
  'lease',
  'fence',
];

const toRecord = (document: ItemDefinition): ExportRecord =>
  Object.fromEntries(FIELDS.map((field) => [field, document[field] as unknown])) as unknown as ExportRecord;

/**
 * The `exports` container: one document per export, partition key `/partnerId`. A partner's
 * listing is a single-partition query; only operators list across partners. State changes are
 * conditional on the ETag, so two workers never both take or finish an export.
 */
@Injectable()
export class ExportRecordsRepository {
  private readonly container: Container;

  constructor(private readonly database: Database) {
    this.container = database.container(EXPORTS_CONTAINER);
  }

  /** Creates the container when missing (key auth: the demo, the tests; in Azure the template does). */
  async ensureContainer(): Promise<void> {
    try {
      await this.database.client.databases.createIfNotExists({ id: this.database.id });
      await this.database.containers.createIfNotExists({
        id: EXPORTS_CONTAINER,
        partitionKey: { paths: ['/partnerId'] },
      });
    } catch (error) {
      throw toStoreError(error, `create container ${EXPORTS_CONTAINER}`);
    }
  }

  /** Stores a new record; when one with its id exists already, returns that one instead. */
  async createOrGet(record: ExportRecord): Promise<{ stored: StoredExport; created: boolean }> {
    try {
      const { resource, etag } = await this.container.items.create(record);
      return { stored: { record: toRecord(resource!), etag }, created: true };
    } catch (error) {
      const failure = toStoreError(error, `create export ${record.id}`);
      if (failure.kind !== 'CONFLICT') throw failure;
    }
    const existing = await this.get(record.partnerId, record.id);
    if (existing === null) {
      throw new StoreError(
        'OTHER',
        `export ${record.id} conflicted on create but cannot be read`,
        409,
        undefined,
      );
    }
    return { stored: existing, created: false };
  }

  async get(partnerId: string, id: string): Promise<StoredExport | null> {
    try {
      const { resource, etag } = await this.container.item(id, partnerId).read<ItemDefinition>();
      return resource === undefined ? null : { record: toRecord(resource), etag };
    } catch (error) {
      throw toStoreError(error, `read export ${id}`);
    }
  }

  /** An export by id whatever its partner (operators): a cross-partition query. */
  async findById(id: string): Promise<ExportRecord | null> {
    try {
      const { resources } = await this.container.items
        .query<ItemDefinition>({
          query: 'SELECT * FROM c WHERE c.id = @id',
          parameters: [{ name: '@id', value: id }],
        })
        .fetchAll();
      return resources[0] === undefined ? null : toRecord(resources[0]);
    } catch (error) {
      throw toStoreError(error, `find export ${id}`);
    }
  }

  /** Replaces the record if it still has `etag`; null when someone else changed it first. */
  async replaceIf(record: ExportRecord, etag: string): Promise<StoredExport | null> {
    try {
      const { resource, etag: next } = await this.container
        .item(record.id, record.partnerId)
        .replace(record, { accessCondition: { type: 'IfMatch', condition: etag } });
      return { record: toRecord(resource!), etag: next };
    } catch (error) {
      const failure = toStoreError(error, `update export ${record.id}`);
      if (failure.kind === 'PRECONDITION_FAILED') return null;
      throw failure;
    }
  }

  /** A partner's exports, newest request first; `partnerId` undefined lists every partner's (operators). */
  async list(
    partnerId: string | undefined,
    maxItemCount: number,
    continuation: string | null,
  ): Promise<ExportsPage> {
    const operation = partnerId === undefined ? 'list exports' : `list exports of ${partnerId}`;
    try {
      const page = await this.container.items
        .query<ItemDefinition>(
          partnerId === undefined
            ? 'SELECT * FROM c ORDER BY c.requestedAt DESC'
            : {
                query: 'SELECT * FROM c WHERE c.partnerId = @partnerId ORDER BY c.requestedAt DESC',
                parameters: [{ name: '@partnerId', value: partnerId }],
              },
          {
            maxItemCount,
            ...(partnerId === undefined ? {} : { partitionKey: partnerId }),
            ...(continuation === null ? {} : { continuationToken: continuation }),
          },
        )
        .fetchNext();
      return { records: page.resources.map(toRecord), continuation: page.continuationToken ?? null };
    } catch (error) {
      throw toStoreError(error, operation);
    }
  }

  /**
   * Exports a worker may take: queued ones, and running ones whose lease has run out (their worker
   * died). Oldest request first. The one cross-partition query of the worker, over a small container.
   */
  async findWork(now: Date, limit: number): Promise<StoredExport[]> {
    try {
      const { resources } = await this.container.items
        .query<ItemDefinition>(
          {
            query:
              "SELECT * FROM c WHERE c.status = 'QUEUED' OR (c.status = 'RUNNING' AND c.lease.until < @now) " +
              'ORDER BY c.requestedAt',
            parameters: [{ name: '@now', value: now.toISOString() }],
          },
          { maxItemCount: limit },
        )
        .fetchNext();
      return resources.map((document) => ({ record: toRecord(document), etag: document._etag as string }));
    } catch (error) {
      throw toStoreError(error, 'find exports to write');
    }
  }
}
