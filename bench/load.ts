import autocannon, { type AutocannonResult } from 'autocannon';

/** One request of a pool: the GraphQL body and the bearer token sent with it. */
export interface PoolRequest {
  body: string;
  token: string;
}

export interface LoadOptions {
  url: string;
  pool: readonly PoolRequest[];
  connections: number;
  durationSeconds: number;
  /** Offered rate over all connections (autocannon `overallRate`); undefined: as fast as possible. */
  rate?: number;
  /** Field under `data` whose `meta.degraded` counts degraded answers (home). */
  degradedField?: string;
  /** Told of every answer and transport failure as it happens (e.g. to bucket them by time). */
  observer?: LoadObserver;
  /** Ends the run early (autocannon `stop()`): it then resolves with what was measured so far. */
  signal?: AbortSignal;
}

/** How `meta` of the `degradedField` said an answer was served. */
export interface AnswerMeta {
  degraded: boolean;
  source: string | undefined;
  reasons: string[];
}

/** One answer, as the load generator saw it. */
export interface Answer {
  /** `performance.now()` when the answer was complete. */
  endedAt: number;
  latencyMs: number;
  status: number;
  /** A 2xx with a GraphQL `errors` array, or a body that is not JSON. */
  graphqlError: boolean;
  /** Undefined without a `degradedField`, or when the answer had no meta there. */
  meta: AnswerMeta | undefined;
  /** The start of a failed answer (non-2xx, GraphQL errors, not JSON). */
  sample?: string;
}

export interface LoadObserver {
  answer(answer: Answer): void;
  /** A connection error or a timeout, at `performance.now()` `at`. */
  transportError(at: number, kind: 'error' | 'timeout'): void;
}

export interface LoadResult {
  offeredRate: number | undefined;
  connections: number;
  durationSeconds: number;
  requests: number;
  /** Responses per second over the run. */
  throughput: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  non2xx: number;
  /** 2xx answers with a GraphQL `errors` array, or that are not JSON. */
  graphqlErrors: number;
  /** Connection errors and timeouts. */
  transportErrors: number;
  degraded: number;
  /** Degraded answers by `meta.reasons` (and `source`), e.g. `{"source:POPULAR": 3}`. */
  degradedReasons: Record<string, number>;
  /** The first error bodies seen, for the report. */
  errorSamples: string[];
}

const percentile = (sorted: Float64Array, p: number): number =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

const round = (value: number) => Math.round(value * 100) / 100;

/**
 * Runs autocannon over `pool` (each connection walks the pool from its own offset) and checks every
 * body: non-2xx, GraphQL errors and degraded answers are counted. Latencies are the raw response
 * times of every answer, kept by the harness (autocannon reports no p95).
 */
export const runLoad = async (options: LoadOptions): Promise<LoadResult> => {
  const { pool } = options;
  if (pool.length === 0) throw new Error('empty request pool');
  let next = 0;
  let graphqlErrors = 0;
  let degraded = 0;
  const degradedReasons: Record<string, number> = {};
  const countReason = (reason: string) => (degradedReasons[reason] = (degradedReasons[reason] ?? 0) + 1);
  const errorSamples: string[] = [];
  const latencies: number[] = [];
  const noteError = (sample: string) => {
    if (errorSamples.length < 5) errorSamples.push(sample.slice(0, 500));
  };

  /** What the body of the answer being completed said; its latency follows in the `response` event. */
  let pending: Omit<Answer, 'endedAt' | 'latencyMs'> | undefined;

  const check = (status: number, body: string): Omit<Answer, 'endedAt' | 'latencyMs'> => {
    if (status < 200 || status > 299) {
      noteError(`${status} ${body}`);
      return { status, graphqlError: false, meta: undefined, sample: `${status} ${body.slice(0, 300)}` };
    }
    let parsed: {
      data?: Record<string, { meta?: { degraded?: boolean; source?: string; reasons?: string[] } } | null>;
      errors?: unknown;
    };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      graphqlErrors += 1;
      noteError(`not JSON: ${body}`);
      return { status, graphqlError: true, meta: undefined, sample: `not JSON: ${body.slice(0, 300)}` };
    }
    if (parsed.errors !== undefined) {
      graphqlErrors += 1;
      noteError(JSON.stringify(parsed.errors));
    }
    const meta = options.degradedField === undefined ? undefined : parsed.data?.[options.degradedField]?.meta;
    if (meta?.degraded === true) {
      degraded += 1;
      countReason(`source:${meta.source ?? '?'}`);
      for (const reason of meta.reasons ?? []) countReason(reason);
    }
    return {
      status,
      graphqlError: parsed.errors !== undefined,
      ...(parsed.errors === undefined ? {} : { sample: JSON.stringify(parsed.errors).slice(0, 300) }),
      meta:
        meta === undefined
          ? undefined
          : { degraded: meta.degraded === true, source: meta.source, reasons: meta.reasons ?? [] },
    };
  };

  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        timeout: 10,
        ...(options.rate === undefined ? {} : { overallRate: options.rate }),
        requests: [
          {
            method: 'POST',
            setupRequest: (request) => {
              const picked = pool[next % pool.length]!;
              next += 1;
              return {
                ...request,
                method: 'POST',
                path: '/graphql',
                headers: { 'content-type': 'application/json', authorization: `Bearer ${picked.token}` },
                body: picked.body,
              };
            },
            onResponse: (status, body) => {
              pending = check(status, body);
            },
          },
        ],
      },
      (error, finished) => (error === null ? resolve(finished) : reject(error)),
    );
    // autocannon calls `onResponse` and then, synchronously, emits `response` for the same answer.
    instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
      const checked = pending ?? { status, graphqlError: false, meta: undefined };
      pending = undefined;
      options.observer?.answer({ ...checked, endedAt: performance.now(), latencyMs: responseTime });
    });
    const observer = options.observer;
    if (observer !== undefined) {
      // autocannon reports a timeout as a request error with this message.
      instance.on('reqError', (error: Error) =>
        observer.transportError(
          performance.now(),
          error.message === 'request timed out' ? 'timeout' : 'error',
        ),
      );
    }
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) instance.stop();
      else signal.addEventListener('abort', () => instance.stop(), { once: true });
    }
  });

  const sorted = Float64Array.from(latencies).sort();
  const requests = latencies.length;
  return {
    offeredRate: options.rate,
    connections: options.connections,
    durationSeconds: result.duration,
    requests,
    throughput: round(requests / result.duration),
    latencyMs: {
      p50: round(percentile(sorted, 50)),
      p95: round(percentile(sorted, 95)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!),
      mean: round(requests === 0 ? Number.NaN : latencies.reduce((sum, value) => sum + value, 0) / requests),
    },
    non2xx: result.non2xx,
    graphqlErrors,
    transportErrors: result.errors,
    degraded,
    degradedReasons,
    errorSamples,
  };
};

/** Connections for an offered rate: autocannon gives each connection a per-second quota. */
export const connectionsFor = (rate: number): number => Math.min(256, Math.max(4, Math.ceil(rate / 10)));
