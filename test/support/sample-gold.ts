import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { GoldDatasetName } from '../../src/gold/contract/gold-datasets.js';
import { loadSampleGold, type SampleGoldLoad } from '../../src/dev/sample-gold.js';
import type { TestCosmos } from './cosmos.js';

export const SAMPLE_AS_OF = '2021-10-01';

export interface TestGold extends SampleGoldLoad {
  dir: string;
  remove(): Promise<void>;
}

/**
 * Builds a small sample gold from the real catalogue and publishes the given datasets into the
 * test server with the real publisher, like the demo does.
 */
export const publishTestGold = async (
  cosmos: TestCosmos,
  options: { database: string; profiles?: number; datasets?: readonly GoldDatasetName[]; asOf?: string },
): Promise<TestGold> => {
  const dir = await mkdtemp(join(tmpdir(), 'flick-gold-'));
  const load = await loadSampleGold(
    {
      endpoint: cosmos.env.COSMOS_ENDPOINT,
      key: cosmos.env.COSMOS_KEY,
      database: options.database,
      preferredRegions: [],
      caCertificate: cosmos.caCertificate,
      maxRetries: 3,
      maxRetryWaitSeconds: 5,
      requestTimeoutMs: 10_000,
    },
    {
      csvPath: 'data/netflix_titles.csv',
      outDir: dir,
      profiles: options.profiles ?? 200,
      seed: 7,
      asOf: options.asOf ?? SAMPLE_AS_OF,
      ...(options.datasets === undefined ? {} : { datasets: options.datasets }),
    },
  );
  return { ...load, dir, remove: () => rm(dir, { recursive: true, force: true }) };
};
