import type { FaultProxyCounts } from './fault-proxy.js';
import type { Answer } from './load.js';
import { delta, labelValues, type Samples } from './support.js';

/**
 * The figures of one chaos phase from the answers the load generator kept: each answer is placed by
 * the time its request was sent, in the fault (from the phase's start until the fault ended) or in
 * the recovery window after it. Also the deltas of the service's own metrics over the phase.
 */

export interface Observed extends Answer {
  operation: string;
}

export interface TransportFailure {
  operation: string;
  /** `performance.now()` when it was reported. */
  at: number;
  kind: 'error' | 'timeout';
}

export interface Latencies {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface OperationStats {
  requests: number;
  non200: number;
  graphqlErrors: number;
  transportErrors: number;
  latencyMs: Latencies;
}

export interface HomeStats {
  answers: number;
  /** Source PERSONALIZED and not degraded. */
  personal: number;
  personalShare: number | null;
  degraded: number;
  degradedShare: number | null;
  /** Degraded answers by `meta.source`. */
  sources: Record<string, number>;
  /** Degraded answers by each of their `meta.reasons`. */
  reasons: Record<string, number>;
}

export interface SegmentStats extends OperationStats {
  /** Seconds since the load started. */
  fromSecond: number;
  toSecond: number;
  byOperation: Record<string, OperationStats>;
  home: HomeStats;
  /** Share of the answers slower than the p99 target. */
  overTargetShare: number | null;
  errorSamples: string[];
}

export interface Recovery {
  /** Seconds from the fault's end until the first personal home answer (by send time). */
  firstPersonalSeconds: number | null;
  /**
   * Seconds from the fault's end until the start of the first one-second window (stepping 100 ms)
   * in which at least {@link PERSONAL_SHARE} of the home answers were personal.
   */
  personalAgainSeconds: number | null;
}

export interface MetricDeltas {
  cosmosCalls: Record<string, number>;
  redisCalls: Record<string, number>;
  breakerTransitions: Record<string, number>;
  cacheLookups: Record<string, number>;
  lastGoodReads: Record<string, number>;
  /** Home requests answered from the service's response cache (`hit`) or executed (`miss`). */
  homeResponseCache: Record<string, number>;
}

export interface Verdict {
  pass: boolean;
  value: number | null;
  limit: number;
}

export interface PhaseReport {
  name: string;
  title: string;
  /** Seconds since the load started. */
  startSecond: number;
  faultSeconds: number;
  recoverySeconds: number;
  facts: Record<string, number | string>;
  during: SegmentStats;
  after: SegmentStats;
  recovery: Recovery;
  targets: {
    /** Non-200, GraphQL errors and transport errors over the whole phase. */
    errors: Verdict;
    p99DuringFault: Verdict | null;
    personalAgain: Verdict | null;
  };
  metrics?: MetricDeltas;
  proxy?: FaultProxyCounts;
  /** The service's most frequent log messages (warn and above) during the phase. */
  log?: Record<string, number>;
}

export const PERSONAL_SHARE = 0.9;
const WINDOW_MS = 1000;
const STEP_MS = 100;
/** A window with fewer home answers says nothing. */
const MIN_WINDOW_ANSWERS = 5;

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const share = (part: number, whole: number) => (whole === 0 ? null : round(part / whole, 4));
const sentAt = (answer: Observed) => answer.endedAt - answer.latencyMs;
const isPersonal = (answer: Observed) => answer.meta?.source === 'PERSONALIZED' && !answer.meta.degraded;

const latencies = (answers: readonly Observed[]): Latencies => {
  if (answers.length === 0) return { p50: null, p95: null, p99: null, max: null };
  const sorted = Float64Array.from(answers, (answer) => answer.latencyMs).sort();
  const at = (p: number) =>
    round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
  return { p50: at(50), p95: at(95), p99: at(99), max: round(sorted[sorted.length - 1]!) };
};

const operationStats = (
  answers: readonly Observed[],
  failures: readonly TransportFailure[],
): OperationStats => ({
  requests: answers.length + failures.length,
  non200: answers.filter((answer) => answer.status !== 200).length,
  graphqlErrors: answers.filter((answer) => answer.graphqlError).length,
  transportErrors: failures.length,
  latencyMs: latencies(answers),
});

const count = (into: Record<string, number>, key: string) => (into[key] = (into[key] ?? 0) + 1);

const homeStats = (answers: readonly Observed[]): HomeStats => {
  const home = answers.filter((answer) => answer.operation === 'home');
  const sources: Record<string, number> = {};
  const reasons: Record<string, number> = {};
  let degraded = 0;
  for (const answer of home) {
    if (answer.meta?.degraded !== true) continue;
    degraded += 1;
    count(sources, answer.meta.source ?? '?');
    for (const reason of answer.meta.reasons) count(reasons, reason);
  }
  const personal = home.filter(isPersonal).length;
  return {
    answers: home.length,
    personal,
    personalShare: share(personal, home.length),
    degraded,
    degradedShare: share(degraded, home.length),
    sources,
    reasons,
  };
};

const segment = (
  observed: readonly Observed[],
  failures: readonly TransportFailure[],
  from: number,
  to: number,
  origin: number,
  p99TargetMs: number,
): SegmentStats => {
  const answers = observed.filter((answer) => sentAt(answer) >= from && sentAt(answer) < to);
  const failed = failures.filter((failure) => failure.at >= from && failure.at < to);
  const operations = [...new Set(observed.map((answer) => answer.operation))];
  return {
    fromSecond: round((from - origin) / 1000, 1),
    toSecond: round((to - origin) / 1000, 1),
    ...operationStats(answers, failed),
    byOperation: Object.fromEntries(
      operations.map((operation) => [
        operation,
        operationStats(
          answers.filter((answer) => answer.operation === operation),
          failed.filter((failure) => failure.operation === operation),
        ),
      ]),
    ),
    home: homeStats(answers),
    overTargetShare: share(answers.filter((answer) => answer.latencyMs > p99TargetMs).length, answers.length),
    errorSamples: [
      ...new Set(answers.flatMap((answer) => (answer.sample === undefined ? [] : [answer.sample]))),
    ].slice(0, 5),
  };
};

/** Home answers sent from the fault's end until the phase's end, in send order. */
const recovery = (observed: readonly Observed[], faultEndedAt: number, endedAt: number): Recovery => {
  const home = observed
    .filter(
      (answer) => answer.operation === 'home' && sentAt(answer) >= faultEndedAt && sentAt(answer) < endedAt,
    )
    .sort((a, b) => sentAt(a) - sentAt(b));
  const first = home.find(isPersonal);
  let personalAgainSeconds: number | null = null;
  for (let from = faultEndedAt; from + WINDOW_MS <= endedAt; from += STEP_MS) {
    const window = home.filter((answer) => sentAt(answer) >= from && sentAt(answer) < from + WINDOW_MS);
    if (window.length < MIN_WINDOW_ANSWERS) continue;
    if (window.filter(isPersonal).length / window.length >= PERSONAL_SHARE) {
      personalAgainSeconds = round((from - faultEndedAt) / 1000, 1);
      break;
    }
  }
  return {
    firstPersonalSeconds: first === undefined ? null : round((sentAt(first) - faultEndedAt) / 1000, 2),
    personalAgainSeconds,
  };
};

/**
 * The p99 of every device request sent during the fault, and of home alone (the operation whose
 * dependencies fail; the others answer from memory and would hide it): the higher of the two.
 */
const p99Verdict = (during: SegmentStats, limit: number): Verdict => {
  const candidates = [during.latencyMs.p99, during.byOperation['home']?.latencyMs.p99 ?? null].filter(
    (value): value is number => value !== null,
  );
  const value = candidates.length === 0 ? null : Math.max(...candidates);
  return { pass: value !== null && value <= limit, value, limit };
};

export interface PhaseTimes {
  name: string;
  title: string;
  facts: Record<string, number | string>;
  /** `performance.now()` values: when the load started, the phase started, its fault ended, it ended. */
  origin: number;
  startedAt: number;
  faultEndedAt: number;
  endedAt: number;
  /** False for the baseline: no fault, so no recovery and no fault targets. */
  isFault: boolean;
}

export const analysePhase = (
  times: PhaseTimes,
  observed: readonly Observed[],
  failures: readonly TransportFailure[],
  targets: { p99Ms: number; personalSeconds: number },
): PhaseReport => {
  const during = segment(
    observed,
    failures,
    times.startedAt,
    times.faultEndedAt,
    times.origin,
    targets.p99Ms,
  );
  const after = segment(observed, failures, times.faultEndedAt, times.endedAt, times.origin, targets.p99Ms);
  const back = times.isFault
    ? recovery(observed, times.faultEndedAt, times.endedAt)
    : { firstPersonalSeconds: null, personalAgainSeconds: null };
  const errors =
    during.non200 +
    during.graphqlErrors +
    during.transportErrors +
    after.non200 +
    after.graphqlErrors +
    after.transportErrors;
  return {
    name: times.name,
    title: times.title,
    startSecond: round((times.startedAt - times.origin) / 1000, 1),
    faultSeconds: round((times.faultEndedAt - times.startedAt) / 1000, 1),
    recoverySeconds: round((times.endedAt - times.faultEndedAt) / 1000, 1),
    facts: times.facts,
    during,
    after,
    recovery: back,
    targets: {
      errors: { pass: errors === 0, value: errors, limit: 0 },
      p99DuringFault: times.isFault ? p99Verdict(during, targets.p99Ms) : null,
      personalAgain: times.isFault
        ? {
            pass: back.personalAgainSeconds !== null && back.personalAgainSeconds <= targets.personalSeconds,
            value: back.personalAgainSeconds,
            limit: targets.personalSeconds,
          }
        : null,
    },
  };
};

/** Deltas of `name` between two scrapes, by the value of `label`, among samples with `filter` labels. */
const deltasBy = (
  before: Samples,
  after: Samples,
  name: string,
  label: string,
  filter: Record<string, string> = {},
): Record<string, number> =>
  Object.fromEntries(
    labelValues(after, name, label)
      .map((value) => [value, delta(before, after, name, { ...filter, [label]: value })] as const)
      .filter(([, value]) => value !== 0),
  );

/** What the service's /metrics counted over a phase. */
export const metricDeltas = (before: Samples, after: Samples): MetricDeltas => {
  const breakerTransitions: Record<string, number> = {};
  for (const dependency of labelValues(after, 'flick_breaker_transitions_total', 'dependency'))
    for (const [state, value] of Object.entries(
      deltasBy(before, after, 'flick_breaker_transitions_total', 'state', { dependency }),
    ))
      breakerTransitions[`${dependency} → ${state}`] = value;
  return {
    cosmosCalls: deltasBy(before, after, 'flick_dependency_calls_total', 'outcome', { dependency: 'cosmos' }),
    redisCalls: deltasBy(before, after, 'flick_dependency_calls_total', 'outcome', { dependency: 'redis' }),
    breakerTransitions,
    cacheLookups: deltasBy(before, after, 'flick_cache_requests_total', 'level'),
    lastGoodReads: deltasBy(before, after, 'flick_cache_last_good_total', 'level'),
    homeResponseCache: deltasBy(before, after, 'flick_response_cache_total', 'result', { kind: 'home' }),
  };
};

export interface TimelinePoint {
  /** Seconds since the load started, at the start of this second. */
  second: number;
  requests: number;
  failed: number;
  p99Ms: number | null;
  homeAnswers: number;
  homePersonal: number;
  /** Home answers by `meta.source` (degraded or not). */
  homeSources: Record<string, number>;
}

/** Second by second over the whole load, by send time: what a dashboard of the run would show. */
export const timeline = (
  observed: readonly Observed[],
  failures: readonly TransportFailure[],
  origin: number,
  end: number,
): TimelinePoint[] => {
  const points: TimelinePoint[] = [];
  for (let from = origin; from < end; from += 1000) {
    const answers = observed.filter((answer) => sentAt(answer) >= from && sentAt(answer) < from + 1000);
    const failed = failures.filter((failure) => failure.at >= from && failure.at < from + 1000).length;
    const home = answers.filter((answer) => answer.operation === 'home');
    const homeSources: Record<string, number> = {};
    for (const answer of home) count(homeSources, answer.meta?.source ?? '?');
    points.push({
      second: Math.round((from - origin) / 1000),
      requests: answers.length + failed,
      failed: failed + answers.filter((answer) => answer.status !== 200 || answer.graphqlError).length,
      p99Ms: latencies(answers).p99,
      homeAnswers: home.length,
      homePersonal: home.filter(isPersonal).length,
      homeSources,
    });
  }
  return points;
};
