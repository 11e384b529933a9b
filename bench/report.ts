import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { machineLine, type Machine } from './support.js';

import type { LoadResult } from './load.js';

interface Errors {
  requests: number;
  non2xx: number;
  graphqlErrors: number;
  transportErrors: number;
  degraded: number;
  degradedReasons: Record<string, number>;
  samples: string[];
}

interface Measured {
  throughput: LoadResult;
  fixed: LoadResult;
  maxRateUnderP99Target: number;
  search: { rate: number; p99: number; throughput: number; pass: boolean }[];
  errors: Errors;
}

export interface OperationReport {
  service: Measured & {
    degradedShare: number | null;
    metrics: {
      cacheLookups: number;
      cacheLookupsPerRequest: number | null;
      cacheLevels: Record<string, number>;
      l1HitRatio: number | null;
      l2HitRatio: number | null;
      cosmosCallsPerRequest: number | null;
      cosmosTimedCallsPerRequest: number | null;
      cosmosRequestUnitsPerRequest: Record<string, number | null>;
      redisCallsPerRequest: number | null;
      /** Absent in reports from before the response cache. */
      responseCacheHitRatio?: number | null;
    };
  };
  ceiling?: Measured;
}

/** The ceiling's check of its own answers against the service's captured ones (bench/ceiling.ts). */
export interface CeilingCheck {
  compared: number;
  identical: number;
  differing: number;
  /** Home answers identical once `meta` is set aside, and the service's reasons there. */
  metaNormalized: number;
  metaReasons: Record<string, number>;
  sample?: string;
}

export interface BenchReport {
  date: string;
  mode: 'short' | 'full';
  machine: Machine;
  setup: {
    profiles: number;
    accounts: number;
    titles: number;
    seed: number;
    zipfS: number;
    mix: Record<string, number>;
    poolSizes: Record<string, number>;
    distinctRequests: number;
    captureFailures: number;
    goldReused: boolean;
    /** Absent in reports from before the ceiling built its answers in plain code. */
    ceilingCheck?: CeilingCheck;
    publishSeconds: number;
    readySeconds: number;
    durationSeconds: number;
    fixedRate: number;
    p99TargetMs: number;
    searchSteps: number;
    throughputConnections: number;
  };
  operations: Record<string, OperationReport>;
  mix: { rate: number; throughput: Record<string, LoadResult>; fixed: Record<string, LoadResult> };
  peakRssMiB: { service: number | null; ceiling: number | null };
  totalSeconds: number;
}

/**
 * Why the targets a run misses are missed, from profiling (`node --cpu-prof`) the service under the
 * home load; the table above says which are missed in this run.
 */
const WHY_MISSED = [
  'Where the time goes (CPU profiles of the service under the home mix, before and after the',
  'changes below): GraphQL execution of a home page (a few thousand fields, per-field resolvers',
  'through Nest for `artwork`) was about a quarter of the CPU, token signature checks 4 %, JSON',
  'serialization 6 %, and Redis calls timed out under CPU saturation because a late timer blamed',
  'Redis for answers already received (13 % of home pages degraded in the earlier run). Changes:',
  'a response cache for repeated home and catalogue requests (keyed by query, variables, snapshots,',
  'day and, for home, the playback progress), verified tokens remembered up to 60 s, compact JSON,',
  'and a Redis timeout that waits one poll phase before it fires.',
  '',
  '- **Catalogue max rate (title; search in some runs).** A cached answer still goes through Fastify, Nest, the Apollo',
  '  request pipeline (document cache, plugins), the per-token rate-limit counter in Redis (one round',
  '  trip per request) and the response-cache lookup; the ceiling looks the title up (or runs the',
  "  search) on the same snapshot and calls `JSON.stringify`. Under the benchmark's bursts (each connection sends its quota at the start of",
  '  every second) that fixed cost queues up. Closing it would take answering cached catalogue GETs',
  '  before Apollo (and from Front Door, which the edge headers already allow) and a rate-limit budget',
  '  taken from Redis in blocks rather than per request.',
  '- **Peak RSS.** Not the cache budgets alone: with the 100,000-profile gold and the home load at 32',
  '  connections, the default settings peaked at 618-772 MiB over three runs; a 16 MB in-process cache',
  '  (`CACHE_L1_MAX_MB`, default 64) peaked at 753 MiB, and with a 16 MB response cache too at 836 MiB',
  '  (more misses, more garbage); capping the old generation at 256 MB (`--max-old-space-size=256`)',
  '  held it to 465 MiB but cut throughput from about 800 to 300 req/s (the collector runs all the time:',
  '  the live set is close to 256 MB). The live set (catalogue and search index, cached profiles as',
  '  objects, cached answers) and the heap headroom V8 keeps at this allocation rate both need a heap',
  '  profile to size.',
];

const ceilingNote = (report: BenchReport): string[] => {
  const check = report.setup.ceilingCheck;
  if (check === undefined)
    return [
      '- **The ceiling served cached bytes** in this run: a bare Fastify process answering with the',
      '  bytes the service gave for each body. It is an upper bound, not a plain-code rebuild.',
    ];
  return [
    '- **The ceiling builds the answers in plain code.** bench/ceiling.ts is a bare Fastify process that',
    '  holds the sample gold in memory (catalogue, profiles as JSON, popular lists) and answers each',
    "  request with the service's own domain code (CatalogSnapshot for title, browse and search;",
    '  serveContextOf and buildHomePage for home), serialized with JSON.stringify. It tells the',
    '  operation by its exact query text and decodes the token without verifying it: no GraphQL',
    '  execution, no Nest, no token verification, no Redis, no Cosmos, no metrics or tracing, and no',
    '  response cache. At start it builds the answer to every captured request and compares it with',
    `  the service's bytes: ${check.identical} of ${check.compared} identical, ${check.metaNormalized} of them once the home`,
    `  \`meta\` is set aside (the service reported ${JSON.stringify(check.metaReasons)} there), ${check.differing} differing.`,
    '  The service answers repeated requests from its response cache, which the ceiling does not',
    '  have: the ratios compare what a client gets, not the same work. Its peak RSS includes the',
    '  whole profiles gold as JSON.',
  ];
};

const fixed1 = (value: number | null | undefined) =>
  value === null || value === undefined || Number.isNaN(value) ? 'n/a' : String(Math.round(value * 10) / 10);
const fixed2 = (value: number | null | undefined) =>
  value === null || value === undefined || Number.isNaN(value)
    ? 'n/a'
    : String(Math.round(value * 100) / 100);
const percent = (value: number | null | undefined) =>
  value === null || value === undefined ? 'n/a' : `${Math.round(value * 1000) / 10} %`;
const ratio = (service: number, ceiling: number | undefined) =>
  ceiling === undefined || ceiling === 0 ? 'n/a' : `${Math.round((service / ceiling) * 100) / 100}`;

const table = (header: string[], rows: string[][]): string[] => [
  `| ${header.join(' | ')} |`,
  `| ${header.map(() => '---').join(' | ')} |`,
  ...rows.map((row) => `| ${row.join(' | ')} |`),
];

/** Every step of the rate search passed: the steps ran out before the limit was found. */
const unbounded = (measured: Measured) => measured.search.every((step) => step.pass);
const maxRate = (measured: Measured) =>
  `${unbounded(measured) ? '>= ' : ''}${measured.maxRateUnderP99Target}`;

/** The summary tables, in Markdown (also printed to the terminal). */
/** The issue's targets, read off the report: met or missed, and by how much. */
const targets = (report: BenchReport): string[] => {
  const rows: string[][] = [];
  const rateRatio = (operation: string, wanted: number) => {
    const entry = report.operations[operation];
    if (entry?.ceiling === undefined) return;
    const { service, ceiling } = entry;
    const value =
      ceiling.maxRateUnderP99Target === 0 ? 0 : service.maxRateUnderP99Target / ceiling.maxRateUnderP99Target;
    const bound = unbounded(ceiling) && !unbounded(service) ? ' (ceiling not reached: an upper bound)' : '';
    rows.push([
      `${operation}: max rate with p99 < 50 ms >= ${wanted * 100} % of the ceiling`,
      `${Math.round(value * 100)} %${bound} (${maxRate(service)} / ${maxRate(ceiling)} req/s)`,
      value >= wanted ? 'met' : `missed by ${Math.round((wanted - value) * 100)} points`,
    ]);
  };
  rateRatio('home', 0.4);
  for (const operation of ['title', 'browse', 'search']) rateRatio(operation, 0.6);
  const home = report.operations['home']?.service.metrics;
  if (home !== undefined) {
    rows.push([
      'home: at most one Cosmos call per request (point reads only)',
      `${fixed2(home.cosmosCallsPerRequest)} calls per home request`,
      (home.cosmosCallsPerRequest ?? 0) <= 1 ? 'met' : 'missed',
    ]);
  }
  const rss = report.peakRssMiB.service;
  if (rss !== null)
    rows.push([
      'peak RSS < 400 MB',
      `${fixed1(rss)} MiB`,
      rss * 1.048576 < 400 ? 'met' : `missed by ${Math.round(rss * 1.048576 - 400)} MB`,
    ]);
  rows.push([
    'ready within 5 s of start',
    `${report.setup.readySeconds} s`,
    report.setup.readySeconds <= 5
      ? 'met'
      : `missed by ${Math.round((report.setup.readySeconds - 5) * 10) / 10} s`,
  ]);
  return table(['Target', 'Measured', 'Verdict'], rows);
};

export const summary = (report: BenchReport): string[] => {
  const entries = Object.entries(report.operations);
  const rate = report.setup.fixedRate;
  return [
    `Per operation, run alone (${report.setup.durationSeconds} s per step; service = dist/main.js in production mode):`,
    '',
    ...table(
      [
        'Operation',
        'Throughput req/s (service / ceiling / ratio)',
        `p50 / p95 / p99 ms at ${rate} req/s (service)`,
        `p99 ms at ${rate} req/s (ceiling)`,
        'Max req/s with p99 < 50 ms (service / ceiling / ratio)',
        'Errors (non-2xx + GraphQL + transport) / requests',
        'Degraded',
      ],
      entries.map(([operation, { service, ceiling }]) => [
        operation,
        `${fixed1(service.throughput.throughput)} / ${fixed1(ceiling?.throughput.throughput)} / ${ratio(service.throughput.throughput, ceiling?.throughput.throughput)}`,
        `${fixed1(service.fixed.latencyMs.p50)} / ${fixed1(service.fixed.latencyMs.p95)} / ${fixed1(service.fixed.latencyMs.p99)}`,
        fixed1(ceiling?.fixed.latencyMs.p99),
        `${maxRate(service)} / ${ceiling === undefined ? 'n/a' : maxRate(ceiling)} / ${
          ceiling !== undefined && unbounded(ceiling) && !unbounded(service) ? '<= ' : ''
        }${ratio(service.maxRateUnderP99Target, ceiling?.maxRateUnderP99Target)}`,
        `${service.errors.non2xx + service.errors.graphqlErrors + service.errors.transportErrors} / ${service.errors.requests}`,
        service.degradedShare === null ? '-' : percent(service.degradedShare),
      ]),
    ),
    '',
    'What each request cost the service (from its /metrics, diffed over that operation’s runs):',
    '',
    ...table(
      [
        'Operation',
        'Response cache hits',
        'Cache lookups / request',
        'L1 hits',
        'L2 hits',
        'Cosmos calls / request',
        'Cosmos RU / request',
        'Redis calls / request',
      ],
      entries.map(([operation, { service }]) => {
        const metrics = service.metrics;
        const units = Object.entries(metrics.cosmosRequestUnitsPerRequest)
          .map(([name, value]) => `${name} ${fixed2(value)}`)
          .join(', ');
        return [
          operation,
          percent(metrics.responseCacheHitRatio ?? null),
          fixed1(metrics.cacheLookupsPerRequest),
          percent(metrics.l1HitRatio),
          percent(metrics.l2HitRatio),
          fixed2(metrics.cosmosCallsPerRequest),
          units === '' ? '0' : units,
          fixed2(metrics.redisCallsPerRequest),
        ];
      }),
    ),
    '',
    `Mixed load (80 % home, 10 % title, 5 % browse, 5 % search at once; ${rate} req/s in all for the latencies):`,
    '',
    ...table(
      [
        'Operation',
        'Throughput req/s (unthrottled)',
        `p50 / p95 / p99 ms at its share of ${rate} req/s`,
        'Errors',
      ],
      Object.entries(report.mix.throughput).map(([operation, result]) => {
        const atRate = report.mix.fixed[operation];
        const errors = (r: LoadResult | undefined) =>
          r === undefined ? 0 : r.non2xx + r.graphqlErrors + r.transportErrors;
        return [
          operation,
          fixed1(result.throughput),
          atRate === undefined
            ? 'n/a'
            : `${fixed1(atRate.latencyMs.p50)} / ${fixed1(atRate.latencyMs.p95)} / ${fixed1(atRate.latencyMs.p99)}`,
          String(errors(result) + errors(atRate)),
        ];
      }),
    ),
    '',
    ...entries
      .filter(([, { service }]) => service.errors.degraded > 0)
      .map(
        ([operation, { service }]) =>
          `Degraded ${operation} answers (${service.errors.degraded}) by source and reason: ${Object.entries(
            service.errors.degradedReasons,
          )
            .map(([reason, count]) => `${reason} ${count}`)
            .join(', ')}.`,
      ),
    '',
    `Service ready ${report.setup.readySeconds} s after start; peak RSS ${fixed1(report.peakRssMiB.service)} MiB (ceiling ${fixed1(report.peakRssMiB.ceiling)} MiB).`,
  ];
};

const documentation = (report: BenchReport, resultsFile: string): string =>
  [
    '# Performance',
    '',
    'How fast the Flick API answers device requests on one machine, and how far that is from the',
    'ceiling of a bare Fastify process. Generated by `npm run bench` (bench/run.ts); the figures',
    `below are from ${report.date}, \`${resultsFile}\`.`,
    '',
    '## How to run',
    '',
    '```sh',
    'npm run bench            # full run: 100,000 profiles, 10 s steps, writes bench/results/<date>.json and this page',
    'npm run bench -- --short # CI smoke: 2,000 profiles, 2 s steps, 2 rate steps, report in bench/tmp/ (about 80-100 s)',
    '```',
    '',
    'Options: `--profiles N`, `--seed N`, `--rate N` (the fixed offered rate, default 200 req/s),',
    '`--duration S` (seconds per step). Needs `redis-server` on the PATH. The sample gold is built',
    'once into `bench/tmp/gold-<profiles>-<seed>-<date>/` and reused by later runs of the same day.',
    '',
    '## What the run does',
    '',
    '1. Starts its own Redis (nothing persisted), the embedded Cosmos server as its own process',
    '   (`dist/dev/embedded-cosmos.cli.js`), builds and publishes the sample gold (catalog,',
    '   profiles, popular) with the real publisher, starts a development token issuer and then the',
    '   service as `node dist/main.js` with `NODE_ENV=production`, `LOG_LEVEL=warn` and a device',
    '   rate limit high enough never to trigger. "Ready" is the time from spawning the service until',
    '   `/health/ready` answers 200.',
    '2. Builds request pools: `home` (bench/queries/tv-home.graphql) for profiles of accounts drawn',
    '   from a Zipf distribution (s = 1.1, seeded) over the accounts of `accounts.json`, one profile',
    '   of the drawn account uniformly; `title(id)` over the catalogue; `browse` of a genre in the',
    "   account's country; `search` for a word of a title name. Each request carries a real device",
    '   token of its account (roles, account_id, profile_ids, country), signed by the issuer.',
    '3. Sends every distinct request once (this warms the caches and captures the answers the',
    '   ceiling checks its own against), then, per operation on its own: an unthrottled run (throughput), a run at the',
    '   fixed offered rate (latencies), and a search for the highest offered rate whose p99 stays',
    '   under 50 ms with no errors and at least 90 % of the offered rate achieved: from the',
    '   fixed-rate run, doubling (capped at the measured throughput) or halving, then bisection,',
    `   at most ${report.setup.searchSteps} runs after the fixed-rate one (\`--short\`: 1). Then the mix`,
    '   (80/10/5/5) as four autocannon instances at once (unthrottled: the connections split 80/10/5/5,',
    "   so each operation's throughput there is bounded by its share of connections). Every answer body is checked: non-2xx,",
    '   GraphQL `errors` and (home) `meta.degraded` are counted.',
    '4. Reads `/metrics` before and after each operation: cache lookups by level',
    '   (`flick_cache_requests_total`), Cosmos and Redis calls (`flick_dependency_calls_total`) and',
    '   request units (`flick_cosmos_request_units_total`), and the peak RSS (VmHWM) of the service.',
    '5. Stops the service and runs the same measurements against the ceiling (bench/ceiling.ts).',
    '',
    '## Results',
    '',
    `Machine: ${machineLine(report.machine)}. ${report.setup.profiles.toLocaleString('en-US')} profiles in`,
    `${report.setup.accounts.toLocaleString('en-US')} accounts, ${report.setup.titles.toLocaleString('en-US')} titles;`,
    `${report.setup.distinctRequests.toLocaleString('en-US')} distinct requests in the pools. Publishing the gold took`,
    `${report.setup.publishSeconds} s${report.setup.goldReused ? ' (files reused from an earlier build)' : ''}; the whole run ${report.totalSeconds} s.`,
    '',
    ...summary(report),
    '',
    '## Targets',
    '',
    ...targets(report),
    '',
    ...WHY_MISSED,
    '',
    '## Notes',
    '',
    ...(report.machine.loadAverage.atStart[0]! > report.machine.cpus
      ? [
          `- **The machine was not idle.** The 1-minute load average was ${report.machine.loadAverage.atStart[0]} on`,
          `  ${report.machine.cpus} CPUs when the run started (${report.machine.loadAverage.atEnd[0]} at the end): other`,
          '  processes competed for the CPUs during (at least) the first part of the run, which measures',
          '  the service; the ceiling ran later. The service figures are pessimistic and the ratios unfair',
          '  to the service; rerun on an idle machine before drawing conclusions.',
        ]
      : []),
    '- `>=` in the rate column: every step of the search passed, so the limit lies higher (the',
    '  ratio is then an upper bound).',
    ...ceilingNote(report),
    '- **Everything shares one machine.** autocannon, the service (or the ceiling), Redis and the',
    '  embedded Cosmos server run on the same CPUs; on a 2-CPU machine the load generator takes a',
    '  large share of them, so throughputs are lower bounds and the ceiling figures are probably',
    '  limited by the client itself. Compare runs on the same machine only.',
    "- **Offered rate.** autocannon's `overallRate` is a per-connection quota per second: each",
    '  connection sends its share back to back at the start of each second, then waits. Latencies',
    '  at a "fixed rate" are those of these bursts (connections = rate / 10, 4 to 256), not of an',
    '  evenly spaced open-loop arrival process; the percentiles are computed by the harness from',
    '  every response time (no coordinated-omission correction).',
    '- **Warm caches.** Every distinct request was answered once before measuring, and the pools',
    '  repeat, so home pages are mostly served from L1 (5 s) and Redis (L2); the figures describe',
    '  a warm replica. The embedded Cosmos server runs on localhost as its own process: its latency is far',
    '  below that of Azure Cosmos DB, and RU figures are those it reports.',
    '- **Cosmos per-operation counts** are not exported by the service; "Cosmos calls / request"',
    '  is all calls (point reads and queries together) divided by the requests of that operation.',
    '- `title`, `browse` and `search` answer from the catalogue the service keeps in memory: no',
    '  cache lookups and no Cosmos calls. Their one Redis call per request is the per-token rate',
    '  limit counter (set very high here, but still counted), which `home` makes too.',
    '- Degraded `home` answers are listed by `meta.source` and `meta.reasons`. Nothing failed on',
    '  purpose here: with the CPUs saturated (mostly in the unthrottled run) Redis commands exceed',
    '  their 50 ms timeout (`CACHE_UNAVAILABLE`) and Cosmos calls their time limits',
    '  (`STORE_UNAVAILABLE`, `TIMEOUT`; whether via timeouts, the bulkhead or the breaker is not',
    '  broken down here).',
    '- Segments and partner metrics are not published: no benchmarked operation reads them.',
    '',
  ].join('\n');

/** Writes the JSON report (and in full runs docs/performance.md) and prints the summary. */
export const writeReport = async (report: BenchReport, dir: string, writeDocs: boolean): Promise<void> => {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${report.date}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${summary(report).join('\n')}\n\nReport: ${file}\n`);
  if (writeDocs) await writeDocumentation(report, file);
};

/** Writes docs/performance.md from a report (`file`: where the report is kept), Prettier-formatted. */
export const writeDocumentation = async (report: BenchReport, file: string): Promise<void> => {
  const prettier = await import('prettier');
  const target = 'docs/performance.md';
  const options = (await prettier.resolveConfig(target)) ?? {};
  writeFileSync(target, await prettier.format(documentation(report, file), { ...options, filepath: target }));
  process.stdout.write(`Wrote ${target}\n`);
};
