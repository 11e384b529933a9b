import { Injectable } from '@nestjs/common';
import { Database, type Container } from '@azure/cosmos';

import { documentId, goldDatasets } from '../gold/contract/gold-datasets.js';
import type { ProfileRecord } from '../gold/contract/profiles.schema.js';
import { toStoreError } from '../modules/cosmos/cosmos.errors.js';

/**
 * The `profiles` container: one document per profile per snapshot, id `${snapshotId}:${profileId}`,
 * partition key `/profileId`. The device path reads it with one point read, never a query.
 */
@Injectable()
export class ProfileRepository {
  private readonly container: Container;

  constructor(database: Database) {
    this.container = database.container(goldDatasets.profiles.container);
  }

  /** The profile's gold in `snapshotId`, or null when the snapshot has none (a new member). */
  async get(snapshotId: string, profileId: string, signal?: AbortSignal): Promise<ProfileRecord | null> {
    try {
      const { resource } = await this.container
        .item(documentId(snapshotId, profileId), profileId)
        .read<ProfileRecord>(signal === undefined ? undefined : { abortSignal: signal });
      return resource ?? null;
    } catch (error) {
      throw toStoreError(error, `read profile ${profileId}`);
    }
  }
}
