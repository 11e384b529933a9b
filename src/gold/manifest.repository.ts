import { Injectable } from '@nestjs/common';
import { Database, type Container } from '@azure/cosmos';

import { toStoreError } from '../modules/cosmos/cosmos.errors.js';
import { MANIFESTS_CONTAINER, type GoldDatasetName } from './contract/gold-datasets.js';
import { manifestDocument, type ManifestDocument } from './contract/manifest.schema.js';

export interface VersionedManifest {
  manifest: ManifestDocument;
  etag: string;
}

/** Drops Cosmos system properties (`_rid`, `_etag`, …), which the strict schema would refuse. */
const parseManifest = (resource: unknown): ManifestDocument =>
  manifestDocument.parse(
    Object.fromEntries(
      Object.entries(resource as Record<string, unknown>).filter(([key]) => !key.startsWith('_')),
    ),
  );

/** The `manifests` container: one document per dataset, partition key `/dataset`, id = dataset. */
@Injectable()
export class ManifestRepository {
  private readonly container: Container;

  constructor(database: Database) {
    this.container = database.container(MANIFESTS_CONTAINER);
  }

  async get(dataset: GoldDatasetName): Promise<VersionedManifest | null> {
    try {
      const { resource, etag, statusCode } = await this.container
        .item(dataset, dataset)
        .read<Record<string, unknown>>();
      if (statusCode === 404 || resource === undefined) return null;
      return { manifest: parseManifest(resource), etag };
    } catch (error) {
      throw toStoreError(error, `read manifest ${dataset}`);
    }
  }

  async getAll(): Promise<ManifestDocument[]> {
    try {
      const { resources } = await this.container.items.readAll<Record<string, unknown>>().fetchAll();
      return resources.map(parseManifest).sort((a, b) => a.dataset.localeCompare(b.dataset));
    } catch (error) {
      const storeError = toStoreError(error, 'read manifests');
      // No manifests container yet: nothing has been published.
      if (storeError.kind === 'NOT_FOUND') return [];
      throw storeError;
    }
  }

  /** Creates the manifest; fails with CONFLICT when another writer created it first. */
  async create(manifest: ManifestDocument): Promise<string> {
    try {
      const { etag } = await this.container.items.create(manifest);
      return etag;
    } catch (error) {
      throw toStoreError(error, `create manifest ${manifest.dataset}`);
    }
  }

  /** Replaces the manifest only if it is still at `etag`; fails with PRECONDITION_FAILED otherwise. */
  async replace(manifest: ManifestDocument, etag: string): Promise<string> {
    try {
      const response = await this.container
        .item(manifest.id, manifest.dataset)
        .replace(manifest, { accessCondition: { type: 'IfMatch', condition: etag } });
      return response.etag;
    } catch (error) {
      throw toStoreError(error, `replace manifest ${manifest.dataset}`);
    }
  }
}
