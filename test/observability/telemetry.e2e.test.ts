import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadSampleGold } from '../../src/dev/sample-gold.js';
import { todayUtc } from '../../src/gold/sample/sample-dates.js';
import { ACCOUNTS_FILE, type SampleAccount } from '../../src/gold/sample/sample-gold.builder.js';
import { Counters } from '../../src/modules/telemetry/counters.service.js';
import { startTelemetry, type Telemetry } from '../../src/modules/telemetry/otel.js';
import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startCosmosProcess, type CosmosProcess } from '../support/cosmos-process.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { freePort, startRedis, type TestRedis } from '../support/redis.js';

/**
 * OpenTelemetry end to end: spans of one `home` request in an in-memory exporter, and the
 * Prometheus endpoint after a real fault (Cosmos paused with SIGSTOP) showing what happened.
 * Telemetry is process-wide, so this file has the process to itself (vitest isolates files).
 */

const DATABASE = 'telemetry-e2e';
const HOME = /* GraphQL */ `
  query Home($profileId: ID!) {
    home(profileId: $profileId, device: TV) {
      rows {
        kind
      }
      meta {
        source
        degraded
        reasons
      }
    }
  }
`;

let cosmos: CosmosProcess;
let redis: TestRedis;
let issuer: TestIssuer;
let api: TestApp;
let telemetry: Telemetry;
let goldDir: string;
let accounts: SampleAccount[];
const spans = new InMemorySpanExporter();
let metricsPort: number;

const tokenFor = (account: SampleAccount) =>
  issuer.tokenFor('device', {
    account_id: account.accountId,
    profile_ids: account.profileIds,
    country: account.country,
  });

/** Prometheus text → value of the series with exactly these labels (undefined if absent). */
const sample = (text: string, name: string, labels: Record<string, string>): number | undefined => {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const found = Object.fromEntries(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1]!, match[2]!]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
};

beforeAll(async () => {
  metricsPort = await freePort();
  telemetry = await startTelemetry({
    spanExporter: spans,
    metrics: { host: '127.0.0.1', port: metricsPort },
  });
  [cosmos, redis, issuer] = await Promise.all([startCosmosProcess(), startRedis(), startTestIssuer()]);
  goldDir = await mkdtemp(join(tmpdir(), 'flick-telemetry-'));
  await loadSampleGold(cosmos.config(DATABASE), {
    csvPath: 'data/netflix_titles.csv',
    outDir: goldDir,
    profiles: 100,
    seed: 5,
    asOf: todayUtc(),
    datasets: ['catalog', 'profiles', 'popular'],
  });
  accounts = JSON.parse(await readFile(join(goldDir, ACCOUNTS_FILE), 'utf8')) as SampleAccount[];
  api = await startTestApp({
    ...cosmos.env,
    ...issuer.env,
    COSMOS_DATABASE: DATABASE,
    REDIS_URL: redis.url,
    BREAKER_FAILURE_THRESHOLD: '2',
    BREAKER_HALF_OPEN_AFTER_MS: '500',
  });
  await waitFor(async () => (await fetch(`${api.url}/health/ready`)).ok, 60_000, 'readiness');
}, 180_000);

afterAll(async () => {
  await api?.close();
  await Promise.all([cosmos?.stop(), redis?.stop(), issuer?.close()]);
  await telemetry?.shutdown();
  await rm(goldDir, { recursive: true, force: true });
});

describe('tracing', () => {
  it('puts the GraphQL, Redis and Cosmos spans of one home request under one root span', async () => {
    const account = accounts[0]!;
    spans.reset();
    const response = await api.gql(HOME, {
      token: await tokenFor(account),
      variables: { profileId: account.profileIds[0] },
    });
    expect(response.errors).toBeUndefined();
    await waitFor(
      () => spans.getFinishedSpans().some((span) => span.kind === SpanKind.SERVER),
      20_000,
      'the root span',
    );

    const finished = spans.getFinishedSpans();
    const root = finished.find(
      (span) => span.kind === SpanKind.SERVER && span.attributes['url.path'] === '/graphql',
    )!;
    expect(root.name).toBe('POST /graphql');
    const trace = finished.filter((span) => span.spanContext().traceId === root.spanContext().traceId);
    const byId = new Map(trace.map((span) => [span.spanContext().spanId, span]));
    const rootOf = (span: ReadableSpan): ReadableSpan => {
      const parent = span.parentSpanContext?.spanId;
      return parent === undefined || !byId.has(parent) ? span : rootOf(byId.get(parent)!);
    };
    expect(trace.every((span) => rootOf(span) === root)).toBe(true);
    const names = trace.map((span) => span.name);
    expect(names).toContain('graphql.query home');
    expect(names.some((name) => name.startsWith('redis '))).toBe(true);
    const cosmosSpans = trace.filter((span) => span.name.startsWith('cosmos '));
    expect(cosmosSpans.length).toBeGreaterThan(0);
    for (const span of cosmosSpans) {
      expect(span.attributes['db.system']).toBe('cosmosdb');
      expect(typeof span.attributes['db.cosmosdb.request_charge']).toBe('number');
      expect(typeof span.attributes['db.cosmosdb.retries']).toBe('number');
    }
  });

  it('continues a trace started upstream (W3C traceparent)', async () => {
    spans.reset();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await fetch(`${api.url}/health/live`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await waitFor(() => spans.getFinishedSpans().length > 0, 20_000, 'a span');
    expect(spans.getFinishedSpans().some((span) => span.spanContext().traceId === traceId)).toBe(true);
  });
});

describe('/metrics', () => {
  it('shows the degraded responses and breaker transitions of a Cosmos outage as they happened', async () => {
    const counters = api.app.get(Counters);
    // Profiles nobody asked for yet: no cached copy can hide the outage.
    const fresh = accounts.slice(10, 30);
    const tokens = await Promise.all(fresh.map((account) => tokenFor(account)));
    cosmos.pause();
    try {
      await waitFor(
        async () => {
          const i = Math.floor(Math.random() * fresh.length);
          await api.gql(HOME, { token: tokens[i]!, variables: { profileId: fresh[i]!.profileIds[0] } });
          return counters.value('breaker_transitions_total', { dependency: 'cosmos', state: 'OPEN' }) > 0;
        },
        30_000,
        'the Cosmos breaker to open',
      );
    } finally {
      cosmos.resume();
    }
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const degraded = counters.snapshot().filter((series) => series.name === 'device_degraded_reasons_total');
    expect(degraded.length).toBeGreaterThan(0);
    for (const series of degraded) {
      expect(
        sample(text, 'flick_device_degraded_reasons_total', series.labels),
        JSON.stringify(series.labels),
      ).toBe(series.value);
    }
    expect(sample(text, 'flick_breaker_transitions_total', { dependency: 'cosmos', state: 'OPEN' })).toBe(
      counters.value('breaker_transitions_total', { dependency: 'cosmos', state: 'OPEN' }),
    );
    expect(sample(text, 'flick_breaker_open', { dependency: 'cosmos' })).toBeDefined();
    expect(sample(text, 'flick_dependency_up', { dependency: 'cosmos' })).toBeDefined();
    expect(sample(text, 'flick_gold_dataset_age_seconds', { dataset: 'profiles' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'flick_gold_dataset_freshness_objective_seconds', { dataset: 'profiles' })).toBe(
      26 * 3600,
    );
    expect(text).toMatch(/flick_graphql_operation_duration_seconds_bucket\{[^}]*operation="home"/);
    expect(text).toMatch(/flick_dependency_call_duration_seconds_bucket\{[^}]*dependency="cosmos"/);
    expect(text).toMatch(/flick_dependency_call_duration_seconds_bucket\{[^}]*dependency="redis"/);
    // The embedded server reports no request charge; calls are counted by outcome.
    expect(
      sample(text, 'flick_dependency_calls_total', { dependency: 'cosmos', outcome: 'ok' }),
    ).toBeGreaterThan(0);
    expect(
      sample(text, 'flick_dependency_calls_total', { dependency: 'redis', outcome: 'ok' }),
    ).toBeGreaterThan(0);
  }, 60_000);
});
