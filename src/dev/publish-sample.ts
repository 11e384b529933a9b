import { startEmbeddedCosmos } from './embedded-cosmos.js';
import { loadSampleGold } from './sample-gold.js';

/**
 * `npm run gold:sample`: builds the sample gold from the real catalogue and publishes every dataset
 * into an embedded Cosmos server with the real publisher, then prints what is active and stops.
 */
const cosmos = await startEmbeddedCosmos();
const started = Date.now();
const { published } = await loadSampleGold(
  {
    endpoint: cosmos.endpoint,
    key: cosmos.key,
    database: 'flick-gold',
    preferredRegions: [],
    caCertificate: cosmos.caCertificate,
    maxRetries: 3,
    maxRetryWaitSeconds: 5,
    requestTimeoutMs: 10_000,
  },
  {
    csvPath: 'data/netflix_titles.csv',
    outDir: '.flick/gold',
    profiles: Number(process.env['SAMPLE_PROFILES'] ?? 10_000),
    seed: 42,
    reporter: {
      info: (message) => process.stdout.write(`${message}\n`),
      warn: (message) => process.stderr.write(`warning: ${message}\n`),
      badRecord: (bad) => process.stderr.write(`${bad.file}:${bad.line}: ${bad.reason}\n`),
    },
  },
);
for (const [dataset, result] of Object.entries(published)) {
  process.stdout.write(
    `${dataset}: snapshot ${result.snapshotId} active, ${result.documentCount} documents\n`,
  );
}
process.stdout.write(`Published in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
await cosmos.close();
