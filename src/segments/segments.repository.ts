import { Injectable } from '@nestjs/common';
import { Database, type Container } from '@azure/cosmos';

import { documentId, goldDatasets } from '../gold/contract/gold-datasets.js';
import type { SegmentDefinitionRecord, SegmentMemberRecord } from '../gold/contract/segments.schema.js';
import { toStoreError } from '../modules/cosmos/cosmos.errors.js';

/** The fields of a member document the service reads; nothing else of it is ever fetched. */
export type MemberRow = Pick<
  SegmentMemberRecord,
  'profileId' | 'accountId' | 'country' | 'language' | 'marketingConsent'
>;

export interface MemberDocumentsPage {
  rows: MemberRow[];
  /** Continuation of the next Cosmos page; null after the partition's last page. */
  continuation: string | null;
}

const DEFINITIONS_PAGE_SIZE = 100;

/**
 * The `segments` container: partition `/segmentId`; in each partition the segment's definition
 * (id `${snapshotId}:${segmentId}`) and one document per member (`${snapshotId}:${segmentId}:${profileId}`).
 * Member pages are single-partition queries resumed with Cosmos continuation tokens, never OFFSET,
 * so a page deep into a large segment costs what the first one does.
 */
@Injectable()
export class SegmentsRepository {
  private readonly container: Container;

  constructor(database: Database) {
    this.container = database.container(goldDatasets.segments.container);
  }

  /**
   * Every segment definition of a snapshot. The one cross-partition query of the feature: it reads
   * the small definition documents only, once per snapshot (the service keeps the result).
   */
  async definitions(snapshotId: string): Promise<SegmentDefinitionRecord[]> {
    const operation = `list segment definitions of snapshot ${snapshotId}`;
    try {
      const iterator = this.container.items.query<SegmentDefinitionRecord>(
        {
          query:
            'SELECT c.type, c.segmentId, c.name, c.description, c.definition, c.size, c.reachableSize, c.refreshedAt ' +
            "FROM c WHERE c.snapshotId = @snapshotId AND c.type = 'definition'",
          parameters: [{ name: '@snapshotId', value: snapshotId }],
        },
        { maxItemCount: DEFINITIONS_PAGE_SIZE },
      );
      const definitions: SegmentDefinitionRecord[] = [];
      while (iterator.hasMoreResults()) {
        const page = await iterator.fetchNext();
        definitions.push(...page.resources);
      }
      return definitions;
    } catch (error) {
      throw toStoreError(error, operation);
    }
  }

  /**
   * One Cosmos page of a segment's member documents in `snapshotId`, in the partition's stable
   * order, starting at `continuation` (null: the first page). Consent is not filtered here: the
   * caller checks every row.
   */
  async memberPage(
    snapshotId: string,
    segmentId: string,
    maxItemCount: number,
    continuation: string | null,
  ): Promise<MemberDocumentsPage> {
    try {
      const page = await this.container.items
        .query<MemberRow>(
          {
            query:
              'SELECT c.profileId, c.accountId, c.country, c.language, c.marketingConsent FROM c ' +
              "WHERE c.segmentId = @segmentId AND c.snapshotId = @snapshotId AND c.type = 'member'",
            parameters: [
              { name: '@segmentId', value: segmentId },
              { name: '@snapshotId', value: snapshotId },
            ],
          },
          {
            partitionKey: segmentId,
            maxItemCount,
            ...(continuation === null ? {} : { continuationToken: continuation }),
          },
        )
        .fetchNext();
      return { rows: page.resources, continuation: page.continuationToken ?? null };
    } catch (error) {
      throw toStoreError(error, `read members of segment ${segmentId}`);
    }
  }

  /** A profile's member document in one segment (a point read), or null when it is not a member. */
  async member(snapshotId: string, segmentId: string, profileId: string): Promise<MemberRow | null> {
    try {
      const { resource } = await this.container
        .item(documentId(snapshotId, `${segmentId}:${profileId}`), segmentId)
        .read<SegmentMemberRecord>();
      if (resource === undefined || resource.type !== 'member') return null;
      const { accountId, country, language, marketingConsent } = resource;
      return { profileId: resource.profileId, accountId, country, language, marketingConsent };
    } catch (error) {
      throw toStoreError(error, `read membership of ${profileId} in segment ${segmentId}`);
    }
  }
}
