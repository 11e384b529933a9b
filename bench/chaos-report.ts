import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { machineLine, type Machine } from './support.js';

import {
  PERSONAL_SHARE,
  type PhaseReport,
  type SegmentStats,
  type TimelinePoint,
  type Verdict,
} from './chaos-analysis.js';

/** The JSON report of `npm run chaos`, its summary tables, and docs/reliability.md written from it. */

export interface ChaosReport {
  date: string;
  /** ISO time the run started. */
  startedAt: string;
  mode: 'short' | 'full';
  machine: Machine;
  setup: {
    profiles: number;
    accounts: number;
    titles: number;
    seed: number;
    mix: Record<string, number>;
    poolSizes: Record<string, number>;
    rate: number;
    rateBasis: string;
    perConnectionRate: number;
    slicesPerOperation: number;
    budgetMs: number;
    p99TargetMs: number;
    personalTargetSeconds: number;
    faultSeconds: number;
    recoverySeconds: number;
    baselineSeconds: number;
    redisOutageSeconds: number;
    retryAfterMs: number;
    serveEmptyStore: boolean;
    serviceEnv: Record<string, string>;
    publishSeconds: number;
    readySeconds: number;
    warmRequests: number;
    /** Home pages of the warm-up still degraded after its last round. */
    warmDegraded: number;
    loadSeconds: number;
  };
  /** The commit the service was built from, and source files (src/) that differed from it. */
  source: { commit: string; uncommitted: string[] };
  phases: PhaseReport[];
  /** Second by second over the whole load. */
  timeline: TimelinePoint[];
  totalSeconds: number;
}

const fixed = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value)
    ? 'n/a'
    : String(Math.round(value * 10 ** digits) / 10 ** digits);
const percent = (value: number | null | undefined) =>
  value === null || value === undefined ? 'n/a' : `${Math.round(value * 1000) / 10} %`;
const entries = (counts: Record<string, number> | undefined) =>
  Object.entries(counts ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([name, value]) => `${name} ${value}`)
    .join(', ') || '-';

const table = (header: string[], rows: string[][]): string[] => [
  `| ${header.join(' | ')} |`,
  `| ${header.map(() => '---').join(' | ')} |`,
  ...rows.map((row) => `| ${row.join(' | ')} |`),
];

const both = (phase: PhaseReport, pick: (segment: SegmentStats) => number) =>
  pick(phase.during) + pick(phase.after);

const verdict = (target: Verdict | null, unit: string) => {
  if (target === null) return '-';
  if (target.value === null) return `**missed** (not reached in the window)`;
  if (target.pass) return `met (${fixed(target.value)} ${unit})`;
  return `**missed** by ${fixed(target.value - target.limit)} ${unit} (${fixed(target.value)} ${unit})`;
};

const shade = (share: number | null) => {
  if (share === null) return ' ';
  if (share >= PERSONAL_SHARE) return '█';
  if (share >= 0.7) return '▆';
  if (share >= 0.5) return '▄';
  if (share >= 0.3) return '▃';
  return share > 0 ? '▁' : '·';
};

/**
 * One line per phase, one character per second: the share of personal home answers sent in that
 * second (█ at least 90 %, ▆ 70 %, ▄ 50 %, ▃ 30 %, ▁ some, · none), `|` where the fault ended.
 */
export const strips = (report: ChaosReport): string[] => {
  const width = Math.max(...report.phases.map((phase) => phase.name.length));
  return report.phases.map((phase) => {
    const faultEnd = phase.startSecond + phase.faultSeconds;
    const end = faultEnd + phase.recoverySeconds;
    let line = '';
    let marked = phase.recoverySeconds === 0;
    for (const point of report.timeline) {
      // A second belongs to the phase its middle falls in.
      const middle = point.second + 0.5;
      if (middle < phase.startSecond || middle >= end) continue;
      if (!marked && middle >= faultEnd) {
        line += '|';
        marked = true;
      }
      line += shade(point.homeAnswers === 0 ? null : point.homePersonal / point.homeAnswers);
    }
    return `${phase.name.padEnd(width)}  ${line}`;
  });
};

const factsOf = (phase: PhaseReport) =>
  Object.entries(phase.facts)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ') || '-';

const phaseTable = (report: ChaosReport): string[] =>
  table(
    [
      'Phase',
      'Fault s',
      'Requests',
      'Non-200',
      'GraphQL errors',
      'Transport errors',
      'Home degraded during / after',
      'Degraded home during, by source and reason',
      'p50 / p99 / max ms during (all requests)',
      'p99 ms during (home)',
      'p99 ms after (all requests)',
      'Personal again after (first personal) s',
    ],
    report.phases.map((phase) => [
      phase.title,
      fixed(phase.faultSeconds),
      String(both(phase, (segment) => segment.requests)),
      String(both(phase, (segment) => segment.non200)),
      String(both(phase, (segment) => segment.graphqlErrors)),
      String(both(phase, (segment) => segment.transportErrors)),
      `${percent(phase.during.home.degradedShare)} / ${percent(phase.after.home.degradedShare)}`,
      [entries(phase.during.home.sources), entries(phase.during.home.reasons)]
        .filter((text) => text !== '-')
        .join('; ') || '-',
      `${fixed(phase.during.latencyMs.p50)} / ${fixed(phase.during.latencyMs.p99)} / ${fixed(phase.during.latencyMs.max)}`,
      fixed(phase.during.byOperation['home']?.latencyMs.p99),
      phase.after.requests === 0 ? '-' : fixed(phase.after.latencyMs.p99),
      phase.targets.personalAgain === null
        ? '-'
        : `${fixed(phase.recovery.personalAgainSeconds)} (${fixed(phase.recovery.firstPersonalSeconds, 2)})`,
    ]),
  );

const targetTable = (report: ChaosReport): string[] =>
  table(
    [
      'Phase',
      'Zero non-200 / GraphQL / transport errors',
      `p99 during the fault <= ${report.setup.p99TargetMs} ms (all requests, and home alone: the higher)`,
      `Personal again <= ${report.setup.personalTargetSeconds} s`,
    ],
    report.phases.map((phase) => [
      phase.title,
      phase.targets.errors.pass ? 'met' : `**missed**: ${phase.targets.errors.value} failed`,
      verdict(phase.targets.p99DuringFault, 'ms'),
      verdict(phase.targets.personalAgain, 's'),
    ]),
  );

const dependencyTable = (report: ChaosReport): string[] =>
  table(
    [
      'Phase',
      'Facts',
      'Cosmos calls by outcome',
      'Breaker transitions',
      'Home response cache',
      'Cache lookups by level',
      'Last-good reads',
      'Proxy',
    ],
    report.phases.map((phase) => [
      phase.title,
      factsOf(phase),
      entries(phase.metrics?.cosmosCalls),
      entries(phase.metrics?.breakerTransitions),
      entries(phase.metrics?.homeResponseCache),
      entries(phase.metrics?.cacheLookups),
      entries(phase.metrics?.lastGoodReads),
      phase.proxy === undefined
        ? '-'
        : entries(Object.fromEntries(Object.entries(phase.proxy).filter(([, value]) => value > 0))),
    ]),
  );

const failureSamples = (report: ChaosReport): string[] =>
  report.phases.flatMap((phase) => {
    const samples = [...phase.during.errorSamples, ...phase.after.errorSamples];
    return samples.length === 0
      ? []
      : [
          `Failed answers in "${phase.title}" (first ${samples.length}):`,
          '',
          ...samples.map((sample) => `- \`${sample.replaceAll('`', "'")}\``),
          '',
        ];
  });

const timelineLegend =
  'Personal home answers, second by second (█ at least 90 %, ▆ 70 %, ▄ 50 %, ▃ 30 %, ▁ fewer, · none; `|` where the fault ended):';

/** Per-phase and per-target tables, in Markdown (also printed to the terminal). */
export const summary = (report: ChaosReport): string[] => [
  `Per phase (${report.setup.rate} req/s offered; "during" is from the fault's start to its end, "after" the ${report.setup.recoverySeconds} s that follow; requests are placed by the time they were sent):`,
  '',
  ...phaseTable(report),
  '',
  timelineLegend,
  '',
  '```text',
  ...strips(report),
  '```',
  '',
  `Targets: no failed device request in any phase; p99 during a fault within the request budget + 50 ms (${report.setup.p99TargetMs} ms); personal home pages back within ${report.setup.personalTargetSeconds} s after the fault ends:`,
  '',
  ...targetTable(report),
  '',
  'What the dependencies saw (deltas of the service’s /metrics over each phase, and the fault proxy’s counts):',
  '',
  ...dependencyTable(report),
  '',
  ...failureSamples(report),
];

const phaseNamed = (report: ChaosReport, name: string) => report.phases.find((phase) => phase.name === name);

/** The share of degraded home answers during the fault that came from `source`. */
const sourceShare = (phase: PhaseReport, source: string) =>
  share(phase.during.home.sources[source] ?? 0, phase.during.home.answers);
const share = (part: number, whole: number) => (whole === 0 ? null : part / whole);

/** Share of the phase's home requests answered from the response cache, or null without one. */
const responseCacheShare = (phase: PhaseReport): number | null => {
  const counts = phase.metrics?.homeResponseCache ?? {};
  return share(counts['hit'] ?? 0, (counts['hit'] ?? 0) + (counts['miss'] ?? 0));
};

/** "Half of the home requests came from the response cache; ..." when the service has one. */
const fromResponseCache = (phase: PhaseReport): string => {
  const cached = responseCacheShare(phase);
  return cached === null
    ? ''
    : `${percent(cached)} of the phase’s home requests were answered from the response cache ` +
        '(`RESPONSE_CACHE_MAX_MB`: the same query, variables, snapshots, day and playback progress as an earlier ' +
        'personal answer), which needs no store: they stay personal. ';
};

/** In one sentence per verdict: how many phases met each target. */
const headline = (report: ChaosReport): string => {
  const faults = report.phases.filter((phase) => phase.targets.p99DuringFault !== null);
  const count = (pass: (phase: PhaseReport) => boolean, of: PhaseReport[]) => of.filter(pass).length;
  const failedRequests = report.phases.reduce((sum, phase) => sum + (phase.targets.errors.value ?? 0), 0);
  return [
    `No failed device request: ${count((phase) => phase.targets.errors.pass, report.phases)} of ${report.phases.length} phases`,
    `(${failedRequests} failed requests in all).`,
    `p99 within ${report.setup.p99TargetMs} ms during the fault: ${count((phase) => phase.targets.p99DuringFault?.pass === true, faults)} of ${faults.length} faults.`,
    `Personal pages back within ${report.setup.personalTargetSeconds} s: ${count((phase) => phase.targets.personalAgain?.pass === true, faults)} of ${faults.length} faults.`,
  ].join(' ');
};

/** What each phase shows, with the mechanism behind it (true of the code; figures from the run). */
const observations = (report: ChaosReport): string[] => {
  const lines: string[] = [];
  const paused = phaseNamed(report, 'cosmos-paused');
  const killed = phaseNamed(report, 'cosmos-killed');
  const redis = phaseNamed(report, 'redis-killed');
  const throttled = phaseNamed(report, 'cosmos-throttled');
  const snapshot = phaseNamed(report, 'snapshot');
  const breaker = (phase: PhaseReport) => phase.metrics?.breakerTransitions['cosmos → OPEN'] ?? 0;
  if (paused !== undefined)
    lines.push(
      `- **Cosmos paused.** ${percent(paused.during.home.degradedShare)} of the home pages sent during the pause were degraded ` +
        `(${percent(sourceShare(paused, 'CACHED_COPY'))} of all home pages built from the profile’s last good copy, \`CACHED_COPY\`` +
        ((paused.during.home.sources['POPULAR'] ?? 0) > 0
          ? `; ${percent(sourceShare(paused, 'POPULAR'))} popular titles for profiles without one). `
          : '). ') +
        fromResponseCache(paused) +
        'For the other requests, a profile’s fresh copy lives 5 s in the service (`CACHE_L1_TTL_MS`) and, in this run, as ' +
        'long in Redis; after that every read goes to the store and times out after 150 ms (`COSMOS_CALL_TIMEOUT_MS`) until five in a row open the ' +
        `breaker (it opened ${breaker(paused)} times: every 2 s, \`BREAKER_HALF_OPEN_AFTER_MS\`, one request probes Cosmos and ` +
        'waits for the timeout), and the page is built from the last good copy. Personal pages were back ' +
        `${fixed(paused.recovery.personalAgainSeconds)} s after SIGCONT (the open breaker lets the next probe through within 2 s).`,
    );
  if (killed !== undefined)
    lines.push(
      `- **Cosmos killed.** Cosmos was unreachable for ${killed.facts['unreachableSeconds'] ?? killed.facts['unreachableOrEmptySeconds'] ?? '?'} s ` +
        `(restart ${killed.facts['restartSeconds'] ?? '?'} s, republishing ${killed.facts['republishSeconds'] ?? '?'} s); ` +
        `${percent(killed.during.home.degradedShare)} of the home pages were degraded, as while paused. ` +
        fromResponseCache(killed) +
        'The SDK retries a ' +
        'refused or dropped connection itself a second later (its default retry policy for reads), so calls run into the ' +
        'service’s timeout rather than failing at once. Personal pages were back ' +
        `${fixed(killed.recovery.personalAgainSeconds)} s after Cosmos answered again with its data (the open breaker ` +
        'lets the next probe through within 2 s), ' +
        `${fixed(Number(killed.facts['republishSeconds'] ?? Number.NaN) + (killed.recovery.personalAgainSeconds ?? Number.NaN))} s after the restart.`,
    );
  if (redis !== undefined)
    lines.push(
      `- **Redis killed.** Every home page sent while Redis was gone was degraded (${percent(redis.during.home.degradedShare)}), ` +
        `still personal (\`source: PERSONALIZED\`, reason \`CACHE_UNAVAILABLE\`): each home page reads the profile’s playback progress ` +
        'from Redis, so the page says "continue watching" may be missing (and, with the progress unknown, the response ' +
        'cache is not used). Profiles and popular lists came from the ' +
        `store instead of Redis. The reconnect (ioredis, 0.2 to 2 s backoff) took ${fixed(redis.recovery.personalAgainSeconds)} s after the restart.`,
    );
  if (throttled !== undefined)
    lines.push(
      `- **Cosmos throttled.** The 429s are answered at once, so the breaker opens within the first few requests ` +
        `(${breaker(throttled)} times in all) and the pages that need the store come from last good copies ` +
        `(${percent(throttled.during.home.degradedShare)} of the home pages degraded) with little added latency. ` +
        fromResponseCache(throttled) +
        '`STORE_THROTTLED` appears only on the ' +
        'requests that met a 429 themselves; the rest say `STORE_UNAVAILABLE` (breaker open). A retry-after longer than what is ' +
        'left of the request budget is not waited for. Personal pages were back ' +
        `${fixed(throttled.recovery.personalAgainSeconds)} s after the 429s stopped, at the next probe.`,
    );
  if (snapshot !== undefined) {
    const degraded = snapshot.during.home.degradedShare ?? 0;
    lines.push(
      `- **New snapshot.** Publishing ${report.setup.profiles.toLocaleString('en-US')} profiles took ${snapshot.facts['publishSeconds'] ?? '?'} s, during which ` +
        (degraded >= 0.05
          ? `${percent(degraded)} of the home pages were degraded: the embedded server, single-threaded, ingests the bulk ` +
            'writes and answers the service’s point reads late (timeouts, then the breaker), and it shares the two CPUs ' +
            'with everything else. '
          : `${percent(degraded)} of the home pages were degraded: the store kept up with the bulk writes and the ` +
            'service’s reads. ') +
        `The service served the new snapshot ${snapshot.facts['newSnapshotServedSeconds'] ?? '?'} s after it was ` +
        'activated (manifests are re-read every 5 s); cache keys carry the snapshot id, so from then on every profile ' +
        `is read from the store again, which the p99 after the switch (${fixed(snapshot.after.latencyMs.p99)} ms) includes.`,
    );
  }
  const cacheBlips = report.phases.filter(
    (phase) =>
      phase.name !== 'redis-killed' &&
      (phase.during.home.reasons['CACHE_UNAVAILABLE'] ?? 0) +
        (phase.after.home.reasons['CACHE_UNAVAILABLE'] ?? 0) >
        0,
  );
  if (cacheBlips.length > 0)
    lines.push(
      `- **\`CACHE_UNAVAILABLE\` outside the Redis phase** (${cacheBlips.map((phase) => phase.name).join(', ')}). A Redis call ` +
        'that takes longer than 50 ms (`REDIS_COMMAND_TIMEOUT_MS`) makes the service skip Redis for one second (the ' +
        'gateway’s cool-down), and every home page in that second says `CACHE_UNAVAILABLE`. On this machine that happens ' +
        'when the CPUs are saturated (the Cosmos server ingesting, the burst of store reads after a fault), not because ' +
        'Redis is down.',
    );
  return lines;
};

/** Where a target was missed: what the figures say about why. */
const misses = (report: ChaosReport): string[] =>
  report.phases.flatMap((phase) => {
    const lines: string[] = [];
    const p99 = phase.targets.p99DuringFault;
    if (p99 !== null && !p99.pass) {
      const byOperation = Object.entries(phase.during.byOperation).sort(
        (a, b) => (b[1].latencyMs.p99 ?? 0) - (a[1].latencyMs.p99 ?? 0),
      );
      lines.push(
        `- **${phase.title}: p99 ${fixed(p99.value)} ms, ${fixed((p99.value ?? 0) - p99.limit)} ms over.** ` +
          `${percent(phase.during.overTargetShare)} of the requests sent during the fault took longer than ${p99.limit} ms; ` +
          `p99 by operation: ${byOperation.map(([operation, stats]) => `${operation} ${fixed(stats.latencyMs.p99)} ms`).join(', ')}. ` +
          ((byOperation.find(([operation]) => operation !== 'home')?.[1].latencyMs.p99 ?? 0) > p99.limit
            ? 'Operations that never wait for Cosmos or Redis beyond the rate limit counter were as slow: the time went to ' +
              'waiting for a CPU, not to the fallback chain.'
            : 'The operations that answer from memory stayed under the limit: the time went to home’s dependency calls.'),
      );
    }
    const personal = phase.targets.personalAgain;
    if (personal !== null && !personal.pass) {
      lines.push(
        `- **${phase.title}: personal pages ${personal.value === null ? `not back at ${Math.round(PERSONAL_SHARE * 100)} % within the ${fixed(phase.recoverySeconds)} s window` : `back after ${fixed(personal.value)} s, ${fixed(personal.value - personal.limit)} s late`}.** ` +
          `Home answers after the fault: ${percent(phase.after.home.personalShare)} personal; degraded by source: ${entries(phase.after.home.sources)}; by reason: ${entries(phase.after.home.reasons)}.`,
      );
    }
    if (!phase.targets.errors.pass) {
      lines.push(
        `- **${phase.title}: ${phase.targets.errors.value} failed requests** (${both(phase, (segment) => segment.non200)} non-200, ${both(phase, (segment) => segment.graphqlErrors)} with GraphQL errors, ${both(phase, (segment) => segment.transportErrors)} transport errors); the first are listed under Results.`,
      );
    }
    return lines;
  });

const documentation = (report: ChaosReport, resultsFile: string): string => {
  const { setup } = report;
  const missed = misses(report);
  const busy = report.machine.loadAverage.atStart[0]! > report.machine.cpus / 2;
  return [
    '# Reliability',
    '',
    'What device apps see while the Flick API’s dependencies fail under load, and how soon it',
    'recovers. Generated by `npm run chaos` (bench/chaos.ts) from',
    `\`${resultsFile}\`, a run started at ${report.startedAt} against commit ${report.source.commit}` +
      (report.source.uncommitted.length === 0
        ? '.'
        : ` with uncommitted changes to ${report.source.uncommitted.join(', ')}.`),
    '',
    `**${headline(report)}**`,
    '',
    ...targetTable(report),
    '',
    '## How to run',
    '',
    '```sh',
    'npm run chaos            # full run: 10,000 profiles, 15 s faults, writes bench/results/chaos-<date>.json and this page',
    'npm run chaos -- --short # CI smoke: 2,000 profiles, 5 s faults, report in bench/tmp/ (about 90 s)',
    '```',
    '',
    'Options: `--rate N` (offered req/s of the whole mix), `--profiles N`, `--seed N`,',
    '`--fault-seconds S`, `--recovery-seconds S`, `--baseline-seconds S`, `--redis-outage-seconds S`,',
    '`--retry-after-ms N` (of the 429 answers), `--l2-ttl-seconds S` (the service’s Redis cache',
    'lifetime, see below), `--serve-empty-store` (see the notes), `--docs-from <report.json>` (only',
    'rewrite this page). Needs `redis-server` and `nice` on the PATH; `npm run chaos` builds the',
    'service first. The run exits 0 when it completes, whatever the figures: the targets are read',
    'here, not asserted.',
    '',
    '## What the run does',
    '',
    '1. Sets up the stack of `npm run bench` (bench/stack.ts): its own Redis, the embedded Cosmos',
    '   server as its own process, the sample gold (catalog, profiles, popular) published with the',
    '   real publisher, a development token issuer, the same request pools and queries, and the',
    '   service (`node dist/main.js`, production mode, its caches as configured by default',
    '   otherwise). Three differences:',
    '   - The service reaches Cosmos through a fault-injecting HTTPS proxy (bench/fault-proxy.ts)',
    '     for the whole run. It presents the server’s own certificate and rewrites the endpoints',
    '     of the account document, which the SDK would otherwise use to go around it.',
    `   - The service’s Redis cache lifetime is ${setup.serviceEnv['CACHE_L2_TTL_SECONDS'] ?? 'the default'} s instead of 300 s (\`CACHE_L2_TTL_SECONDS\`). With`,
    '     300 s every profile of the pools stays in Redis for the whole run after the warm-up and',
    '     the device path hardly reads Cosmos: Cosmos faults would test the cache, not the fallback',
    '     chain (try `--l2-ttl-seconds 300`). With the lifetime of the in-process cache (5 s, unchanged),',
    '     every profile not asked for in the last 5 s is read from Cosmos when its page is not in the',
    '     response cache: harsher than production, where Redis is shared by the replicas.',
    `   - The gold has ${setup.profiles.toLocaleString('en-US')} profiles rather than the benchmark’s 100,000, so that`,
    '     republishing it after the kill takes seconds, not minutes.',
    `2. Sends every distinct request of the pools (${setup.warmRequests.toLocaleString('en-US')}) four at a time, asking again for the`,
    `   home pages that came back degraded (${setup.warmDegraded} still were), so the caches hold last-good copies of`,
    '   every profile, as in a service that has been running a while. Then it starts the mix:',
    `   ${setup.rate} req/s in all (${setup.rateBasis}), 80 % home, 10 % title, 5 % browse, 5 % search. Each`,
    `   operation’s share is sent by ${setup.slicesPerOperation} autocannon instances started evenly over a second (autocannon sends`,
    '   each connection’s quota at the start of every second; staggering spreads these bursts), each',
    `   connection sending at most ${setup.perConnectionRate} requests a second, so that answers as slow as the request budget`,
    '   do not lower the offered rate. Every answer is checked (status, GraphQL `errors`, home',
    '   `meta`) and kept with the time its request was sent.',
    `3. Runs the phases one after the other, each a fault and then ${setup.recoverySeconds} s without one:`,
    `   - **No fault** (${setup.baselineSeconds} s): the reference.`,
    `   - **Cosmos paused**: SIGSTOP of the Cosmos process for ${setup.faultSeconds} s, then SIGCONT. Connections stay`,
    '     open and nothing answers: every call runs into its timeout.',
    '   - **Cosmos killed**: SIGKILL, then the server is started again on the same port with the',
    '     same certificate. It keeps its data in memory, so it comes back empty and the sample gold',
    '     is published again (same files, same snapshot ids, the real publisher in a child process).',
    '     Azure Cosmos DB does not lose its data when a node goes away, so from the kill until the',
    '     data is back the proxy drops the service’s connections, as a dead server would; the fault',
    '     ends when it forwards again. The restart and the republish times are reported as facts:',
    '     add the republish time to "personal again" for the time from the restart.',
    `   - **Redis killed**: SIGKILL, ${setup.redisOutageSeconds} s without Redis, then a new, empty Redis on the same port.`,
    `   - **Cosmos throttled**: for ${setup.faultSeconds} s the proxy answers every Cosmos request 429 with`,
    `     \`x-ms-retry-after-ms: ${setup.retryAfterMs}\` and substatus 3200, as Cosmos DB does when the provisioned`,
    '     throughput is used up.',
    '   - **New snapshot**: `gold publish` (the CLI behind `npm run gold`) of the profiles, same records',
    '     under a new snapshot id, while the load runs; the fault lasts as long as the publish (its',
    '     writes compete with the service’s reads for the store) and ends when the new snapshot is',
    '     active. A probe then asks for a home page every 100 ms until it names the new snapshot.',
    '   The publisher runs as its own process at low CPU priority (`nice 10`): in production it runs',
    '   elsewhere, and here it would take the CPUs of the service and the load generator.',
    '4. Reports per phase: requests, non-200 answers, answers with GraphQL errors, transport errors',
    '   (connection errors, 10 s timeouts), the share of degraded home answers by `meta.source` and',
    '   `meta.reasons`, latencies during the fault and after it, and how long after the fault ended',
    '   home pages were personal again: the start of the first one-second window in which at least',
    `   ${Math.round(PERSONAL_SHARE * 100)} % of the home answers were personal (\`source: PERSONALIZED\`, not degraded); in`,
    '   brackets the first personal answer after the fault. From the service’s /metrics: Cosmos',
    '   calls by outcome, breaker transitions, cache lookups by level, last-good reads; from the',
    '   proxy: what it forwarded, throttled, refused or saw abandoned by the service (its call',
    '   timeout); and the service’s warnings (kept in bench/tmp/chaos-<date>-service.log).',
    '',
    '## Results',
    '',
    `Machine: ${machineLine(report.machine)}. ${setup.profiles.toLocaleString('en-US')} profiles in`,
    `${setup.accounts.toLocaleString('en-US')} accounts, ${setup.titles.toLocaleString('en-US')} titles; request budget ${setup.budgetMs} ms (\`REQUEST_BUDGET_MS\`); publishing`,
    `the gold took ${setup.publishSeconds} s, the service was ready ${setup.readySeconds} s after start; the load ran`,
    `${setup.loadSeconds} s, the whole run ${report.totalSeconds} s.`,
    '',
    ...(busy
      ? [
          `**The machine was busy.** The 1-minute load average was ${report.machine.loadAverage.atStart[0]} on ${report.machine.cpus} CPUs when the`,
          `run started (${report.machine.loadAverage.atEnd[0]} at the end): other processes competed with the service, the`,
          'load generator, Redis and the Cosmos server for the CPUs. Latencies are pessimistic; rerun on',
          'an idle machine before drawing conclusions from them.',
          '',
        ]
      : []),
    `Per phase (${setup.rate} req/s offered; "during" is from the fault’s start to its end, "after" the ${setup.recoverySeconds} s that follow; requests are placed by the time they were sent):`,
    '',
    ...phaseTable(report),
    '',
    timelineLegend,
    '',
    '```text',
    ...strips(report),
    '```',
    '',
    'What the dependencies saw (deltas of the service’s /metrics over each phase, and the fault proxy’s counts):',
    '',
    ...dependencyTable(report),
    '',
    ...failureSamples(report),
    '## What the phases show',
    '',
    ...observations(report),
    '',
    '## Where targets were missed',
    '',
    ...(missed.length === 0 ? ['Every target was met in this run.'] : missed),
    '',
    '## Notes',
    '',
    '- Everything runs on one machine: the load generator, the service, Redis, the Cosmos server,',
    '  the proxy and the publisher share its CPUs, so a fault that makes one of them work harder',
    '  (the Cosmos server ingesting, the service reading everything again after a fault) slows the',
    '  others, including `title`, `browse` and `search`, which answer from memory. The embedded',
    '  Cosmos server answers on localhost in well under a millisecond when idle; Azure Cosmos DB is',
    '  further away and does not share the service’s CPUs.',
    '- Latencies are those autocannon measured per answer, placed by the time the request was sent;',
    '  a request whose answer never came is a transport error (timeout after 10 s), not a latency.',
    '- Degraded is not failed: the service answers from the next step of its fallback chain',
    '  (last good copy, popular titles, emergency titles) and says so in `meta`; only non-200',
    '  answers, GraphQL errors and transport errors count as failures.',
    '- `--serve-empty-store` lets the service see the restarted, empty server while the gold is',
    '  published again. The 404 of a database that does not exist reads like that of a document',
    '  that does not: profiles come back as members without gold (`NO_PROFILE_DATA`, popular titles)',
    '  and popular lists as missing (the emergency list is served), without a degraded reason for',
    '  the store. Those answers are cached like any other, for the Redis lifetime (300 s in',
    '  production), and replace the last good copies. Azure Cosmos DB does not come back empty,',
    '  which is why the default run hides the empty server; a container deleted and created again',
    '  by mistake would look the same.',
    '',
  ].join('\n');
};

/** Writes the JSON report (and in full runs docs/reliability.md) and prints the summary. */
export const writeChaosReport = async (
  report: ChaosReport,
  dir: string,
  writeDocs: boolean,
): Promise<void> => {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `chaos-${report.date}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${summary(report).join('\n')}\nReport: ${file}\n`);
  if (writeDocs) await writeChaosDocumentation(report, file);
};

/** Writes docs/reliability.md from a report (`file`: where the report is kept), Prettier-formatted. */
export const writeChaosDocumentation = async (report: ChaosReport, file: string): Promise<void> => {
  const prettier = await import('prettier');
  const target = 'docs/reliability.md';
  const options = (await prettier.resolveConfig(target)) ?? {};
  writeFileSync(target, await prettier.format(documentation(report, file), { ...options, filepath: target }));
  process.stdout.write(`Wrote ${target}\n`);
};
