import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Counters } from '../../src/modules/telemetry/counters.service.js';
import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';
import { bearer, errorsOf, send, type RawResponse } from './http.js';
import { watchRootWork } from './root-work.js';

/**
 * Requests past a limit, against the real app over HTTP with the default limits: each is refused
 * with a 4xx and a GraphQL error code saying why, before any resolver runs, and the service goes on
 * answering normally.
 */
const DATABASE = 'query-limits';
const HOME = 'home(profileId: "p-test-1", device: TV) { profileId rows { titles { id } } }';
const TITLE_CARD = 'id name synopsis genres cast directors artwork { url width height }';

let cosmos: TestCosmos;
let issuer: TestIssuer;
let gold: TestGold;
let api: TestApp;
let device: Record<string, string>;

const post = (body: unknown, headers = device) =>
  send(`${api.url}/graphql`, { body: typeof body === 'string' ? body : JSON.stringify(body), headers });

let rootWork: () => number;

const refusals = (limit: string) => api.app.get(Counters).value('graphql_limit_rejections_total', { limit });

const expectRefused = (response: RawResponse, status: number, code: string, message: RegExp) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('cache-control')).toMatch(/no-store/);
  const errors = errorsOf(response.json);
  expect(errors).toHaveLength(1);
  expect(errors![0]).toMatchObject({ extensions: { code } });
  expect(errors![0]!.message).toMatch(message);
  // Refused before execution: no `data` at all.
  expect(response.json).not.toHaveProperty('data');
};

beforeAll(async () => {
  [cosmos, issuer] = await Promise.all([startTestCosmos(), startTestIssuer()]);
  gold = await publishTestGold(cosmos, {
    database: DATABASE,
    profiles: 10,
    datasets: ['catalog', 'popular'],
  });
  api = await startTestApp({ ...cosmos.env, ...issuer.env, COSMOS_DATABASE: DATABASE });
  await waitFor(async () => (await fetch(`${api.url}/health/ready`)).ok, 60_000, 'readiness');
  device = bearer(await issuer.tokenFor('device'));
  rootWork = watchRootWork(api.app);
});

afterAll(async () => {
  await api?.close();
  await Promise.all([issuer?.close(), cosmos?.close(), gold?.remove()]);
});

/** After each refusal the same service answers a normal request normally. */
const expectServing = async () => {
  const response = await post({ query: '{ genres title(id: "s1") { id } }' });
  expect(response.status).toBe(200);
  expect(errorsOf(response.json)).toBeUndefined();
  expect((response.json as { data: { genres: string[] } }).data.genres.length).toBeGreaterThan(10);
};

describe('GraphQL limits over HTTP', () => {
  it('runs the home page, and counts its work (the yardstick of the checks below)', async () => {
    const before = rootWork();
    const response = await post({ query: `{ ${HOME} }` });
    expect(errorsOf(response.json)).toBeUndefined();
    expect(rootWork()).toBe(before + 1);
  });

  it('refuses too many aliases of the home page before any of them runs', async () => {
    const before = rootWork();
    const query = `{ ${Array.from({ length: 16 }, (_, i) => `h${i}: ${HOME}`).join(' ')} }`;
    expectRefused(
      await post({ query }),
      400,
      'GRAPHQL_VALIDATION_FAILED',
      /^Aliases limit of 15 exceeded, found 16\.$/,
    );
    expect(rootWork()).toBe(before);
    expect(refusals('aliases')).toBe(1);
    await expectServing();
  });

  it('refuses a query nested too deep', async () => {
    const before = rootWork();
    const deep = `{ ${HOME.replace('titles { id }', `titles { id ${'{ x '.repeat(12)}${'} '.repeat(12)}}`)} }`;
    const response = await post({ query: deep });
    expect(response.status).toBe(400);
    const messages = errorsOf(response.json)!.map((error) => error.message);
    expect(messages).toContain('Query depth limit of 10 exceeded, found 16.');
    expect(
      errorsOf(response.json)!.every((error) => error.extensions?.code === 'GRAPHQL_VALIDATION_FAILED'),
    ).toBe(true);
    expect(rootWork()).toBe(before);
    await expectServing();
  });

  it('refuses a query that costs too much', async () => {
    const page = `browse(first: 100) { edges { node { ${TITLE_CARD} } } }`;
    const query = `{ ${['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((alias) => `${alias}: ${page}`).join(' ')} }`;
    expectRefused(
      await post({ query }),
      400,
      'GRAPHQL_VALIDATION_FAILED',
      /^Query Cost limit of 25000 exceeded/,
    );
    expect(refusals('cost')).toBe(1);
    await expectServing();
  });

  it('refuses too many directives', async () => {
    const query = `query($x: Boolean!) { ${'genres @include(if: $x) '.repeat(51)} }`;
    expectRefused(
      await post({ query, variables: { x: true } }),
      400,
      'GRAPHQL_VALIDATION_FAILED',
      /^Directives limit of 50 exceeded, found 51\.$/,
    );
    await expectServing();
  });

  it('stops parsing a document of too many tokens', async () => {
    expectRefused(
      await post({ query: `{ ${'genres '.repeat(2000)} }` }),
      400,
      'GRAPHQL_PARSE_FAILED',
      /more that 1000 tokens/,
    );
    expect(refusals('tokens')).toBe(1);
    await expectServing();
  });

  it('answers huge strings within the body limit with argument errors', async () => {
    const huge = 'ß'.repeat(30_000);
    for (const response of [
      await post({ query: `{ search(text: ${JSON.stringify(huge)}) { id } }` }),
      await post({ query: 'query($t: String!) { search(text: $t) { id } }', variables: { t: huge } }),
    ]) {
      expect(response.status).toBe(200);
      expect(errorsOf(response.json)!.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    }
    await expectServing();
  });

  it('refuses a batch of operations', async () => {
    const before = rootWork();
    expectRefused(
      await post([{ query: `{ ${HOME} }` }, { query: '{ genres }' }]),
      400,
      'BAD_REQUEST',
      /batching disabled/,
    );
    expect(rootWork()).toBe(before);
    await expectServing();
  });

  it('refuses a body over the limit, whether its length is announced or streamed', async () => {
    const big = JSON.stringify({ query: `{ search(text: "${'x'.repeat(70_000)}") { id } }` });
    expectRefused(await post(big), 413, 'PAYLOAD_TOO_LARGE', /larger than the 65536 bytes/);
    const chunks = new TextEncoder().encode(big);
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < chunks.length; offset += 8192) {
          controller.enqueue(chunks.slice(offset, offset + 8192));
        }
        controller.close();
      },
    });
    const response = await send(`${api.url}/graphql`, { body: streamed, headers: device });
    expectRefused(response, 413, 'PAYLOAD_TOO_LARGE', /larger than the 65536 bytes/);
    await expectServing();
  });

  it('refuses bodies that are not a GraphQL request', async () => {
    expectRefused(await post('{"query": "{ genres }"'), 400, 'BAD_REQUEST', /not valid JSON/);
    expectRefused(await post('"{ genres }"'), 400, 'BAD_REQUEST', /POST body/);
    expectRefused(await post({ query: 42 }), 400, 'BAD_REQUEST', /string/);
    const xml = await send(`${api.url}/graphql`, {
      body: '<query/>',
      headers: { ...device, 'content-type': 'application/xml' },
    });
    expectRefused(xml, 415, 'UNSUPPORTED_MEDIA_TYPE', /Unsupported Media Type/);
    await expectServing();
  });

  it('refuses a request line and headers too large for the server, in the same shape', async () => {
    const response = await send(
      `${api.url}/graphql?query=${encodeURIComponent(`{ ${'genres '.repeat(3000)}}`)}`,
      {
        method: 'GET',
        headers: { ...device, 'apollo-require-preflight': 'true' },
      },
    );
    expectRefused(response, 431, 'REQUEST_HEADER_FIELDS_TOO_LARGE', /larger than this server accepts/);
    await expectServing();
  });

  it('refuses a subscription, which the schema has none of, as a validation failure', async () => {
    const before = rootWork();
    expectRefused(
      await post({ query: 'subscription { genres }' }),
      400,
      'GRAPHQL_VALIDATION_FAILED',
      /^This service has no subscription operations\.$/,
    );
    expect(rootWork()).toBe(before);
  });

  it('keeps refusals of other routes as they were', async () => {
    const response = await send(`${api.url}/no-such-route`, { method: 'GET', headers: {} });
    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({ statusCode: 404 });
  });
});

describe('in production', () => {
  let production: TestApp;

  beforeAll(async () => {
    production = await startTestApp({
      ...cosmos.env,
      ...issuer.env,
      COSMOS_DATABASE: DATABASE,
      NODE_ENV: 'production',
      CURSOR_SECRET: 'query-limits-test-secret-0123456789abcdef',
    });
  });

  afterAll(() => production?.close());

  it('refuses introspection and keeps the schema out of error messages', async () => {
    const introspection = await send(`${production.url}/graphql`, {
      body: JSON.stringify({ query: '{ __schema { types { name } } }' }),
      headers: device,
    });
    expect(introspection.status).toBe(400);
    expect(errorsOf(introspection.json)![0]).toMatchObject({
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });

    const typo = await send(`${production.url}/graphql`, {
      body: JSON.stringify({ query: '{ genre }' }),
      headers: device,
    });
    expect(errorsOf(typo.json)!.map((error) => error.message)).toEqual([
      'Cannot query field "genre" on type "Query".',
    ]);
    // The same typo outside production gets the suggestion.
    expect(errorsOf((await post({ query: '{ genre }' })).json)![0]!.message).toMatch(
      /Did you mean "genres"\?/,
    );
    expect(typo.text).not.toMatch(/stacktrace/);
  });
});
