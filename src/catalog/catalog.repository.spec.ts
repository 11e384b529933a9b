import type { CosmosClient, Database } from '@azure/cosmos';
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { startEmbeddedCosmos, type EmbeddedCosmos } from '../dev/embedded-cosmos.js';
import { goldDatasets, toGoldDocument } from '../gold/contract/gold-datasets.js';
import { createCosmosClient } from '../modules/cosmos/cosmos-client.factory.js';
import { StoreError } from '../modules/cosmos/cosmos.errors.js';
import { CatalogRepository } from './catalog.repository.js';
import { catalogRecordOf } from './testing/catalog-records.js';

// Runs against the embedded Cosmos-compatible server (a query there costs no request units): this
// proves paging, filtering by snapshot and parsing, not RU costs.
describe(CatalogRepository.name, () => {
  let cosmos: EmbeddedCosmos;
  let client: CosmosClient;
  let database: Database;
  let sut: CatalogRepository;
  const snapshot1 = Array.from({ length: 23 }, (_, i) =>
    catalogRecordOf({ titleId: `t${i}`, name: `Title ${i}`, cast: [`Actor ${i}`] }),
  );
  const snapshot2 = [catalogRecordOf({ titleId: 't0', name: 'Renamed' })];

  beforeAll(async () => {
    cosmos = await startEmbeddedCosmos();
    client = createCosmosClient({
      endpoint: cosmos.endpoint,
      key: cosmos.key,
      database: 'flick-gold',
      preferredRegions: [],
      caCertificate: cosmos.caCertificate,
      maxRetries: 0,
      maxRetryWaitSeconds: 1,
      requestTimeoutMs: 5000,
    });
    ({ database } = await client.databases.createIfNotExists({ id: 'flick-gold' }));
    const { container } = await database.containers.createIfNotExists({
      id: goldDatasets.catalog.container,
      partitionKey: { paths: [goldDatasets.catalog.partitionKeyPath] },
    });
    for (const [snapshotId, records] of [
      ['s1', snapshot1],
      ['s2', snapshot2],
    ] as const) {
      for (const record of records)
        await container.items.create(toGoldDocument(goldDatasets.catalog, record, snapshotId));
    }
    // Documents that break the contract: skipped, never loaded.
    await container.items.create({
      ...toGoldDocument(goldDatasets.catalog, snapshot1[0]!, 's1'),
      id: 's1:bad',
      name: '',
    });
    await container.items.create({
      ...toGoldDocument(goldDatasets.catalog, snapshot1[1]!, 's1'),
      id: 's1:v2',
      goldSchemaVersion: 2,
    });
    sut = new CatalogRepository(database);
  });

  afterAll(async () => {
    client.dispose();
    await cosmos.close();
  });

  it('loads every valid title of one snapshot across pages, without storage fields', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const records = await sut.loadSnapshot('s1', { pageSize: 5 });
    expect(records.sort((a, b) => Number(a.titleId.slice(1)) - Number(b.titleId.slice(1)))).toEqual(
      snapshot1,
    );
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/s1: skipped 2 document\(s\).*s1:bad: name.*s1:v2: goldSchemaVersion 2/),
    );
    warn.mockRestore();

    expect(await sut.loadSnapshot('s2')).toEqual(snapshot2);
    expect(await sut.loadSnapshot('s3')).toEqual([]);
  });

  it('stops when aborted, failing with a StoreError', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(sut.loadSnapshot('s1', { signal: controller.signal, pageSize: 5 })).rejects.toBeInstanceOf(
      StoreError,
    );
  });

  it('fails with a StoreError when the container does not exist', async () => {
    const missing = new CatalogRepository(client.database('no-such-database'));
    await expect(missing.loadSnapshot('s1')).rejects.toMatchObject({ name: 'StoreError', kind: 'NOT_FOUND' });
  });
});
