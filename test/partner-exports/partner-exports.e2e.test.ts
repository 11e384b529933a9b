import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { parse } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CatalogRecord } from '../../src/gold/contract/catalog.schema.js';
import type { PartnerMetricRecord } from '../../src/gold/contract/partner-metrics.schema.js';
import { SAMPLE_GOLD_FILES } from '../../src/gold/sample/sample-gold.builder.js';
import { ExportBlobStore } from '../../src/partner-exports/export-blob.store.js';
import type { ExportManifest } from '../../src/partner-exports/export-writer.js';
import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startTestAzurite, type TestAzurite } from '../support/azurite.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';

/**
 * Partner exports over HTTP against real services: the embedded Cosmos server with sample gold,
 * Azurite for Blob storage, Redis for the schedule's lock. Files are read back with an independent
 * Parquet reader (hyparquet) and compared value by value with the gold they came from.
 */

const DATABASE = 'partner-exports-e2e';
const CONTAINER = 'exports';
const PARTNER_A = 'partner-01';
const PARTNER_B = 'partner-02';

const EXPORT_FIELDS = `id partnerId dataset from to format goldSnapshotId trigger status error rowCount location
  files { path rows bytes sha256 } requestedAt completedAt`;

interface ExportView {
  id: string;
  partnerId: string;
  from: string;
  to: string;
  format: string;
  goldSnapshotId: string;
  trigger: string;
  status: string;
  error: string | null;
  rowCount: number | null;
  location: string | null;
  files: { path: string; rows: number; bytes: number; sha256: string }[];
}

interface Row {
  partner_id: string;
  title_id: string;
  title_name: string | null;
  day: string;
  country: string;
  views: number;
  hours_viewed: number;
  completion_rate: number;
}

const readLines = async <T>(gold: TestGold, file: string): Promise<T[]> =>
  gunzipSync(await readFile(join(gold.dir, file)))
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as T);

const rowKey = (row: Row) => `${row.title_id}|${row.day}|${row.country}`;

let cosmos: TestCosmos;
let issuer: TestIssuer;
let azurite: TestAzurite;
let redis: TestRedis;
let gold: TestGold;
let metrics: PartnerMetricRecord[];
let titles: Map<string, CatalogRecord>;
let blobs: ExportBlobStore;

const exportEnv = (extra: Record<string, string> = {}) => ({
  ...cosmos.env,
  ...issuer.env,
  COSMOS_DATABASE: DATABASE,
  REDIS_URL: redis.url,
  EXPORTS_STORAGE_CONNECTION_STRING: azurite.connectionString,
  EXPORTS_CONTAINER: CONTAINER,
  EXPORTS_POLL_MS: '100',
  EXPORTS_PART_MAX_ROWS: '1000',
  EXPORTS_CATCH_UP_DAYS: '0',
  // Not due today: the daily schedule has its own test below.
  EXPORTS_DAILY_AT: '23:59',
  CURSOR_SECRET: 'partner-exports-e2e-secret-0123456789',
  ...extra,
});

/** The gold rows of a partner's export, as the files must hold them. */
const expectedRows = (partnerId: string, from: string, to: string): Row[] =>
  metrics
    .filter((m) => m.partnerId === partnerId && m.day >= from && m.day <= to)
    .flatMap((m) =>
      m.byCountry.map((c) => ({
        partner_id: m.partnerId,
        title_id: m.titleId,
        title_name: titles.get(m.titleId)?.name ?? null,
        day: m.day,
        country: c.country,
        views: c.views,
        hours_viewed: c.hoursViewed,
        completion_rate: c.completionRate,
      })),
    );

/** Reads an export's folder back: every part decoded, the manifest, and whether `_SUCCESS` exists. */
const readFolder = async (view: ExportView) => {
  const folder =
    view.files[0]?.path.replace(/\/[^/]+$/, '') ??
    decodeURIComponent(new URL(view.location!).pathname).split(`/${CONTAINER}/`)[1]!;
  const listed = await blobs.list(`${folder}/`);
  const manifestBytes = await blobs.read(`${folder}/_manifest.json`);
  const rows: Row[] = [];
  for (const file of listed.filter((entry) => /part-\d{5}\./.test(entry.path))) {
    const bytes = (await blobs.read(file.path))!;
    if (file.path.endsWith('.parquet')) {
      const buffer = new Uint8Array(bytes).buffer;
      for (const raw of (await parquetReadObjects({ file: buffer })) as Record<string, unknown>[]) {
        rows.push({
          ...(raw as unknown as Row),
          day: (raw['day'] as Date).toISOString().slice(0, 10),
          views: Number(raw['views']),
        });
      }
    } else {
      const records = parse<Record<string, string>>(bytes, { columns: true });
      rows.push(
        ...records.map((r) => ({
          partner_id: r['partner_id']!,
          title_id: r['title_id']!,
          title_name: r['title_name'] === '' ? null : r['title_name']!,
          day: r['day']!,
          country: r['country']!,
          views: Number(r['views']),
          hours_viewed: Number(r['hours_viewed']),
          completion_rate: Number(r['completion_rate']),
        })),
      );
    }
  }
  return {
    folder,
    listed,
    rows,
    manifest: manifestBytes === null ? null : (JSON.parse(manifestBytes.toString('utf8')) as ExportManifest),
    succeeded: await blobs.exists(`${folder}/_SUCCESS`),
  };
};

/** Checks an export's files against the gold and its own manifest. */
const expectFilesMatchGold = async (view: ExportView) => {
  const folder = await readFolder(view);
  expect(folder.succeeded).toBe(true);
  const expected = expectedRows(view.partnerId, view.from, view.to);
  expect(folder.rows.length).toBe(expected.length);
  expect(view.rowCount).toBe(expected.length);
  const byKey = new Map(expected.map((row) => [rowKey(row), row]));
  for (const row of folder.rows) expect(row).toEqual(byKey.get(rowKey(row)));
  expect(new Set(folder.rows.map(rowKey)).size).toBe(expected.length);
  // The manifest lists exactly the parts in the folder, with their rows, sizes and checksums.
  const parts = folder.listed.filter((entry) => /part-\d{5}\./.test(entry.path));
  expect(folder.manifest!.files.map((f) => f.path)).toEqual(parts.map((p) => p.path));
  expect(folder.manifest!.rowCount).toBe(expected.length);
  expect(folder.manifest!.goldSnapshotId).toBe(view.goldSnapshotId);
  for (const file of folder.manifest!.files) {
    const bytes = (await blobs.read(file.path))!;
    expect(file.bytes).toBe(bytes.byteLength);
    expect(file.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  }
  expect(view.files).toEqual(folder.manifest!.files);
  return folder;
};

beforeAll(async () => {
  [cosmos, issuer, azurite, redis] = await Promise.all([
    startTestCosmos(),
    startTestIssuer(),
    startTestAzurite(),
    startRedis(),
  ]);
  gold = await publishTestGold(cosmos, { database: DATABASE, datasets: ['catalog', 'partner_metrics'] });
  metrics = await readLines<PartnerMetricRecord>(gold, SAMPLE_GOLD_FILES.partner_metrics);
  titles = new Map(
    (await readLines<CatalogRecord>(gold, SAMPLE_GOLD_FILES.catalog)).map((title) => [title.titleId, title]),
  );
  blobs = ExportBlobStore.fromConfig({ connectionString: azurite.connectionString, container: CONTAINER });
}, 180_000);

afterAll(async () => {
  await gold?.remove();
  await Promise.all([cosmos?.close(), issuer?.close(), azurite?.stop(), redis?.stop()]);
});

describe('partner exports over HTTP', () => {
  let api: TestApp;
  const tokens: Record<string, string> = {};

  const request = (token: string, input: Record<string, unknown>) =>
    api.gql<{ requestPartnerExport: ExportView }>(
      `mutation R($input: PartnerExportInput!) { requestPartnerExport(input: $input) { ${EXPORT_FIELDS} } }`,
      { token, variables: { input: { dataset: 'TITLE_PERFORMANCE', ...input } } },
    );
  const get = (token: string, id: string) =>
    api.gql<{ partnerExport: ExportView | null }>(
      `query G($id: ID!) { partnerExport(id: $id) { ${EXPORT_FIELDS} } }`,
      {
        token,
        variables: { id },
      },
    );
  const finished = async (token: string, id: string): Promise<ExportView> => {
    let view: ExportView | null = null;
    await waitFor(async () => {
      view = (await get(token, id)).data?.partnerExport ?? null;
      return view?.status === 'SUCCEEDED' || view?.status === 'FAILED';
    }, 60_000);
    return view!;
  };

  beforeAll(async () => {
    api = await startTestApp(exportEnv());
    tokens['a'] = await issuer.tokenFor('partner', { partner_id: PARTNER_A });
    tokens['b'] = await issuer.tokenFor('partner', { partner_id: PARTNER_B });
    tokens['ops'] = await issuer.tokenFor('ops');
  }, 60_000);

  afterAll(() => api?.close());

  it('writes a Parquet export whose every value matches the gold, with a correct manifest', async () => {
    const requested = await request(tokens['a']!, { from: '2021-09-20', to: '2021-09-30' });
    expect(requested.errors).toBeUndefined();
    expect(requested.data!.requestPartnerExport).toMatchObject({ status: 'QUEUED', partnerId: PARTNER_A });
    const view = await finished(tokens['a']!, requested.data!.requestPartnerExport.id);
    expect(view.status).toBe('SUCCEEDED');
    expect(view.files.length).toBeGreaterThan(1);
    expect(view.files.every((file) => file.rows <= 1000)).toBe(true);
    const folder = await expectFilesMatchGold(view);
    expect(folder.folder).toMatch(
      new RegExp(
        `^partner=${PARTNER_A}/dataset=title_performance/snapshot=${view.goldSnapshotId}/export=${view.id}$`,
      ),
    );
    // Only A's titles, as the catalogue assigns them.
    expect(folder.rows.every((row) => titles.get(row.title_id)?.partnerId === PARTNER_A)).toBe(true);
  }, 90_000);

  it('writes CSV too, and answers a repeated request with the same export', async () => {
    const input = { from: '2021-09-28', to: '2021-09-30', format: 'CSV' };
    const first = (await request(tokens['a']!, input)).data!.requestPartnerExport;
    const again = (await request(tokens['a']!, input)).data!.requestPartnerExport;
    expect(again.id).toBe(first.id);
    const view = await finished(tokens['a']!, first.id);
    expect(view.status).toBe('SUCCEEDED');
    await expectFilesMatchGold(view);
    expect((await request(tokens['a']!, input)).data!.requestPartnerExport).toMatchObject({
      id: first.id,
      status: 'SUCCEEDED',
    });
    const parquet = (await request(tokens['a']!, { ...input, format: 'PARQUET' })).data!.requestPartnerExport;
    expect(parquet.id).not.toBe(first.id);
  }, 90_000);

  it('refuses bad ranges with BAD_USER_INPUT and creates nothing', async () => {
    const before = (
      await api.gql<{ partnerExports: { edges: unknown[] } }>(
        '{ partnerExports(first: 100) { edges { cursor } } }',
        { token: tokens['a']! },
      )
    ).data!.partnerExports.edges.length;
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const cases: [Record<string, string>, RegExp][] = [
      [{ from: '2021-09-30', to: '2021-09-01' }, /"from" must not be after "to"/],
      [{ from: '2020-01-01', to: '2021-01-02' }, /"to" must be at most 366 days after "from"/],
      [{ from: tomorrow, to: tomorrow }, /"to" must not be in the future/],
      [{ from: '2021-02-30', to: '2021-03-01' }, /"from" must be a date as YYYY-MM-DD/],
      [{ from: 'yesterday', to: '2021-03-01' }, /"from" must be a date as YYYY-MM-DD/],
    ];
    for (const [input, message] of cases) {
      const response = await request(tokens['a']!, input);
      expect(response.errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message).toMatch(message);
    }
    const after = (
      await api.gql<{ partnerExports: { edges: unknown[] } }>(
        '{ partnerExports(first: 100) { edges { cursor } } }',
        { token: tokens['a']! },
      )
    ).data!.partnerExports.edges.length;
    expect(after).toBe(before);
  });

  it("keeps partners apart: B can neither list, read nor get A's exports; operators see both", async () => {
    const a = (await request(tokens['a']!, { from: '2021-09-29', to: '2021-09-29' })).data!
      .requestPartnerExport;
    const b = (await request(tokens['b']!, { from: '2021-09-29', to: '2021-09-29' })).data!
      .requestPartnerExport;
    expect(b.partnerId).toBe(PARTNER_B);
    expect(b.id).not.toBe(a.id);
    expect((await get(tokens['b']!, a.id)).data).toEqual({ partnerExport: null });
    const listed = await api.gql<{
      partnerExports: { edges: { node: { id: string; partnerId: string } }[] };
    }>('{ partnerExports(first: 100) { edges { node { id partnerId } } } }', { token: tokens['b']! });
    expect(listed.data!.partnerExports.edges.every((edge) => edge.node.partnerId === PARTNER_B)).toBe(true);
    const bView = await finished(tokens['b']!, b.id);
    const bFolder = await expectFilesMatchGold(bView);
    expect(bFolder.rows.every((row) => row.partner_id === PARTNER_B)).toBe(true);
    const ops = await api.gql<{ partnerExports: { edges: { node: { id: string } }[] } }>(
      '{ partnerExports(first: 100) { edges { node { id } } } }',
      { token: tokens['ops']! },
    );
    const ids = ops.data!.partnerExports.edges.map((edge) => edge.node.id);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
    expect((await get(tokens['ops']!, a.id)).data!.partnerExport?.id).toBe(a.id);
    for (const role of ['device', 'marketing'] as const) {
      const token = await issuer.tokenFor(role);
      expect(
        (await request(token, { from: '2021-09-29', to: '2021-09-29' })).errors?.[0]?.extensions?.code,
      ).toBe('FORBIDDEN');
      expect((await get(token, a.id)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    // Operators read but do not request: an export is always some partner's own.
    expect(
      (await request(tokens['ops']!, { from: '2021-09-29', to: '2021-09-29' })).errors?.[0]?.extensions?.code,
    ).toBe('FORBIDDEN');
  }, 90_000);
});

describe('the daily schedule', () => {
  it('runs once across two replicas racing it, for every partner and day of the catch-up window', async () => {
    const env = exportEnv({ EXPORTS_DAILY_AT: '00:00', EXPORTS_CATCH_UP_DAYS: '2', EXPORTS_POLL_MS: '50' });
    const [one, two] = await Promise.all([startTestApp(env), startTestApp(env)]);
    try {
      const ops = await issuer.tokenFor('ops');
      const partners = [
        ...new Set([...titles.values()].flatMap((t) => (t.partnerId === null ? [] : [t.partnerId]))),
      ];
      const today = new Date();
      const days = [1, 2, 3].map((back) =>
        new Date(today.getTime() - back * 86_400_000).toISOString().slice(0, 10),
      );
      const scheduled = async () => {
        const views: ExportView[] = [];
        let after: string | null = null;
        do {
          const response: Awaited<ReturnType<typeof one.gql<{ partnerExports: never }>>> = await one.gql(
            `query L($after: String) { partnerExports(first: 100, after: $after) { edges { node { ${EXPORT_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
            { token: ops, variables: { after } },
          );
          const connection = response.data!.partnerExports as {
            edges: { node: ExportView }[];
            pageInfo: { hasNextPage: boolean; endCursor: string | null };
          };
          views.push(...connection.edges.map((edge) => edge.node));
          after = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
        } while (after !== null);
        return views.filter((view) => view.trigger === 'SCHEDULE');
      };
      await waitFor(
        async () => {
          const views = await scheduled();
          return (
            views.length >= partners.length * days.length &&
            views.every((view) => view.status === 'SUCCEEDED')
          );
        },
        60_000,
        'the daily exports',
      );
      const views = await scheduled();
      expect(views.length).toBe(partners.length * days.length);
      expect(new Set(views.map((view) => `${view.partnerId}|${view.from}|${view.to}`)).size).toBe(
        views.length,
      );
      expect(new Set(views.map((view) => view.from))).toEqual(new Set(days));
      expect(new Set(views.map((view) => view.partnerId))).toEqual(new Set(partners));
      for (const view of views) expect((await readFolder(view)).succeeded).toBe(true);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  }, 120_000);
});

describe('a worker killed mid-export', () => {
  it('leaves no _SUCCESS, and the retry completes without duplicate parts', async () => {
    const env = exportEnv({ EXPORTS_PART_MAX_ROWS: '40', EXPORTS_LEASE_MS: '1500' });
    const child: ChildProcess = spawn(process.execPath, ['dist/main.js'], {
      env: {
        ...process.env,
        ...env,
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'error',
        NODE_ENV: 'development',
      },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let api: TestApp | undefined;
    try {
      // The killed worker is the only one at first; this app takes requests but writes nothing.
      api = await startTestApp({ ...env, EXPORTS_WORKER_CONCURRENCY: '0' });
      const token = await issuer.tokenFor('partner', { partner_id: PARTNER_B });
      const requested = await api.gql<{ requestPartnerExport: ExportView }>(
        `mutation { requestPartnerExport(input: { dataset: TITLE_PERFORMANCE, from: "2021-09-02", to: "2021-09-30" }) { ${EXPORT_FIELDS} } }`,
        { token },
      );
      expect(requested.errors).toBeUndefined();
      const id = requested.data!.requestPartnerExport.id;
      const folder = `partner=${PARTNER_B}/dataset=title_performance/snapshot=${requested.data!.requestPartnerExport.goldSnapshotId}/export=${id}`;
      await waitFor(async () => (await blobs.list(`${folder}/`)).length >= 3, 60_000, 'the first parts');
      child.kill('SIGKILL');
      await exited;
      const written = await blobs.list(`${folder}/`);
      expect(written.some((entry) => entry.path.endsWith('_SUCCESS'))).toBe(false);
      expect(written.some((entry) => entry.path.endsWith('_manifest.json'))).toBe(false);
      const stuck = await api.gql<{ partnerExport: ExportView }>(
        `{ partnerExport(id: "${id}") { status } }`,
        { token },
      );
      expect(stuck.data!.partnerExport.status).toBe('RUNNING');

      // A replica with a worker takes it over once the dead one's lease has run out.
      await api.close();
      api = await startTestApp(env);
      let view: ExportView | null = null;
      await waitFor(async () => {
        view = (
          await api!.gql<{ partnerExport: ExportView }>(
            `{ partnerExport(id: "${id}") { ${EXPORT_FIELDS} } }`,
            { token },
          )
        ).data!.partnerExport;
        return view.status === 'SUCCEEDED' || view.status === 'FAILED';
      }, 90_000);
      expect(view!, JSON.stringify(view)).toMatchObject({ status: 'SUCCEEDED', error: null });
      const checked = await expectFilesMatchGold(view!);
      // Parts numbered 0..n-1 without gaps or extras, exactly those the manifest lists.
      const parts = checked.listed.filter((entry) => /part-\d{5}\./.test(entry.path));
      expect(parts.map((entry) => Number(/part-(\d{5})/.exec(entry.path)![1]))).toEqual(
        parts.map((_, i) => i),
      );
      expect(
        written
          .filter((entry) => /part-/.test(entry.path))
          .every((entry) => parts.some((p) => p.path === entry.path)),
      ).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await api?.close();
    }
  }, 180_000);
});
