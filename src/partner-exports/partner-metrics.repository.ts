import { Injectable } from '@nestjs/common';
import { Database, type Container } from '@azure/cosmos';

import { goldDatasets } from '../gold/contract/gold-datasets.js';
import type { PartnerMetricRecord } from '../gold/contract/partner-metrics.schema.js';
import { toStoreError } from '../modules/cosmos/cosmos.errors.js';

export type PartnerMetricRow = Pick<PartnerMetricRecord, 'titleId' | 'day' | 'byCountry'>;

const PAGE_SIZE = 500;

/**
 * The `partner_metrics` gold container (partition `/partnerId`): one document per partner title and
 * day. Exports read one partner's partition with a single-partition query, page by page with
 * continuation tokens, so memory stays bounded however long the range.
 */
@Injectable()
export class PartnerMetricsRepository {
  private readonly container: Container;

  constructor(database: Database) {
    this.container = database.container(goldDatasets.partner_metrics.container);
  }

  /** The partner's metrics of `snapshotId` for days from..to (inclusive), in the partition's stable order. */
  async *pages(
    snapshotId: string,
    partnerId: string,
    from: string,
    to: string,
  ): AsyncGenerator<PartnerMetricRow[]> {
    const operation = `read partner metrics of ${partnerId}`;
    let continuation: string | undefined;
    do {
      let page;
      try {
        page = await this.container.items
          .query<PartnerMetricRow>(
            {
              query:
                'SELECT c.titleId, c.day, c.byCountry FROM c WHERE c.partnerId = @partnerId ' +
                'AND c.snapshotId = @snapshotId AND c.day >= @from AND c.day <= @to',
              parameters: [
                { name: '@partnerId', value: partnerId },
                { name: '@snapshotId', value: snapshotId },
                { name: '@from', value: from },
                { name: '@to', value: to },
              ],
            },
            {
              partitionKey: partnerId,
              maxItemCount: PAGE_SIZE,
              ...(continuation === undefined ? {} : { continuationToken: continuation }),
            },
          )
          .fetchNext();
      } catch (error) {
        throw toStoreError(error, operation);
      }
      if (page.resources.length > 0) yield page.resources;
      continuation = page.continuationToken ?? undefined;
    } while (continuation !== undefined);
  }
}
