import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { goldDatasetNames, type GoldDatasetName } from '../gold/contract/gold-datasets.js';
import { GoldStoreRepository } from '../gold/gold-store.repository.js';
import { ManifestRepository } from '../gold/manifest.repository.js';
import type { CosmosConfig } from '../modules/config/app-config.js';
import { createCosmosClient } from '../modules/cosmos/cosmos-client.factory.js';
import {
  GoldPublisher,
  type PublisherReporter,
  type PublishResult,
} from '../gold/publisher/gold-publisher.js';
import {
  buildSampleGold,
  SAMPLE_GOLD_FILES,
  type SampleGoldOptions,
  type SampleGoldReport,
} from '../gold/sample/sample-gold.builder.js';

export interface SampleGoldLoad {
  /** The builder's report, or undefined when an identical earlier build was reused. */
  report: SampleGoldReport | undefined;
  published: Record<GoldDatasetName, PublishResult>;
}

const BUILD_STAMP = 'build.json';

/** Builds the sample gold unless the same options were built into `outDir` before. */
const buildOnce = async (options: SampleGoldOptions): Promise<SampleGoldReport | undefined> => {
  const stamp = JSON.stringify({
    csvPath: options.csvPath,
    profiles: options.profiles,
    seed: options.seed,
    asOf: options.asOf,
  });
  const previous = await readFile(join(options.outDir, BUILD_STAMP), 'utf8').catch(() => undefined);
  if (previous === stamp) return undefined;
  const report = await buildSampleGold(options);
  await writeFile(join(options.outDir, BUILD_STAMP), stamp);
  return report;
};

/**
 * The demo's and the tests' way to a gold layer: build the sample gold from the real catalogue and
 * publish every dataset with the real publisher, as a pipeline would.
 */
export const loadSampleGold = async (
  cosmos: CosmosConfig,
  options: SampleGoldOptions & { datasets?: readonly GoldDatasetName[]; reporter?: PublisherReporter },
): Promise<SampleGoldLoad> => {
  const report = await buildOnce(options);
  const client = createCosmosClient(cosmos);
  try {
    const database = client.database(cosmos.database);
    const store = new GoldStoreRepository(database);
    await store.ensureContainers();
    const publisher = new GoldPublisher({
      store,
      manifests: new ManifestRepository(database),
      reporter: options.reporter ?? {
        info: () => undefined,
        warn: () => undefined,
        badRecord: () => undefined,
      },
    });
    const published = {} as Record<GoldDatasetName, PublishResult>;
    for (const dataset of options.datasets ?? goldDatasetNames) {
      published[dataset] = await publisher.publish({
        dataset,
        inputs: [join(options.outDir, SAMPLE_GOLD_FILES[dataset])],
        maxBad: 0,
        concurrency: 8,
        modelVersion: 'sample-gold',
      });
    }
    return { report, published };
  } finally {
    client.dispose();
  }
};
