import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { startDevIssuer } from '../src/dev/dev-issuer.js';
import { SAMPLE_GOLD_FILES } from '../src/gold/sample/sample-gold.builder.js';
import { configVariables } from '../src/modules/config/config.schema.js';
import {
  analysePhase,
  metricDeltas,
  type Observed,
  type PhaseReport,
  timeline,
  type PhaseTimes,
  type TransportFailure,
} from './chaos-analysis.js';
import { writeChaosDocumentation, writeChaosReport, type ChaosReport } from './chaos-report.js';
import { startFaultProxy, type FaultProxy, type FaultProxyCounts } from './fault-proxy.js';
import { runLoad, type Answer, type PoolRequest } from './load.js';
import { loadAverage, machine, scrape, sleep, stopAll, type Samples } from './support.js';
import {
  buildPools,
  DATABASE,
  MIX,
  OPERATIONS,
  poolSizes,
  publishSampleGold,
  publishSampleGoldInChild,
  readAccounts,
  readCatalog,
  runToCompletion,
  say,
  seconds,
  startCosmosServer,
  startRedisServer,
  startPipelineJob,
  startService,
  type CosmosServer,
  type GoldOptions,
  type Operation,
  type Pools,
  type RedisServer,
  type Service,
} from './stack.js';

/**
 * `npm run chaos`: the benchmark's mix (80 % home, 10 % title, 5 % browse, 5 % search, its queries
 * and pools) at half the highest mix rate the newest benchmark measured, against the same stack,
 * while faults are injected one after the other: Cosmos paused (SIGSTOP), Cosmos killed and
 * restarted, Redis killed and restarted, Cosmos answering 429, and a new profiles snapshot published
 * and activated. The service reaches Cosmos through bench/fault-proxy.ts the whole time. Every
 * answer is kept with its time, so each phase reports requests, non-200 answers, GraphQL errors,
 * degraded home answers by reason, latencies during and after the fault, and how long after the
 * fault ended home pages were personal again. Results go to bench/results/chaos-<date>.json and
 * docs/reliability.md (`--short`: a quicker smoke run, report under bench/tmp/).
 */
const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    profiles: { type: 'string' },
    seed: { type: 'string', default: '42' },
    /** Offered rate of the whole mix, req/s; default: half the newest benchmark's mix maximum. */
    rate: { type: 'string' },
    'fault-seconds': { type: 'string' },
    'recovery-seconds': { type: 'string' },
    'baseline-seconds': { type: 'string' },
    'redis-outage-seconds': { type: 'string' },
    'retry-after-ms': { type: 'string', default: '100' },
    'l2-ttl-seconds': { type: 'string' },
    /** Let the service see the restarted, empty Cosmos server while the gold is published again. */
    'serve-empty-store': { type: 'boolean', default: false },
    /** Only rewrite docs/reliability.md from a saved report. */
    'docs-from': { type: 'string' },
  },
});
const short = values.short;
const profiles = Number(values.profiles ?? (short ? 2_000 : 10_000));
const seed = Number(values.seed);
const faultSeconds = Number(values['fault-seconds'] ?? (short ? 5 : 15));
const recoverySeconds = Number(values['recovery-seconds'] ?? (short ? 6 : 10));
const baselineSeconds = Number(values['baseline-seconds'] ?? (short ? 4 : 10));
const redisOutageSeconds = Number(values['redis-outage-seconds'] ?? (short ? 3 : 5));
const retryAfterMs = Number(values['retry-after-ms']);
const l2TtlSeconds = Number(values['l2-ttl-seconds'] ?? 5);
const serveEmptyStore = values['serve-empty-store'];
const POOL_SIZES = poolSizes(short);
/** The service runs with its default budget unless the environment sets one: read it the same way. */
const budgetMs = configVariables.REQUEST_BUDGET_MS.schema.parse(process.env['REQUEST_BUDGET_MS']);
const P99_TARGET_MS = budgetMs + 50;
const PERSONAL_TARGET_SECONDS = 5;
/** Requests one connection sends per second: answers as slow as the budget still keep the rate. */
const PER_CONNECTION_RATE = 2;
/** autocannon instances per operation, started evenly over a second to spread its per-second bursts. */
const SLICES = 5;
/** How long the load goes on after the last phase, so the answers sent before its end arrive. */
const DRAIN_MS = 1_500;

const asOf = new Date().toISOString().slice(0, 10);
const tmp = 'bench/tmp';
const runDir = join(tmp, `chaos-${process.pid}`);

// ---------------------------------------------------------------------------------------------
// The rate

interface BenchResult {
  operations: Record<string, { service: { maxRateUnderP99Target: number } }>;
}

/**
 * Half the highest rate of the mix at which every operation's share stays within that operation's
 * highest rate with p99 < 50 ms in the newest benchmark report (in practice home's, divided by 0.8).
 */
const rateFromBenchmark = (): { rate: number; basis: string } => {
  const dir = 'bench/results';
  const newest = readdirSync(dir)
    .filter((name) => /^\d{4}-\d{2}-\d{2}\.json$/.test(name))
    .sort()
    .at(-1);
  if (newest === undefined) return { rate: 50, basis: 'no benchmark report in bench/results: 50 req/s' };
  const report = JSON.parse(readFileSync(join(dir, newest), 'utf8')) as BenchResult;
  const maxRateOf = (operation: Operation) =>
    report.operations[operation]?.service.maxRateUnderP99Target ?? 0;
  const binding = OPERATIONS.map((operation) => ({
    operation,
    mixRate: maxRateOf(operation) / MIX[operation],
  })).reduce((low, limit) => (limit.mixRate < low.mixRate ? limit : low));
  const maxRate = Math.round(binding.mixRate);
  if (maxRate === 0) return { rate: 50, basis: `no usable rate in ${dir}/${newest}: 50 req/s` };
  const opMax = maxRateOf(binding.operation);
  return {
    rate: Math.max(4, Math.round(maxRate / 2)),
    basis:
      `half of ${maxRate} req/s, the highest mix rate at which every operation stays within its own ` +
      `highest rate with p99 < 50 ms in ${dir}/${newest} (bound by ${binding.operation}: ${opMax} req/s at a ` +
      `${MIX[binding.operation] * 100} % share)`,
  };
};

// ---------------------------------------------------------------------------------------------
// The load

/** `rate` split into `parts` integers that add up to it (the first ones one larger). */
const split = (rate: number, parts: number): number[] =>
  Array.from({ length: parts }, (_, index) => Math.floor(rate / parts) + (index < rate % parts ? 1 : 0));

/** The pool from `offset` on, then its start: slices walk it from different places. */
const rotated = (pool: PoolRequest[], offset: number) => [...pool.slice(offset), ...pool.slice(0, offset)];

/**
 * The mix at `rate` until `signal` aborts: per operation, its share of the rate over staggered
 * autocannon instances; every answer and transport failure goes to `observed` / `failures`.
 */
const runMix = async (
  url: string,
  pools: Pools,
  rate: number,
  signal: AbortSignal,
  observed: Observed[],
  failures: TransportFailure[],
): Promise<void> => {
  const runs: Promise<unknown>[] = [];
  for (const operation of OPERATIONS) {
    const operationRate = Math.max(1, Math.round(rate * MIX[operation]));
    const slices = split(operationRate, Math.min(SLICES, operationRate));
    const pool = pools[operation];
    slices.forEach((sliceRate, index) => {
      const startAfterMs = (index * 1000) / slices.length;
      runs.push(
        sleep(startAfterMs).then(() =>
          runLoad({
            url,
            pool: rotated(pool, Math.floor((index * pool.length) / slices.length)),
            rate: sliceRate,
            connections: Math.max(1, Math.ceil(sliceRate / PER_CONNECTION_RATE)),
            // Ended by the signal; the duration is only a backstop.
            durationSeconds: 3_600,
            signal,
            ...(operation === 'home' ? { degradedField: 'home' } : {}),
            observer: {
              answer: (answer: Answer) => observed.push({ ...answer, operation }),
              transportError: (at, kind) => failures.push({ operation, at, kind }),
            },
          }),
        ),
      );
    });
  }
  await Promise.all(runs);
};

/** Rounds of the warm-up: requests answered degraded are asked again, once the store has caught up. */
const WARM_ATTEMPTS = 3;

/**
 * Sends every distinct request of the pools, a few at a time, so that the caches hold what a
 * service that has been running a while holds: last-good copies of every profile and popular list
 * of the pools. Home pages answered degraded (a store call timed out on a busy machine) are asked
 * again, up to {@link WARM_ATTEMPTS} rounds.
 */
const warmUp = async (
  url: string,
  pools: Pools,
): Promise<{ distinct: number; failures: number; degraded: number }> => {
  const distinct = new Map<string, PoolRequest>();
  for (const operation of OPERATIONS)
    for (const request of pools[operation]) distinct.set(request.body, request);
  let queue = [...distinct.values()];
  let failures = 0;
  for (let attempt = 1; attempt <= WARM_ATTEMPTS && queue.length > 0; attempt += 1) {
    const again: PoolRequest[] = [];
    const pending = [...queue];
    const worker = async () => {
      for (let request = pending.pop(); request !== undefined; request = pending.pop()) {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${request.token}` },
          body: request.body,
        });
        const body = (await response.json().catch(() => undefined)) as
          { data?: { home?: { meta?: { degraded?: boolean } } }; errors?: unknown } | undefined;
        if (!response.ok || body === undefined || body.errors !== undefined) failures += 1;
        else if (body.data?.home?.meta?.degraded === true) again.push(request);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    queue = again;
    if (queue.length > 0) await sleep(1_000);
  }
  return { distinct: distinct.size, failures, degraded: queue.length };
};

// ---------------------------------------------------------------------------------------------
// Phases

type PhaseName =
  'baseline' | 'cosmos-paused' | 'cosmos-killed' | 'redis-killed' | 'cosmos-throttled' | 'snapshot';

interface Stack {
  cosmos: CosmosServer;
  redis: RedisServer;
  proxy: FaultProxy;
  service: Service;
  gold: GoldOptions;
  probe: { token: string; profileId: string };
}

interface Phase {
  name: PhaseName;
  title: string;
  /** Injects the fault and resolves once it has ended, with facts about it. */
  inject(stack: Stack): Promise<Record<string, number | string>>;
  /** After the fault, while the recovery window runs (e.g. a probe); facts about it. */
  observe?(
    stack: Stack,
    facts: Record<string, number | string>,
    until: number,
  ): Promise<Record<string, number | string>>;
}

const now = () => performance.now();
const since = (at: number) => Math.round(now() - at) / 1000;

const phases: Phase[] = [
  {
    name: 'baseline',
    title: 'No fault',
    inject: async () => {
      await sleep(baselineSeconds * 1000);
      return {};
    },
  },
  {
    name: 'cosmos-paused',
    title: `Cosmos paused (SIGSTOP) ${faultSeconds} s`,
    inject: async ({ cosmos }) => {
      cosmos.pause();
      try {
        await sleep(faultSeconds * 1000);
      } finally {
        cosmos.resume();
      }
      return {};
    },
  },
  {
    name: 'cosmos-killed',
    title: `Cosmos killed, restarted empty and republished${serveEmptyStore ? ' (served while empty)' : ''}`,
    inject: async ({ cosmos, proxy, gold }) => {
      const killedAt = now();
      // The proxy keeps the service from reaching the restarted server until its data is back:
      // Azure Cosmos DB does not come back empty, the embedded server (in memory) does.
      proxy.refuse();
      await cosmos.kill();
      await cosmos.restart();
      const restartSeconds = since(killedAt);
      if (serveEmptyStore) proxy.forward();
      const republishStarted = now();
      await publishSampleGoldInChild(cosmos, gold);
      const republishSeconds = since(republishStarted);
      proxy.forward();
      return {
        restartSeconds,
        republishSeconds,
        [serveEmptyStore ? 'unreachableOrEmptySeconds' : 'unreachableSeconds']: since(killedAt),
      };
    },
  },
  {
    name: 'redis-killed',
    title: `Redis killed, restarted (empty) ${redisOutageSeconds} s later`,
    inject: async ({ redis }) => {
      await redis.kill();
      await sleep(redisOutageSeconds * 1000);
      const restarting = now();
      await redis.restart();
      return { restartSeconds: since(restarting) };
    },
  },
  {
    name: 'cosmos-throttled',
    title: `Cosmos answering 429 (retry after ${retryAfterMs} ms) ${faultSeconds} s`,
    inject: async ({ proxy }) => {
      proxy.throttle(retryAfterMs);
      try {
        await sleep(faultSeconds * 1000);
      } finally {
        proxy.forward();
      }
      return {};
    },
  },
  {
    name: 'snapshot',
    title: 'New profiles snapshot published and activated',
    inject: async ({ cosmos, gold }) => {
      const snapshotId = `chaos-${new Date()
        .toISOString()
        .replace(/[^0-9]/g, '')
        .slice(0, 14)}`;
      const started = now();
      await runToCompletion(
        startPipelineJob(
          [
            'dist/gold/cli/gold.cli.js',
            'publish',
            '--dataset',
            'profiles',
            '--input',
            join(gold.outDir, SAMPLE_GOLD_FILES.profiles),
            '--snapshot-id',
            snapshotId,
            '--concurrency',
            '8',
          ],
          {
            ...process.env,
            COSMOS_ENDPOINT: cosmos.endpoint,
            COSMOS_KEY: cosmos.key,
            COSMOS_CA_CERT_FILE: cosmos.caFile,
            COSMOS_DATABASE: DATABASE,
          },
        ),
        `publishing profiles snapshot ${snapshotId}`,
      );
      return { snapshotId, publishSeconds: since(started) };
    },
    observe: async ({ service, probe }, facts, until) => {
      const served = await untilSnapshotServed(service, probe, String(facts['snapshotId']), until);
      return { newSnapshotServedSeconds: served ?? 'not within the window' };
    },
  },
];

const PROBE = /* GraphQL */ `
  query ChaosProbe($profileId: ID!) {
    home(profileId: $profileId, device: TV) {
      meta {
        snapshotId
      }
    }
  }
`;

/** Seconds until home names `snapshotId` (asked every 100 ms until `until`), or undefined. */
const untilSnapshotServed = async (
  service: Service,
  probe: Stack['probe'],
  snapshotId: string,
  until: number,
): Promise<number | undefined> => {
  const started = now();
  while (now() < until) {
    const response = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${probe.token}` },
      body: JSON.stringify({ query: PROBE, variables: { profileId: probe.profileId } }),
    }).catch(() => undefined);
    const body = (await response?.json().catch(() => undefined)) as
      { data?: { home?: { meta?: { snapshotId?: string | null } } } } | undefined;
    if (body?.data?.home?.meta?.snapshotId === snapshotId) return since(started);
    await sleep(100);
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// The service's log

interface LogLine {
  at: number;
  level: number | undefined;
  message: string;
}

/** Keeps the service's log lines (warn and above: LOG_LEVEL=warn) with their arrival time, and a file. */
const followLog = (service: Service, file: string): LogLine[] => {
  const lines: LogLine[] = [];
  for (const stream of [service.process.child.stdout, service.process.child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => {
      appendFileSync(file, `${line}\n`);
      let level: number | undefined;
      let message = line;
      try {
        const parsed = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
        level = parsed.level;
        message = `${parsed.msg ?? ''}${parsed.err?.message === undefined ? '' : `: ${parsed.err.message}`}`;
      } catch {
        // Not JSON (e.g. a crash trace): kept as it is.
      }
      lines.push({ at: now(), level, message });
    });
  }
  return lines;
};

/** The most frequent messages of `lines` between `from` and `to`, digits folded so repeats group. */
const logSummary = (lines: LogLine[], from: number, to: number): Record<string, number> => {
  const counts = new Map<string, number>();
  for (const line of lines) {
    if (line.at < from || line.at >= to) continue;
    const key = line.message.replace(/\d+(\.\d+)?/g, 'N').slice(0, 200);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 8));
};

// ---------------------------------------------------------------------------------------------

/** The commit the service was built from, and source files that differed from it. */
const sourceState = (): { commit: string; uncommitted: string[] } => {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD'),
      uncommitted: git('status', '--porcelain', '--', 'src')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => line.slice(3)),
    };
  } catch {
    return { commit: 'unknown', uncommitted: [] };
  }
};

const proxyDelta = (before: FaultProxyCounts, after: FaultProxyCounts): FaultProxyCounts => ({
  forwarded: after.forwarded - before.forwarded,
  throttled: after.throttled - before.throttled,
  refused: after.refused - before.refused,
  upstreamFailures: after.upstreamFailures - before.upstreamFailures,
  abandoned: after.abandoned - before.abandoned,
});

const scrapeOrEmpty = (url: string): Promise<Samples> => scrape(url).catch(() => new Map());

const main = async (): Promise<void> => {
  const began = Date.now();
  const startedAt = new Date().toISOString();
  const loadAtStart = loadAverage();
  mkdirSync(runDir, { recursive: true });
  const { rate, basis } =
    values.rate === undefined
      ? rateFromBenchmark()
      : { rate: Number(values.rate), basis: `--rate ${values.rate}` };
  say(
    `Flick API chaos run${short ? ' (--short)' : ''}: ${profiles} profiles, seed ${seed}, ${rate} req/s (${basis})`,
  );

  const redis = await startRedisServer();
  say(`Redis ${redis.url}`);
  const cosmos = await startCosmosServer(runDir);
  say(`Embedded Cosmos ${cosmos.endpoint} (pid ${cosmos.process.pid})`);
  const gold: GoldOptions = { profiles, seed, asOf, outDir: join(tmp, `gold-${profiles}-${seed}-${asOf}`) };
  const published = await publishSampleGold(cosmos, gold);
  say(
    `Sample gold ${published.gold.report === undefined ? 'reused from' : 'built into'} ${gold.outDir}, catalog+profiles+popular published in ${published.publishSeconds} s`,
  );
  const proxy = await startFaultProxy({
    upstream: cosmos.endpoint,
    cert: readFileSync(cosmos.caFile, 'utf8'),
    key: readFileSync(cosmos.keyFile, 'utf8'),
  });
  say(`Fault proxy ${proxy.endpoint} in front of it`);

  const issuer = await startDevIssuer();
  const accounts = readAccounts(gold.outDir);
  const titles = readCatalog(gold.outDir);
  const pools = await buildPools(accounts, titles, issuer, { seed, sizes: POOL_SIZES });
  const serviceEnv = { CACHE_L2_TTL_SECONDS: String(l2TtlSeconds) };
  const service = await startService({
    redisUrl: redis.url,
    cosmos: { endpoint: proxy.endpoint, key: cosmos.key, caFile: cosmos.caFile },
    issuer,
    env: serviceEnv,
  });
  say(`Service ready ${service.readySeconds} s after start (pid ${service.process.pid}), through the proxy`);
  const logFile = join(tmp, `chaos-${short ? 'short-' : ''}${asOf}-service.log`);
  writeFileSync(logFile, '');
  const log = followLog(service, logFile);

  const warm = await warmUp(service.url, pools);
  say(
    `Warmed with ${warm.distinct} distinct requests (${warm.failures} failed, ${warm.degraded} home pages still degraded after ${WARM_ATTEMPTS} attempts)`,
  );
  const firstHome = JSON.parse(pools.home[0]!.body) as { variables: { profileId: string } };
  const stack: Stack = {
    cosmos,
    redis,
    proxy,
    service,
    gold,
    probe: { token: pools.home[0]!.token, profileId: firstHome.variables.profileId },
  };

  const observed: Observed[] = [];
  const failures: TransportFailure[] = [];
  const stopLoad = new AbortController();
  const loadStarted = now();
  const load = runMix(service.url, pools, rate, stopLoad.signal, observed, failures);
  const records: Pick<PhaseReport, 'metrics' | 'proxy' | 'log'>[] = [];
  const times: PhaseTimes[] = [];
  try {
    for (const phase of phases) {
      const metricsBefore = await scrapeOrEmpty(service.metricsUrl);
      const proxyBefore = proxy.counts();
      const startedAt = now();
      say(`${phase.name}: ${phase.title}`);
      const facts = await phase.inject(stack);
      const faultEndedAt = now();
      const endsAt = faultEndedAt + (phase.name === 'baseline' ? 0 : recoverySeconds * 1000);
      const [observedFacts] = await Promise.all([
        phase.observe?.(stack, facts, endsAt) ?? Promise.resolve({}),
        sleep(Math.max(0, endsAt - now())),
      ]);
      const endedAt = now();
      const allFacts: Record<string, number | string> = { ...facts, ...observedFacts };
      times.push({
        name: phase.name,
        title: phase.title,
        facts: allFacts,
        origin: loadStarted,
        startedAt,
        faultEndedAt,
        endedAt,
        isFault: phase.name !== 'baseline',
      });
      records.push({
        metrics: metricDeltas(metricsBefore, await scrapeOrEmpty(service.metricsUrl)),
        proxy: proxyDelta(proxyBefore, proxy.counts()),
        log: logSummary(log, startedAt, endedAt),
      });
      const described = Object.entries(allFacts).map(([name, value]) => `${name} ${String(value)}`);
      if (described.length > 0) say(`  ${described.join(', ')}`);
    }
    // Answers to requests sent before the last phase ended are still on their way.
    await sleep(DRAIN_MS);
  } finally {
    stopLoad.abort();
    cosmos.resume();
    proxy.forward();
    await load;
  }
  const loadEnded = now();
  const reports: PhaseReport[] = times.map((phaseTimes, index) => ({
    ...analysePhase(phaseTimes, observed, failures, {
      p99Ms: P99_TARGET_MS,
      personalSeconds: PERSONAL_TARGET_SECONDS,
    }),
    ...records[index],
  }));
  await proxy.close();
  await issuer.close();

  const report: ChaosReport = {
    date: asOf,
    startedAt,
    mode: short ? 'short' : 'full',
    machine: machine(loadAtStart),
    setup: {
      profiles,
      accounts: accounts.length,
      titles: titles.length,
      seed,
      mix: MIX,
      poolSizes: POOL_SIZES,
      rate,
      rateBasis: basis,
      perConnectionRate: PER_CONNECTION_RATE,
      slicesPerOperation: SLICES,
      budgetMs,
      p99TargetMs: P99_TARGET_MS,
      personalTargetSeconds: PERSONAL_TARGET_SECONDS,
      faultSeconds,
      recoverySeconds,
      baselineSeconds,
      redisOutageSeconds,
      retryAfterMs,
      serveEmptyStore,
      serviceEnv,
      publishSeconds: published.publishSeconds,
      readySeconds: service.readySeconds,
      warmRequests: warm.distinct,
      warmDegraded: warm.degraded,
      loadSeconds: Math.round(loadEnded - loadStarted) / 1000,
    },
    source: sourceState(),
    phases: reports,
    timeline: timeline(observed, failures, loadStarted, loadEnded),
    totalSeconds: seconds(began),
  };
  await writeChaosReport(report, short ? tmp : 'bench/results', !short);
  say(`Service log: ${logFile}`);
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
    await writeChaosDocumentation(JSON.parse(readFileSync(docsFrom, 'utf8')) as ChaosReport, docsFrom);
    process.exit(0);
  }
  await main();
  await shutdown(0);
} catch (error) {
  process.stderr.write(`chaos failed: ${(error as Error).stack ?? String(error)}\n`);
  await shutdown(1);
}
