import { Injectable } from '@nestjs/common';
import { Database, type Container } from '@azure/cosmos';

import type { DeviceClass } from '../gold/contract/common.schema.js';
import { documentId, goldDatasets } from '../gold/contract/gold-datasets.js';
import type { PopularRecord } from '../gold/contract/popular.schema.js';
import { toStoreError } from '../modules/cosmos/cosmos.errors.js';

/** The `popular` container: id `${snapshotId}:${country}:${device}`, partition key `/country`. */
@Injectable()
export class PopularRepository {
  private readonly container: Container;

  constructor(database: Database) {
    this.container = database.container(goldDatasets.popular.container);
  }

  /** Ranked title ids for the country and device class, or null when the snapshot has no list. */
  async get(
    snapshotId: string,
    country: string,
    device: DeviceClass,
    signal?: AbortSignal,
  ): Promise<readonly string[] | null> {
    try {
      const { resource } = await this.container
        .item(documentId(snapshotId, `${country}:${device}`), country)
        .read<PopularRecord>(signal === undefined ? undefined : { abortSignal: signal });
      return resource?.titleIds ?? null;
    } catch (error) {
      throw toStoreError(error, `read popular list ${country}/${device}`);
    }
  }
}
