import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { startDevIssuer } from '../src/dev/dev-issuer.js';
import { connectionsFor, runLoad, type LoadResult, type PoolRequest } from './load.js';
import {
  delta,
  firstLine,
  labelValues,
  peakRssMiB,
  scrape,
  start,
  stopAll,
  type Samples,
  loadAverage,
  machine,
} from './support.js';
import {
  buildPools,
  capture,
  MIX,
  OPERATIONS,
  poolSizes,
  publishSampleGold,
  readAccounts,
  readCatalog,
  say,
  seconds,
  startCosmosServer,
  startRedisServer,
  startService,
  ZIPF_S,
  type Operation,
  type Pools,
} from './stack.js';
import {
  writeDocumentation,
  writeReport,
  type BenchReport,
  type CeilingCheck,
  type OperationReport,
} from './report.js';

/**
 * `npm run bench`: the service (dist/main.js, production mode) over a sample gold in the embedded
 * Cosmos server with its own Redis, driven over HTTP with real device tokens; then the ceiling (a bare
 * Fastify process building the same answers in plain code). `--short`: a CI smoke run (2,000 profiles, short steps,
 * report under bench/tmp/). The stack itself is set up by stack.ts, shared with `npm run chaos`.
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
const POOL_SIZES = poolSizes(short);

const asOf = new Date().toISOString().slice(0, 10);
const tmp = 'bench/tmp';
const runDir = join(tmp, `run-${process.pid}`);

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
    responseCacheHitRatio: ratio(
      delta(before, after, 'flick_response_cache_total', { result: 'hit' }),
      delta(before, after, 'flick_response_cache_total'),
    ),
  };
};

const mixRun = async (url: string, pools: Pools, rate: number | undefined) => {
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
  const loadAtStart = loadAverage();
  mkdirSync(runDir, { recursive: true });
  say(`Flick API benchmark${short ? ' (--short)' : ''}: ${profiles} profiles, seed ${seed}, as of ${asOf}`);

  const redis = await startRedisServer();
  say(`Redis ${redis.url}`);
  const cosmos = await startCosmosServer(runDir);
  say(`Embedded Cosmos ${cosmos.endpoint} (pid ${cosmos.process.pid})`);

  const outDir = join(tmp, `gold-${profiles}-${seed}-${asOf}`);
  const { gold, publishSeconds } = await publishSampleGold(cosmos, { profiles, seed, asOf, outDir });
  say(
    `Sample gold ${gold.report === undefined ? 'reused from' : 'built into'} ${outDir}, catalog+profiles+popular published in ${publishSeconds} s`,
  );

  const issuer = await startDevIssuer();
  const accounts = readAccounts(outDir);
  const titles = readCatalog(outDir);
  const pools = await buildPools(accounts, titles, issuer, { seed, sizes: POOL_SIZES });

  const service = await startService({ redisUrl: redis.url, cosmos, issuer });
  const { readySeconds, url, metricsUrl } = service;
  say(`Service ready ${readySeconds} s after start (pid ${service.process.pid})`);

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
  const serviceRss = peakRssMiB(service.process.pid);
  await service.process.stop();

  say('Ceiling: bare Fastify building the answers in plain code');
  const ceilingProcess = start(
    process.execPath,
    ['--import', 'tsx', 'bench/ceiling.ts', '--gold', outDir, '--responses', responsesFile],
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  // Loading 100,000 profiles and checking every captured answer takes a while.
  const ceilingCheck = JSON.parse(await firstLine(ceilingProcess, 120_000)) as CeilingCheck & {
    port: number;
  };
  const ceilingPort = ceilingCheck.port;
  say(
    `  answers checked: ${ceilingCheck.identical}/${ceilingCheck.compared} identical (${ceilingCheck.metaNormalized} once home meta is set aside: ${JSON.stringify(ceilingCheck.metaReasons)})${ceilingCheck.sample === undefined ? '' : `; first difference: ${ceilingCheck.sample}`}`,
  );
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
    machine: machine(loadAtStart),
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
      ceilingCheck: {
        compared: ceilingCheck.compared,
        identical: ceilingCheck.identical,
        differing: ceilingCheck.differing,
        metaNormalized: ceilingCheck.metaNormalized,
        metaReasons: ceilingCheck.metaReasons,
      },
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
