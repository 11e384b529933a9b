import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';

import { startDevIssuer, type DevIssuer } from '../src/dev/dev-issuer.js';
import { loadSampleGold } from '../src/dev/sample-gold.js';
import {
  ACCOUNTS_FILE,
  SAMPLE_GOLD_FILES,
  type SampleAccount,
} from '../src/gold/sample/sample-gold.builder.js';
import { connectionsFor, runLoad, type LoadResult, type PoolRequest } from './load.js';
import {
  delta,
  firstLine,
  freePort,
  labelValues,
  peakRssMiB,
  scrape,
  start,
  startRedis,
  stopAll,
  waitUntilOk,
  type Samples,
  type Started,
} from './support.js';
import { seededRandom, shuffle, zipfSampler } from './zipf.js';
import { writeDocumentation, writeReport, type BenchReport, type OperationReport } from './report.js';

/**
 * `npm run bench`: the service (dist/main.js, production mode) over a sample gold in the embedded
 * Cosmos server with its own Redis, driven over HTTP with real device tokens; then the ceiling (a bare
 * Fastify process serving the same bytes). `--short`: a CI smoke run (2,000 profiles, short steps,
 * report under bench/tmp/).
 */
const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    profiles: { type: 'string' },
    seed: { type: 'string', default: '42' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    /** Only rewrite docs/performance.md from a saved report (e.g. after changing its text). */
    'docs-from': { type: 'string' },
  },
});
const short = values.short;
const profiles = Number(values.profiles ?? (short ? 2_000 : 100_000));
const seed = Number(values.seed);
const durationSeconds = Number(values.duration ?? (short ? 2 : 10));
const fixedRate = Number(values.rate ?? (short ? 50 : 200));
const searchSteps = short ? 1 : 6; // further runs after the fixed-rate one
const throughputConnections = short ? 16 : 32;
const P99_TARGET_MS = 50;
const ZIPF_S = 1.1;
const MIX = { home: 0.8, title: 0.1, browse: 0.05, search: 0.05 } as const;
type Operation = keyof typeof MIX;
const OPERATIONS = Object.keys(MIX) as Operation[];
const POOL_SIZES: Record<Operation, number> = short
  ? { home: 500, title: 200, browse: 100, search: 100 }
  : { home: 5_000, title: 2_000, browse: 500, search: 500 };

const asOf = new Date().toISOString().slice(0, 10);
const tmp = 'bench/tmp';
const runDir = join(tmp, `run-${process.pid}`);
const say = (message: string) => process.stdout.write(`${message}\n`);
const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;

const query = (name: string) => readFileSync(join('bench/queries', `${name}.graphql`), 'utf8');
const QUERIES: Record<Operation, string> = {
  home: query('tv-home'),
  title: query('title'),
  browse: query('browse'),
  search: query('search'),
};

interface CatalogTitle {
  titleId: string;
  name: string;
  genres: string[];
}

const readCatalog = (outDir: string): CatalogTitle[] =>
  gunzipSync(readFileSync(join(outDir, SAMPLE_GOLD_FILES.catalog)))
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CatalogTitle);

/** The request pools: home by Zipf-drawn accounts, the rest over the catalogue. */
const buildPools = async (
  accounts: SampleAccount[],
  titles: CatalogTitle[],
  issuer: DevIssuer,
): Promise<Record<Operation, PoolRequest[]>> => {
  const random = seededRandom(seed);
  const order = shuffle(
    accounts.map((_, index) => index),
    random,
  );
  const drawRank = zipfSampler(accounts.length, ZIPF_S, random);
  const tokens = new Map<string, string>();
  const tokenOf = async (account: SampleAccount) => {
    let token = tokens.get(account.accountId);
    if (token === undefined) {
      token = await issuer.sign({
        sub: `bench-${account.accountId}`,
        roles: ['device'],
        account_id: account.accountId,
        profile_ids: account.profileIds,
        country: account.country,
      });
      tokens.set(account.accountId, token);
    }
    return token;
  };
  const drawAccount = () => accounts[order[drawRank()]!]!;
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const genres = [...new Set(titles.flatMap((title) => title.genres))].sort();
  const words = [
    ...new Set(
      titles.flatMap((title) =>
        title.name
          .toLowerCase()
          .split(/[^a-z0-9]+/)
          .filter((word) => word.length >= 4),
      ),
    ),
  ].sort();
  const body = (operation: Operation, variables: Record<string, unknown>) =>
    JSON.stringify({ query: QUERIES[operation], variables });

  const pools: Record<Operation, PoolRequest[]> = { home: [], title: [], browse: [], search: [] };
  for (let i = 0; i < POOL_SIZES.home; i += 1) {
    const account = drawAccount();
    pools.home.push({
      body: body('home', { profileId: pick(account.profileIds) }),
      token: await tokenOf(account),
    });
  }
  for (let i = 0; i < POOL_SIZES.title; i += 1)
    pools.title.push({
      body: body('title', { id: pick(titles).titleId }),
      token: await tokenOf(drawAccount()),
    });
  for (let i = 0; i < POOL_SIZES.browse; i += 1) {
    const account = drawAccount();
    pools.browse.push({
      body: body('browse', { genre: pick(genres), country: account.country }),
      token: await tokenOf(account),
    });
  }
  for (let i = 0; i < POOL_SIZES.search; i += 1)
    pools.search.push({ body: body('search', { text: pick(words) }), token: await tokenOf(drawAccount()) });
  return pools;
};

/** One answer of the service per distinct request body (also warms its caches). */
const capture = async (
  url: string,
  pools: Record<Operation, PoolRequest[]>,
): Promise<{ responses: Map<string, string>; failures: number; samples: string[] }> => {
  const distinct = new Map<string, PoolRequest>();
  for (const operation of OPERATIONS)
    for (const request of pools[operation]) distinct.set(request.body, request);
  const queue = [...distinct.values()];
  const responses = new Map<string, string>();
  let failures = 0;
  const samples: string[] = [];
  const worker = async () => {
    for (let request = queue.pop(); request !== undefined; request = queue.pop()) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${request.token}` },
        body: request.body,
      });
      const text = await response.text();
      if (!response.ok || text.includes('"errors"')) {
        failures += 1;
        if (samples.length < 3) samples.push(`${response.status} ${text.slice(0, 300)}`);
      }
      responses.set(request.body, text);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return { responses, failures, samples };
};

const passes = (result: LoadResult, rate: number) =>
  result.latencyMs.p99 < P99_TARGET_MS &&
  result.non2xx + result.graphqlErrors + result.transportErrors === 0 &&
  result.throughput >= 0.9 * rate;

/**
 * The highest offered rate whose p99 stays under 50 ms with no errors and at least 90 % of it
 * achieved: from the fixed-rate run, doubling (capped at the measured throughput) or halving, then
 * bisection; at most `steps` further runs.
 */
const searchRate = async (
  url: string,
  pool: PoolRequest[],
  first: LoadResult & { offeredRate: number },
  ceiling: number,
  steps: number,
  degradedField?: string,
) => {
  let passed = 0;
  let failed: number | undefined;
  const tried: { rate: number; p99: number; throughput: number; pass: boolean }[] = [];
  const runs: LoadResult[] = [];
  const firstPass = passes(first, first.offeredRate);
  tried.push({
    rate: first.offeredRate,
    p99: first.latencyMs.p99,
    throughput: first.throughput,
    pass: firstPass,
  });
  if (firstPass) passed = first.offeredRate;
  else failed = first.offeredRate;
  let rate =
    failed === undefined
      ? Math.min(first.offeredRate * 2, Math.round(ceiling))
      : Math.max(1, Math.round(first.offeredRate / 2));
  for (let step = 0; step < steps && rate !== first.offeredRate; step += 1) {
    const result = await runLoad({
      url,
      pool,
      rate,
      connections: connectionsFor(rate),
      durationSeconds,
      ...(degradedField === undefined ? {} : { degradedField }),
    });
    const pass = passes(result, rate);
    runs.push(result);
    tried.push({ rate, p99: result.latencyMs.p99, throughput: result.throughput, pass });
    say(
      `    ${rate} req/s offered: p99 ${result.latencyMs.p99} ms, ${result.throughput} req/s ${pass ? 'ok' : 'over'}`,
    );
    if (pass) passed = rate;
    else failed = rate;
    const next =
      failed === undefined ? Math.min(rate * 2, Math.round(ceiling)) : Math.round((passed + failed) / 2);
    if (next === rate || next <= passed || (failed !== undefined && next >= failed)) break;
    rate = next;
  }
  return { maxRate: passed, tried, runs };
};

interface Measured {
  throughput: LoadResult;
  fixed: LoadResult;
  search: Awaited<ReturnType<typeof searchRate>>;
}

const measure = async (url: string, operation: Operation, pool: PoolRequest[]): Promise<Measured> => {
  const degradedField = operation === 'home' ? 'home' : undefined;
  const extra = degradedField === undefined ? {} : { degradedField };
  const throughput = await runLoad({
    url,
    pool,
    connections: throughputConnections,
    durationSeconds,
    ...extra,
  });
  say(
    `  ${operation}: ${throughput.throughput} req/s at ${throughputConnections} connections (p99 ${throughput.latencyMs.p99} ms)`,
  );
  const fixed = await runLoad({
    url,
    pool,
    rate: fixedRate,
    connections: connectionsFor(fixedRate),
    durationSeconds,
    ...extra,
  });
  say(
    `  ${operation} at ${fixedRate} req/s: p50 ${fixed.latencyMs.p50} / p95 ${fixed.latencyMs.p95} / p99 ${fixed.latencyMs.p99} ms`,
  );
  const search = await searchRate(
    url,
    pool,
    { ...fixed, offeredRate: fixedRate },
    throughput.throughput,
    searchSteps,
    degradedField,
  );
  return { throughput, fixed, search };
};

const errorsOf = (results: LoadResult[]) => ({
  requests: results.reduce((sum, result) => sum + result.requests, 0),
  non2xx: results.reduce((sum, result) => sum + result.non2xx, 0),
  graphqlErrors: results.reduce((sum, result) => sum + result.graphqlErrors, 0),
  transportErrors: results.reduce((sum, result) => sum + result.transportErrors, 0),
  degraded: results.reduce((sum, result) => sum + result.degraded, 0),
  degradedReasons: results.reduce<Record<string, number>>((sum, result) => {
    for (const [reason, count] of Object.entries(result.degradedReasons))
      sum[reason] = (sum[reason] ?? 0) + count;
    return sum;
  }, {}),
  samples: results.flatMap((result) => result.errorSamples).slice(0, 5),
});

/** Per-request dependency figures between two scrapes of the service's /metrics. */
const serviceMetrics = (before: Samples, after: Samples, requests: number) => {
  const cacheName = 'flick_cache_requests_total';
  const levels = labelValues(after, cacheName, 'level');
  const lookups = delta(before, after, cacheName);
  const byLevel = Object.fromEntries(
    levels.map((level) => [level, delta(before, after, cacheName, { level })]),
  );
  const ratio = (value: number, of: number) => (of === 0 ? null : Math.round((value / of) * 10_000) / 10_000);
  const ruName = 'flick_cosmos_request_units_total';
  return {
    cacheLookups: lookups,
    cacheLookupsPerRequest: ratio(lookups, requests),
    cacheLevels: byLevel,
    l1HitRatio: ratio(byLevel['L1'] ?? 0, lookups),
    l2HitRatio: ratio(byLevel['L2'] ?? 0, lookups),
    cosmosCallsPerRequest: ratio(
      delta(before, after, 'flick_dependency_calls_total', { dependency: 'cosmos' }),
      requests,
    ),
    cosmosTimedCallsPerRequest: ratio(
      delta(before, after, 'flick_dependency_call_duration_seconds_count', { dependency: 'cosmos' }),
      requests,
    ),
    cosmosRequestUnitsPerRequest: Object.fromEntries(
      labelValues(after, ruName, 'operation').map((operation) => [
        operation,
        ratio(delta(before, after, ruName, { operation }), requests),
      ]),
    ),
    redisCallsPerRequest: ratio(
      delta(before, after, 'flick_dependency_calls_total', { dependency: 'redis' }),
      requests,
    ),
  };
};

const mixRun = async (url: string, pools: Record<Operation, PoolRequest[]>, rate: number | undefined) => {
  const results = await Promise.all(
    OPERATIONS.map((operation) =>
      runLoad({
        url,
        pool: pools[operation],
        durationSeconds,
        ...(operation === 'home' ? { degradedField: 'home' } : {}),
        ...(rate === undefined
          ? { connections: Math.max(1, Math.round(throughputConnections * MIX[operation])) }
          : {
              rate: Math.max(1, Math.round(rate * MIX[operation])),
              connections: connectionsFor(Math.max(1, Math.round(rate * MIX[operation]))),
            }),
      }),
    ),
  );
  return Object.fromEntries(OPERATIONS.map((operation, index) => [operation, results[index]!])) as Record<
    Operation,
    LoadResult
  >;
};

const main = async (): Promise<void> => {
  const began = Date.now();
  const loadAtStart = loadavg().map((value) => Math.round(value * 100) / 100);
  mkdirSync(runDir, { recursive: true });
  say(`Flick API benchmark${short ? ' (--short)' : ''}: ${profiles} profiles, seed ${seed}, as of ${asOf}`);

  const redis = await startRedis();
  say(`Redis ${redis.url}`);
  const cosmosProcess = start(
    process.execPath,
    [
      'dist/dev/embedded-cosmos.cli.js',
      '--ca-file',
      join(runDir, 'cosmos-ca.pem'),
      '--key-file',
      join(runDir, 'cosmos-key.pem'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  const cosmos = JSON.parse(await firstLine(cosmosProcess)) as {
    endpoint: string;
    key: string;
    caFile: string;
  };
  say(`Embedded Cosmos ${cosmos.endpoint} (pid ${cosmosProcess.pid})`);
  const database = 'flick-gold';

  const publishStarted = Date.now();
  const outDir = join(tmp, `gold-${profiles}-${seed}-${asOf}`);
  const gold = await loadSampleGold(
    {
      endpoint: cosmos.endpoint,
      key: cosmos.key,
      database,
      preferredRegions: [],
      caCertificate: readFileSync(cosmos.caFile, 'utf8'),
      maxRetries: 3,
      maxRetryWaitSeconds: 5,
      requestTimeoutMs: 30_000,
    },
    {
      csvPath: 'data/netflix_titles.csv',
      outDir,
      profiles,
      seed,
      asOf,
      datasets: ['catalog', 'profiles', 'popular'],
    },
  );
  const publishSeconds = seconds(publishStarted);
  say(
    `Sample gold ${gold.report === undefined ? 'reused from' : 'built into'} ${outDir}, catalog+profiles+popular published in ${publishSeconds} s`,
  );

  const issuer = await startDevIssuer();
  const accounts = JSON.parse(readFileSync(join(outDir, ACCOUNTS_FILE), 'utf8')) as SampleAccount[];
  const titles = readCatalog(outDir);
  const pools = await buildPools(accounts, titles, issuer);

  const port = await freePort();
  const metricsPort = await freePort();
  const serviceStarted = Date.now();
  const service: Started = start(process.execPath, ['dist/main.js'], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
      CURSOR_SECRET: randomBytes(32).toString('hex'),
      REDIS_URL: redis.url,
      COSMOS_ENDPOINT: cosmos.endpoint,
      COSMOS_KEY: cosmos.key,
      COSMOS_CA_CERT_FILE: cosmos.caFile,
      COSMOS_DATABASE: database,
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: issuer.audience,
      AUTH_JWKS_URL: issuer.jwksUrl,
      RATE_LIMIT_DEVICE_PER_MINUTE: '1000000',
      SHUTDOWN_GRACE_MS: '1000',
    },
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntilOk(`${base}/health/ready`, service);
  const readySeconds = seconds(serviceStarted);
  say(`Service ready ${readySeconds} s after start (pid ${service.pid})`);

  const url = `${base}/graphql`;
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const captured = await capture(url, pools);
  say(`Captured ${captured.responses.size} distinct answers (${captured.failures} with errors)`);
  for (const sample of captured.samples) say(`  ${sample}`);
  const responsesFile = join(runDir, 'responses.json');
  writeFileSync(responsesFile, JSON.stringify([...captured.responses]));

  const operations = {} as Record<Operation, OperationReport>;
  for (const operation of OPERATIONS) {
    const before = await scrape(metricsUrl);
    const measured = await measure(url, operation, pools[operation]);
    const after = await scrape(metricsUrl);
    const errors = errorsOf([measured.throughput, measured.fixed, ...measured.search.runs]);
    operations[operation] = {
      service: {
        throughput: measured.throughput,
        fixed: measured.fixed,
        maxRateUnderP99Target: measured.search.maxRate,
        search: measured.search.tried,
        errors,
        degradedShare:
          operation === 'home' && errors.requests > 0
            ? Math.round((errors.degraded / errors.requests) * 10_000) / 10_000
            : null,
        metrics: serviceMetrics(before, after, errors.requests),
      },
    };
  }
  say('Mixed load (80/10/5/5), four autocannon instances at once:');
  const mixThroughput = await mixRun(url, pools, undefined);
  const mixFixed = await mixRun(url, pools, fixedRate);
  for (const operation of OPERATIONS)
    say(
      `  ${operation}: ${mixThroughput[operation].throughput} req/s unthrottled; p99 ${mixFixed[operation].latencyMs.p99} ms at ${Math.round(fixedRate * MIX[operation])} req/s`,
    );
  const serviceRss = peakRssMiB(service.pid);
  await service.stop();

  say('Ceiling: bare Fastify serving the captured bytes');
  const ceilingProcess = start(
    process.execPath,
    ['--import', 'tsx', 'bench/ceiling.ts', '--responses', responsesFile],
    {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  const ceilingPort = (JSON.parse(await firstLine(ceilingProcess)) as { port: number }).port;
  const ceilingUrl = `http://127.0.0.1:${ceilingPort}/graphql`;
  for (const operation of OPERATIONS) {
    const measured = await measure(ceilingUrl, operation, pools[operation]);
    operations[operation].ceiling = {
      throughput: measured.throughput,
      fixed: measured.fixed,
      maxRateUnderP99Target: measured.search.maxRate,
      search: measured.search.tried,
      errors: errorsOf([measured.throughput, measured.fixed, ...measured.search.runs]),
    };
  }
  const ceilingRss = peakRssMiB(ceilingProcess.pid);
  await ceilingProcess.stop();
  await issuer.close();

  const report: BenchReport = {
    date: asOf,
    mode: short ? 'short' : 'full',
    machine: {
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cpus: cpus().length,
      memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverage: { atStart: loadAtStart, atEnd: loadavg().map((value) => Math.round(value * 100) / 100) },
    },
    setup: {
      profiles,
      accounts: accounts.length,
      titles: titles.length,
      seed,
      zipfS: ZIPF_S,
      mix: MIX,
      poolSizes: POOL_SIZES,
      distinctRequests: captured.responses.size,
      captureFailures: captured.failures,
      goldReused: gold.report === undefined,
      publishSeconds,
      readySeconds,
      durationSeconds,
      fixedRate,
      p99TargetMs: P99_TARGET_MS,
      searchSteps,
      throughputConnections,
    },
    operations,
    mix: { rate: fixedRate, throughput: mixThroughput, fixed: mixFixed },
    peakRssMiB: { service: serviceRss ?? null, ceiling: ceilingRss ?? null },
    totalSeconds: seconds(began),
  };
  await writeReport(report, short ? tmp : 'bench/results', !short);
};

let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await stopAll();
  rmSync(runDir, { recursive: true, force: true });
  process.exit(code);
};
process.once('SIGINT', () => void shutdown(130));
process.once('SIGTERM', () => void shutdown(143));
try {
  const docsFrom = values['docs-from'];
  if (docsFrom !== undefined) {
    await writeDocumentation(JSON.parse(readFileSync(docsFrom, 'utf8')) as BenchReport, docsFrom);
    process.exit(0);
  }
  await main();
  await shutdown(0);
} catch (error) {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  await shutdown(1);
}
