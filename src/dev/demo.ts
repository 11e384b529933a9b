import 'reflect-metadata';

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { createApp } from '../app.factory.js';
import { startTelemetry } from '../modules/telemetry/otel.js';
import { ConfigError, loadConfig } from '../modules/config/app-config.js';
import { startEmbeddedAzurite } from './embedded-azurite.js';
import { startDevIssuer } from './dev-issuer.js';
import { loadSampleGold } from './sample-gold.js';

/**
 * `npm run demo`: everything on this machine, no cloud. Starts the embedded Cosmos server (its own
 * process, so it can be stopped or paused to watch the service degrade), builds the sample gold from
 * the real catalogue and publishes it with the real publisher, starts a development token issuer
 * and the API, then prints tokens and a query to paste. Ctrl-C stops everything it started.
 */
const started = Date.now();
const stateDir = process.env['FLICK_DEMO_DIR'] ?? '.flick';
const here = fileURLToPath(new URL('.', import.meta.url));
const say = (message: string) => process.stdout.write(`${message}\n`);
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

interface CosmosProcess {
  child: ChildProcess;
  endpoint: string;
  key: string;
  caFile: string;
}

const startCosmosProcess = async (): Promise<CosmosProcess> => {
  const child = spawn(
    process.execPath,
    [
      join(here, 'embedded-cosmos.cli.js'),
      '--port',
      process.env['DEMO_COSMOS_PORT'] ?? '8081',
      '--ca-file',
      join(stateDir, 'cosmos-ca.pem'),
      '--key-file',
      join(stateDir, 'cosmos-key.pem'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  const firstLine = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the embedded Cosmos server exited (code ${code})`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const ready = JSON.parse(firstLine) as { endpoint: string; key: string; caFile: string };
  return { child, ...ready };
};

mkdirSync(stateDir, { recursive: true });
const cosmos = await startCosmosProcess();
say(`Embedded Cosmos server: ${cosmos.endpoint} (pid ${cosmos.child.pid})`);

const azurite = await startEmbeddedAzurite();
say(`Embedded blob storage (Azurite): ${azurite.blobEndpoint} (pid ${azurite.child.pid})`);

const issuer = await startDevIssuer({ keyFile: join(stateDir, 'dev-issuer.json') });

let config;
try {
  config = loadConfig({
    LOG_LEVEL: 'warn',
    ...process.env,
    COSMOS_ENDPOINT: cosmos.endpoint,
    COSMOS_KEY: cosmos.key,
    COSMOS_CA_CERT_FILE: cosmos.caFile,
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: issuer.audience,
    AUTH_JWKS_URL: issuer.jwksUrl,
    EXPORTS_STORAGE_CONNECTION_STRING: azurite.connectionString,
  });
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    cosmos.child.kill();
    await azurite.stop();
    await issuer.close();
    process.exit(1);
  }
  throw error;
}

say(`Building and publishing the sample gold (${process.env['DEMO_PROFILES'] ?? 10_000} profiles)...`);
const gold = await loadSampleGold(config.cosmos, {
  csvPath: 'data/netflix_titles.csv',
  outDir: join(stateDir, 'gold'),
  profiles: Number(process.env['DEMO_PROFILES'] ?? 10_000),
  seed: 42,
  reporter: {
    info: (message) => {
      if (message.includes(' is active ')) say(`  ${message}`);
    },
    warn: (message) => say(`  warning: ${message}`),
    badRecord: (bad) => say(`  ${bad.file}:${bad.line}: ${bad.reason}`),
  },
});
for (const repair of gold.report?.repairs ?? [])
  say(`  data/netflix_titles.csv:${repair.line}: ${repair.note}`);

const telemetry = await startTelemetry({ metrics: config.operations.metrics });
const app = await createApp(config);
await app.listen({ host: config.http.host, port: config.http.port });
const url = `http://localhost:${config.http.port}`;

const stop = async (signal: string) => {
  say(`\n${signal}: stopping the API, the token issuer, the embedded Cosmos server and Azurite`);
  await app.close();
  await issuer.close();
  await azurite.stop();
  cosmos.child.kill('SIGTERM');
  process.exit(0);
};
process.once('SIGINT', (signal) => void stop(signal));
process.once('SIGTERM', (signal) => void stop(signal));

// Ready when the catalogue is in memory, as the readiness probe reports it.
for (;;) {
  const response = await fetch(`${url}/health/ready`).catch(() => undefined);
  if (response?.ok) break;
  await new Promise((resolve) => setTimeout(resolve, 200));
}

const accounts = JSON.parse(readFileSync(join(stateDir, 'gold', 'accounts.json'), 'utf8')) as {
  accountId: string;
  country: string;
  profileIds: string[];
}[];
const account = accounts.find((candidate) => candidate.profileIds.length >= 2) ?? accounts[0]!;
const deviceToken = await issuer.sign({
  sub: `demo-${account.accountId}`,
  roles: ['device'],
  account_id: account.accountId,
  profile_ids: account.profileIds,
  country: account.country,
});
const opsToken = await issuer.sign({ sub: 'demo-ops', roles: ['ops'] });
const marketingToken = await issuer.sign({ sub: 'demo-marketing', roles: ['marketing'] });
const partnerToken = await issuer.sign({
  sub: 'demo-partner-01',
  roles: ['partner'],
  partner_id: 'partner-01',
});
const lastWeek = new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10);
const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

say(`
Flick API ready at ${url}/graphql after ${seconds()} s.

A device token for account ${account.accountId} (${account.country}, profiles ${account.profileIds.join(', ')}):
export TOKEN=${deviceToken}

curl -s ${url}/graphql -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
  -d '{"query":"{ search(text: \\"stranger\\", first: 3) { id name releaseYear genres } }"}'

The home page of profile ${account.profileIds[0]}:
curl -s ${url}/graphql -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
  -d '{"query":"{ home(profileId: \\"${account.profileIds[0]}\\", device: TV, rows: 4, titlesPerRow: 5) { rows { kind heading titles { name } } meta { source degraded reasons dataAgeSeconds } } }"}'

A marketing token: the segments, then the first consented members of one (pass endCursor as "after" for the next page):
export MARKETING_TOKEN=${marketingToken}

curl -s ${url}/graphql -H "authorization: Bearer $MARKETING_TOKEN" -H 'content-type: application/json' \\
  -d '{"query":"{ segments { edges { node { id name size reachableSize } } } }"}'
curl -s ${url}/graphql -H "authorization: Bearer $MARKETING_TOKEN" -H 'content-type: application/json' \\
  -d '{"query":"{ segment(id: \\"new-members\\") { name reachableSize members(first: 5) { edges { node { profileId accountId country language } } pageInfo { hasNextPage endCursor } } } }"}'

A partner token (partner-01): request an export of last week's title performance, then follow it
until SUCCEEDED; its Parquet files, _manifest.json and _SUCCESS are in Azurite (container "exports"):
export PARTNER_TOKEN=${partnerToken}

curl -s ${url}/graphql -H "authorization: Bearer $PARTNER_TOKEN" -H 'content-type: application/json' \\
  -d '{"query":"mutation { requestPartnerExport(input: { dataset: TITLE_PERFORMANCE, from: \\"${lastWeek}\\", to: \\"${yesterday}\\" }) { id status } }"}'
curl -s ${url}/graphql -H "authorization: Bearer $PARTNER_TOKEN" -H 'content-type: application/json' \\
  -d '{"query":"{ partnerExports(first: 5) { edges { node { id from to status rowCount location files { path rows sha256 } } } } }"}'
Azurite connection string (for Azure Storage Explorer or az storage blob list --connection-string):
${azurite.connectionString}

Metrics (Prometheus): ${telemetry.metricsUrl ?? 'off (METRICS_PORT=0)'}

An ops token (goldDatasets, serviceStatus):
export OPS_TOKEN=${opsToken}

More tokens: npm run -s token -- --role device|marketing|partner|ops [--account <id>] [--partner <id>]
Embedded Cosmos server pid ${cosmos.child.pid} (kill -STOP it to watch the service degrade). Ctrl-C stops everything.`);
