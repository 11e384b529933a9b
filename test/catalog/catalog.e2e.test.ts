import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CatalogRecord } from '../../src/gold/contract/catalog.schema.js';
import { GoldStoreRepository } from '../../src/gold/gold-store.repository.js';
import { ManifestRepository } from '../../src/gold/manifest.repository.js';
import { GoldPublisher } from '../../src/gold/publisher/gold-publisher.js';
import { startTestApp, waitFor, type GraphQLResponse, type TestApp } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';

const DATABASE = 'catalog-e2e';

interface BrowsePage {
  browse: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}
const quiet = { info: () => undefined, warn: () => undefined, badRecord: () => undefined };

let cosmos: TestCosmos;
let issuer: TestIssuer;
let gold: TestGold;
let api: TestApp;
let deviceToken: string;
let catalog: CatalogRecord[];

beforeAll(async () => {
  cosmos = await startTestCosmos();
  issuer = await startTestIssuer();
  gold = await publishTestGold(cosmos, { database: DATABASE, datasets: ['catalog'] });
  catalog = gunzipSync(await readFile(join(gold.dir, 'catalog.jsonl.gz')))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as CatalogRecord);
  api = await startTestApp({ ...cosmos.env, ...issuer.env, COSMOS_DATABASE: DATABASE });
  await waitFor(async () => (await fetch(`${api.url}/health/ready`)).ok, 30_000, 'readiness');
  deviceToken = await issuer.tokenFor('device');
});

afterAll(async () => {
  await api?.close();
  await issuer?.close();
  await cosmos?.close();
  await gold?.remove();
});

describe('catalogue over HTTP with real tokens', () => {
  it('returns real titles from the CSV', async () => {
    const { data, errors } = await api.gql<{ title: Record<string, unknown> }>(
      '{ title(id: "s3686") { id name kind releaseYear seasonCount durationMinutes genres directors } }',
      { token: deviceToken },
    );
    expect(errors).toBeUndefined();
    const record = catalog.find((title) => title.titleId === 's3686')!;
    expect(data?.title).toEqual({
      id: 's3686',
      name: record.name,
      kind: record.kind,
      releaseYear: record.releaseYear,
      seasonCount: record.seasonCount,
      durationMinutes: record.durationMinutes,
      genres: record.genres,
      directors: record.directors,
    });
    expect(record.name).toBe('Stranger Things');
  });

  it('finds titles by name, cast and director regardless of case and accents', async () => {
    const search = async (text: string) =>
      (
        await api.gql<{ search: { id: string }[] }>(
          `{ search(text: ${JSON.stringify(text)}, first: 50) { id } }`,
          {
            token: deviceToken,
          },
        )
      ).data!.search.map((title) => title.id);
    const withAccent = catalog.find((title) => /[éèáíóú]/i.test(title.name))!;
    const plain = withAccent.name.normalize('NFKD').replace(/\p{M}/gu, '').toUpperCase();
    expect(await search(plain)).toContain(withAccent.titleId);
    const directed = catalog.find(
      (title) => title.directors.length > 0 && title.directors[0]!.split(' ').length === 2,
    )!;
    expect(await search(directed.directors[0]!.toLowerCase())).toContain(directed.titleId);
  });

  it('pages through browse with opaque cursors, each matching title exactly once', async () => {
    const genre = 'Documentaries';
    const expected = catalog.filter((title) => title.genres.includes(genre)).map((title) => title.titleId);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { data, errors }: GraphQLResponse<BrowsePage> = await api.gql<BrowsePage>(
        'query($after: String) { browse(genre: "Documentaries", first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        {
          token: deviceToken,
          variables: { after },
        },
      );
      expect(errors).toBeUndefined();
      seen.push(...data!.browse.edges.map((edge) => edge.node.id));
      if (!data!.browse.pageInfo.hasNextPage) break;
      after = data!.browse.pageInfo.endCursor;
    }
    expect(seen.sort()).toEqual(expected.sort());
  });

  it('answers bad arguments with BAD_USER_INPUT and a message naming the argument', async () => {
    const cases: [string, RegExp][] = [
      ['{ browse(first: 500) { totalCount } }', /first/],
      ['{ browse(after: "not-a-cursor") { totalCount } }', /after/],
      ['{ search(text: "   ") { id } }', /text/],
      [`{ titles(ids: ${JSON.stringify(Array.from({ length: 101 }, (_, i) => `s${i}`))}) { id } }`, /ids/],
      ['{ browse(availableIn: "usa") { totalCount } }', /availableIn/],
    ];
    for (const [query, argument] of cases) {
      const { errors, status } = await api.gql(query, { token: deviceToken });
      expect(status).toBe(200);
      expect(errors?.[0]?.extensions?.code, query).toBe('BAD_USER_INPUT');
      expect(errors?.[0]?.message, query).toMatch(argument);
    }
  });

  it('refuses a query without a token, and an operation outside the role', async () => {
    const anonymous = await api.gql('{ genres }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(anonymous.data).toBeNull();

    const forbidden = await api.gql('{ goldDatasets { name } }', { token: deviceToken });
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const expired = await api.gql('{ genres }', {
      token: await issuer.tokenFor('ops', {}, { expires: '-1h' }),
    });
    expect(expired.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('shows ops the catalogue dataset as fresh with its counts', async () => {
    const { data } = await api.gql<{
      goldDatasets: { name: string; status: string; documentCount: number }[];
    }>('{ goldDatasets { name status documentCount } }', { token: await issuer.tokenFor('ops') });
    const catalogDataset = data!.goldDatasets.find((dataset) => dataset.name === 'catalog');
    expect(catalogDataset).toMatchObject({ documentCount: catalog.length });
    // The sample gold was published just now; its as-of date does not make it old.
    expect(catalogDataset?.status).toBe('FRESH');
    expect(data!.goldDatasets.find((dataset) => dataset.name === 'profiles')?.status).toBe('MISSING');
  });

  it('answers the health probes with GET and HEAD, never cached', async () => {
    for (const path of ['/health/live', '/health/ready']) {
      for (const method of ['GET', 'HEAD']) {
        const response = await fetch(`${api.url}${path}`, { method });
        expect(response.status, `${method} ${path}`).toBe(200);
        expect(response.headers.get('cache-control')).toBe('no-store');
      }
    }
  });
});

describe('catalogue snapshot switch', () => {
  it('swaps the in-memory catalogue while queries run, with no failed query', async () => {
    const renamed = catalog.map((title) =>
      title.titleId === 's3686' ? { ...title, name: 'Stranger Things (Remastered)' } : title,
    );
    const file = join(gold.dir, 'catalog-v2.jsonl');
    await writeFile(file, `${renamed.map((title) => JSON.stringify(title)).join('\n')}\n`);

    const observations: { started: number; ended: number; name: string | undefined; error: unknown }[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const started = performance.now();
        const response = await api.gql<{ title: { name: string }; search: { id: string }[] }>(
          '{ title(id: "s3686") { name } search(text: "stranger things", first: 5) { id } }',
          { token: deviceToken },
        );
        observations.push({
          started,
          ended: performance.now(),
          name: response.data?.title.name,
          error: response.errors,
        });
      }
    };
    const workers = Array.from({ length: 4 }, worker);

    const database = cosmos.database(DATABASE);
    await new GoldPublisher({
      store: new GoldStoreRepository(database),
      manifests: new ManifestRepository(database),
      reporter: quiet,
    }).publish({ dataset: 'catalog', inputs: [file], maxBad: 0, concurrency: 8, modelVersion: null });
    await waitFor(
      () => observations.some((observation) => observation.name === 'Stranger Things (Remastered)'),
      30_000,
      'the new catalogue snapshot to be served',
    );
    const switchedAt = Math.min(
      ...observations.filter((o) => o.name === 'Stranger Things (Remastered)').map((o) => o.ended),
    );
    // Keep querying a little after the switch, then stop.
    await waitFor(
      () => observations.filter((o) => o.started > switchedAt).length >= 20,
      10_000,
      'queries after the switch',
    );
    stop = true;
    await Promise.all(workers);

    expect(observations.length).toBeGreaterThan(20);
    expect(observations.filter((observation) => observation.error !== undefined)).toEqual([]);
    expect(new Set(observations.map((observation) => observation.name))).toEqual(
      new Set(['Stranger Things', 'Stranger Things (Remastered)']),
    );
    // Once a client has seen the new snapshot, no later request is answered from the old one.
    expect(observations.filter((o) => o.started > switchedAt && o.name === 'Stranger Things')).toEqual([]);
  });
});
