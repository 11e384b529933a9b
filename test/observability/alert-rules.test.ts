import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ALERTS = 'deploy/prometheus/alerts.yml';
const ALERT_TESTS = 'deploy/prometheus/alerts.test.yml';
const DASHBOARD = 'deploy/grafana/flick-api.json';

/** The series the service exports on /metrics; alerts and panels may name no other `flick_` metric. */
const EXPORTED_METRICS = new Set([
  'flick_device_responses_total',
  'flick_device_degraded_reasons_total',
  'flick_graphql_operations_total',
  'flick_graphql_operation_duration_seconds_bucket',
  'flick_graphql_operation_duration_seconds_sum',
  'flick_graphql_operation_duration_seconds_count',
  'flick_gold_dataset_age_seconds',
  'flick_gold_dataset_freshness_objective_seconds',
  'flick_breaker_open',
  'flick_breaker_transitions_total',
  'flick_dependency_up',
  'flick_dependency_calls_total',
  'flick_partner_exports_total',
  'flick_cache_requests_total',
  'flick_rate_limit_rejections_total',
  'flick_segment_members_filtered_total',
  'flick_cosmos_request_units_total',
]);

const ALERT_NAMES = [
  'GoldDatasetStale',
  'DegradedResponsesHigh',
  'BreakerOpen',
  'ErrorRateHigh',
  'PartnerExportFailures',
  'RedisDown',
  'CosmosDown',
  'ApiDown',
];

/** Sections of docs/runbook.md the alerts link to. */
const RUNBOOK_ANCHORS = [
  'gold-dataset-stale',
  'degraded-responses-high',
  'breaker-open',
  'error-rate-high',
  'partner-export-failures',
  'dependency-down',
  'api-down',
];

const PROMTOOL_MISSING =
  'promtool is not on PATH: install the Debian package `prometheus` ' +
  '(apt-get install --no-install-recommends prometheus), which provides /usr/bin/promtool. ' +
  '.ci/run installs it when missing.';

interface PromtoolRun {
  code: number | string;
  output: string;
}

/** Runs promtool in the repository; never skips: without promtool the test fails, saying what to install. */
const promtool = async (...args: string[]): Promise<PromtoolRun> => {
  try {
    const { stdout, stderr } = await promisify(execFile)('promtool', args, {
      cwd: REPO_ROOT,
      timeout: 60_000,
    });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') throw new Error(PROMTOOL_MISSING, { cause: error });
    return {
      code: failure.code ?? 'unknown',
      output: `${failure.stdout ?? ''}${failure.stderr ?? ''}${failure.stdout || failure.stderr ? '' : failure.message}`,
    };
  }
};

const expectPromtoolSuccess = async (...args: string[]): Promise<string> => {
  const run = await promtool(...args);
  expect(run.code, `promtool ${args.join(' ')} exited with ${run.code}:\n${run.output}`).toBe(0);
  return run.output;
};

const metricNamesIn = (text: string): string[] => [...text.matchAll(/flick_[a-z_]+/g)].map(([name]) => name);

const read = (path: string) => readFile(join(REPO_ROOT, path), 'utf8');

describe('Prometheus alert rules', () => {
  it('are valid rules (promtool check rules)', async () => {
    const output = await expectPromtoolSuccess('check', 'rules', ALERTS);
    expect(output).toContain(`SUCCESS: ${ALERT_NAMES.length} rules found`);
  });

  it('pass their unit tests (promtool test rules)', async () => {
    const output = await expectPromtoolSuccess('test', 'rules', ALERT_TESTS);
    expect(output).toContain('SUCCESS');
  });

  /** The rules, one text block per `- alert:` entry (the file has alerting rules only). */
  const alertBlocks = async (): Promise<Map<string, string>> => {
    const text = await read(ALERTS);
    const parts = text.split(/^\s*- alert:\s*/m).slice(1);
    return new Map(parts.map((part) => [part.slice(0, part.indexOf('\n')).trim(), part]));
  };

  it('are the expected alerts, each with a severity, a summary, a description and a runbook link', async () => {
    const blocks = await alertBlocks();
    expect([...blocks.keys()].sort()).toEqual([...ALERT_NAMES].sort());
    for (const [name, block] of blocks) {
      expect(block, `${name}: severity page or ticket`).toMatch(/^\s+severity: (page|ticket)\s*$/m);
      expect(block, `${name}: summary`).toMatch(/^\s+summary: \S/m);
      expect(block, `${name}: description with template values`).toMatch(/^\s+description: [\s\S]*\{\{/m);
      const runbook = /^\s+runbook_url:\s*'?([^'\s]+)'?\s*$/m.exec(block)?.[1];
      expect(runbook, `${name}: runbook_url`).toBeDefined();
      const anchor = /^(?:.*\/)?docs\/runbook\.md#([a-z0-9-]+)$/.exec(runbook!)?.[1];
      expect(
        RUNBOOK_ANCHORS,
        `${name}: runbook_url ${runbook} must point to docs/runbook.md#<known anchor>`,
      ).toContain(anchor);
    }
  });

  it('name only metrics the service exports', async () => {
    const rules = (await read(ALERTS))
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#'))
      .join('\n');
    const unknown = metricNamesIn(rules).filter((name) => !EXPORTED_METRICS.has(name));
    expect(unknown).toEqual([]);
  });

  it('each have a unit test where they fire and one where they do not', async () => {
    const tests = await read(ALERT_TESTS);
    const cases = [...tests.matchAll(/^\s+alertname: (\w+)\s*\n\s+exp_alerts:[ \t]*(\[\])?/gm)].map(
      ([, name, empty]) => ({ name, fires: empty === undefined }),
    );
    for (const name of ALERT_NAMES) {
      expect(
        cases.some((c) => c.name === name && c.fires),
        `${name}: a case where it fires`,
      ).toBe(true);
      expect(
        cases.some((c) => c.name === name && !c.fires),
        `${name}: a case where it does not fire`,
      ).toBe(true);
    }
  });
});

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
}

describe('Grafana dashboard', () => {
  const load = async () => JSON.parse(await read(DASHBOARD)) as Dashboard;
  /** Every panel, those inside collapsed rows included, rows themselves left out. */
  const panelsOf = (dashboard: Dashboard): Panel[] =>
    dashboard.panels.flatMap((panel) => (panel.type === 'row' ? (panel.panels ?? []) : [panel]));
  const exprsOf = (dashboard: Dashboard) =>
    panelsOf(dashboard).flatMap((panel) =>
      (panel.targets ?? []).map((target, index) => ({ panel: panel.title, index, expr: target.expr ?? '' })),
    );

  it('is a dashboard on a templated Prometheus data source', async () => {
    const dashboard = await load();
    expect(dashboard.uid).toBe('flick-api');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    const ids = dashboard.panels
      .flatMap((panel) => [panel, ...(panel.panels ?? [])])
      .map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panelsOf(dashboard)) {
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      expect(panel.targets?.length, `${panel.title}: queries`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource?.uid, panel.title).toBe('${datasource}');
        expect(target.expr?.trim(), `${panel.title}: expr`).toBeTruthy();
      }
    }
  });

  it('queries only metrics the service exports', async () => {
    const dashboard = await load();
    const unknown = exprsOf(dashboard).flatMap(({ panel, expr }) =>
      metricNamesIn(expr)
        .filter((name) => !EXPORTED_METRICS.has(name))
        .map((name) => `${panel}: ${name}`),
    );
    const variables = JSON.stringify(dashboard.templating.list.map((variable) => variable.query));
    unknown.push(...metricNamesIn(variables).filter((name) => !EXPORTED_METRICS.has(name)));
    expect(unknown).toEqual([]);
  });

  it('shows every area operators watch', async () => {
    const exprs = exprsOf(await load()).map(({ expr }) => expr);
    const used = new Set(exprs.flatMap(metricNamesIn));
    for (const metric of [
      'flick_graphql_operations_total',
      'flick_graphql_operation_duration_seconds_bucket',
      'flick_device_responses_total',
      'flick_device_degraded_reasons_total',
      'flick_gold_dataset_age_seconds',
      'flick_gold_dataset_freshness_objective_seconds',
      'flick_breaker_open',
      'flick_dependency_up',
      'flick_cache_requests_total',
      'flick_cosmos_request_units_total',
      'flick_rate_limit_rejections_total',
      'flick_partner_exports_total',
      'flick_segment_members_filtered_total',
    ])
      expect(used, metric).toContain(metric);
    for (const quantile of ['0.5', '0.95', '0.99'])
      expect(exprs.some((expr) => expr.startsWith(`histogram_quantile(${quantile},`))).toBe(true);
  });

  it('has queries Prometheus can parse (promtool check rules on them as recording rules)', async () => {
    const exprs = exprsOf(await load());
    const grafanaVariables: Record<string, string> = {
      $__rate_interval: '1m',
      $__interval: '1m',
      $__range: '1h',
      $instance: '.*',
    };
    const rules = exprs.map(({ expr }, index) => ({
      record: `dashboard:query_${index}`,
      expr: expr.replace(
        /\$__rate_interval|\$__interval|\$__range|\$instance/g,
        (name) => grafanaVariables[name]!,
      ),
    }));
    const dir = await mkdtemp(join(tmpdir(), 'flick-dashboard-'));
    try {
      const file = join(dir, 'dashboard-queries.yml');
      // JSON is YAML: no YAML library needed
      await writeFile(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }, null, 2));
      const output = await expectPromtoolSuccess('check', 'rules', file);
      expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
