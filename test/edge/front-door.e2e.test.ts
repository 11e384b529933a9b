import { createHash, randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { startTestFrontDoor, type TestFrontDoor } from '../support/nginx.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';

/**
 * The service as an origin behind Front Door, played by nginx: it adds X-Azure-FDID and caches by
 * URL exactly as long as the service's Cache-Control allows, reporting X-Cache-Status.
 */
const DATABASE = 'edge-e2e';
const FRONT_DOOR_ID = randomUUID();
const PUBLIC = 'public, max-age=60, s-maxage=300';
const PRIVATE = 'private, no-store';

interface Answer {
  status: number;
  cacheControl: string | null;
  cacheStatus: string | null;
  text: string;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
}

let cosmos: TestCosmos;
let issuer: TestIssuer;
let gold: TestGold;
let api: TestApp;
let frontDoor: TestFrontDoor;
let deviceToken: string;

const answerOf = async (response: Response): Promise<Answer> => {
  const text = await response.text();
  let body: Answer['body'] = {};
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    // Not JSON (HEAD, 204): nothing to read.
  }
  return {
    status: response.status,
    cacheControl: response.headers.get('cache-control'),
    cacheStatus: response.headers.get('x-cache-status'),
    text,
    body,
  };
};

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * A GraphQL GET through Front Door as a device app sends it: the persisted query's hash, the query
 * itself only when registering, and the CSRF-prevention header.
 */
const getThroughFrontDoor = async (
  query: string,
  options: {
    register?: boolean;
    persisted?: boolean;
    variables?: Record<string, unknown>;
    token?: string | null;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> => {
  const { register = false, persisted = true, variables, token = deviceToken, headers = {} } = options;
  const params = new URLSearchParams();
  if (!persisted || register) params.set('query', query);
  if (variables !== undefined) params.set('variables', JSON.stringify(variables));
  if (persisted) {
    params.set('extensions', JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256(query) } }));
  }
  return answerOf(
    await fetch(`${frontDoor.url}/graphql?${params.toString()}`, {
      headers: {
        'apollo-require-preflight': 'true',
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...headers,
      },
    }),
  );
};

const postThroughFrontDoor = async (query: string, token = deviceToken): Promise<Answer> =>
  answerOf(
    await fetch(`${frontDoor.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    }),
  );

const codesOf = (answer: Answer) => answer.body.errors?.map((error) => error.extensions?.code);

beforeAll(async () => {
  [cosmos, issuer] = await Promise.all([startTestCosmos(), startTestIssuer()]);
  gold = await publishTestGold(cosmos, { database: DATABASE, datasets: ['catalog'] });
  api = await startTestApp({
    ...cosmos.env,
    ...issuer.env,
    COSMOS_DATABASE: DATABASE,
    FRONT_DOOR_ID,
    REQUEST_BUDGET_MS: '5000',
  });
  frontDoor = await startTestFrontDoor(api.url, FRONT_DOOR_ID);
  await waitFor(async () => (await fetch(`${frontDoor.url}/health/ready`)).ok, 30_000, 'readiness');
  deviceToken = await issuer.tokenFor('device');
});

afterAll(async () => {
  await frontDoor?.close();
  await api?.close();
  await issuer?.close();
  await cosmos?.close();
  await gold?.remove();
});

describe('origin lock', () => {
  it('refuses every request that bypasses Front Door, probes included', async () => {
    const direct = async (path: string, init: RequestInit = {}) =>
      answerOf(await fetch(`${api.url}${path}`, init));
    const graphql = {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${deviceToken}` },
      body: JSON.stringify({ query: '{ genres }' }),
    };
    const refused = [
      await direct('/graphql', graphql),
      await direct('/graphql?query=%7B%20genres%20%7D', { headers: { 'apollo-require-preflight': 'true' } }),
      await direct('/health/ready'),
      await direct('/health/live'),
      await direct('/health/ready', { headers: { 'x-azure-fdid': randomUUID() } }),
    ];
    for (const answer of refused) {
      expect(answer.status).toBe(403);
      expect(answer.cacheControl).toBe('no-store');
      expect(answer.body).toMatchObject({
        error: 'Forbidden',
        message: expect.stringMatching(/Azure Front Door/),
      });
      expect(answer.body.data).toBeUndefined();
    }

    const withId = { 'x-azure-fdid': FRONT_DOOR_ID };
    expect((await direct('/health/ready', { headers: withId })).status).toBe(200);
    const answer = await direct('/graphql', { ...graphql, headers: { ...graphql.headers, ...withId } });
    expect(answer.status).toBe(200);
    expect(answer.body.data?.['genres']).toContain('Documentaries');
  });

  it('lets Front Door through, probes uncached', async () => {
    for (let i = 0; i < 2; i += 1) {
      const ready = await answerOf(await fetch(`${frontDoor.url}/health/ready`));
      expect(ready.status).toBe(200);
      expect(ready.cacheControl).toBe('no-store');
      expect(ready.cacheStatus).toBe('MISS');
    }
  });
});

describe('catalogue reads as persisted queries over GET', () => {
  const BROWSE =
    'query Browse($genre: String) { browse(genre: $genre, first: 5) { edges { node { id name } } totalCount } }';
  const variables = { genre: 'Documentaries' };

  it('registers the query, then serves its hash from the Front Door cache', async () => {
    for (let i = 0; i < 2; i += 1) {
      const unknown = await getThroughFrontDoor(BROWSE, { variables });
      expect(codesOf(unknown)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
      expect(unknown.cacheControl, 'a miss is never cached: the hash stays usable').toBe(PRIVATE);
      expect(unknown.cacheStatus).toBe('MISS');
    }

    const registered = await getThroughFrontDoor(BROWSE, { variables, register: true });
    expect(registered.body.errors).toBeUndefined();
    expect(registered.cacheControl).toBe(PUBLIC);
    expect(registered.cacheStatus).toBe('MISS');
    const page = registered.body.data?.['browse'] as {
      edges: { node: { id: string } }[];
      totalCount: number;
    };
    expect(page.edges).toHaveLength(5);
    expect(page.totalCount).toBeGreaterThan(5);

    const first = await getThroughFrontDoor(BROWSE, { variables });
    expect(first.body).toEqual(registered.body);
    expect(first.cacheControl).toBe(PUBLIC);
    expect(first.cacheStatus).toBe('MISS');

    const again = await getThroughFrontDoor(BROWSE, { variables });
    expect(again.cacheStatus).toBe('HIT');
    expect(again.cacheControl).toBe(PUBLIC);
    expect(again.text).toBe(first.text);

    // Other variables are another URL, so another cache entry.
    const other = await getThroughFrontDoor(BROWSE, { variables: { genre: 'Comedies' } });
    expect(other.cacheStatus).toBe('MISS');
    expect(other.text).not.toBe(first.text);
  });

  it('hands a cached catalogue answer to anyone: catalogue data is public', async () => {
    const GENRES = 'query Genres { genres }';
    await getThroughFrontDoor(GENRES, { register: true });
    expect((await getThroughFrontDoor(GENRES)).cacheStatus).toBe('MISS');
    const otherDevice = await getThroughFrontDoor(GENRES, {
      token: await issuer.tokenFor('device', { account_id: 'acc-other', country: 'FR' }),
    });
    expect(otherDevice.cacheStatus).toBe('HIT');
    const anonymous = await getThroughFrontDoor(GENRES, { token: null });
    expect(anonymous.cacheStatus).toBe('HIT');
    expect(anonymous.body.data?.['genres']).toContain('Documentaries');
  });

  it('checks the token at the origin on a miss, and does not cache the refusal', async () => {
    const TITLE = 'query Title { title(id: "s3686") { id name } }';
    for (let i = 0; i < 2; i += 1) {
      const refused = await getThroughFrontDoor(TITLE, { persisted: false, token: null });
      expect(codesOf(refused)).toEqual(['UNAUTHENTICATED']);
      expect(refused.cacheControl).toBe(PRIVATE);
      expect(refused.cacheStatus).toBe('MISS');
    }
  });
});

describe('responses Front Door never keeps', () => {
  it('personal queries over GET', async () => {
    const personal = [
      'query Home { home(profileId: "p-test-1", device: TV) { profileId rows { id } } }',
      'query Popular { popular(device: TV) { titles { id } } }',
      'query Mixed { genres popular(device: MOBILE) { titles { id } } }',
    ];
    for (const query of personal) {
      for (let i = 0; i < 2; i += 1) {
        const answer = await getThroughFrontDoor(query, { persisted: false });
        expect(answer.body.errors, query).toBeUndefined();
        expect(answer.cacheControl, query).toBe(PRIVATE);
        expect(answer.cacheStatus, query).toBe('MISS');
      }
    }
    const home = await getThroughFrontDoor(personal[0]!, { persisted: false });
    expect(home.body.data?.['home']).toMatchObject({ profileId: 'p-test-1' });
  });

  it('POSTs, catalogue reads included', async () => {
    for (let i = 0; i < 2; i += 1) {
      const answer = await postThroughFrontDoor('{ genres }');
      expect(answer.body.data?.['genres']).toContain('Documentaries');
      expect(answer.cacheControl).toBe(PRIVATE);
      // nginx, like Front Door, does not even look up its cache for a POST.
      expect(answer.cacheStatus).toBeNull();
    }
  });

  it('errors, with no-store', async () => {
    const cases: [string, string | undefined, number][] = [
      ['{ browse(first: 500) { totalCount } }', 'BAD_USER_INPUT', 200],
      ['{ browse(first: ) }', 'GRAPHQL_PARSE_FAILED', 400],
      ['{ nothing }', 'GRAPHQL_VALIDATION_FAILED', 400],
      [
        'mutation { recordPlaybackProgress(input: { profileId: "p-test-1", titleId: "s3686", positionSeconds: 60, durationSeconds: 3000 }) { positionSeconds } }',
        'BAD_REQUEST',
        405,
      ],
    ];
    for (const [query, code, status] of cases) {
      for (let i = 0; i < 2; i += 1) {
        const answer = await getThroughFrontDoor(query, { persisted: false });
        expect(answer.status, query).toBe(status);
        if (code !== undefined) expect(codesOf(answer), query).toEqual([code]);
        expect(answer.cacheControl, query).toBe(PRIVATE);
        expect(answer.cacheStatus, query).toBe('MISS');
      }
    }
    const mutation = await getThroughFrontDoor(cases[3]![0], { persisted: false });
    expect(mutation.body.errors?.[0]?.message).toMatch(/GET requests only support query operations/);
  });

  it('GETs without the CSRF-prevention header', async () => {
    const answer = await getThroughFrontDoor('{ genres }', {
      persisted: false,
      headers: { 'apollo-require-preflight': '' },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.message).toMatch(/Cross-Site Request Forgery/);
    expect(answer.cacheControl).toBe('no-store');
  });
});

describe('Cache-Control', () => {
  it('is on every response that leaves the service', async () => {
    const through = (path: string, init: RequestInit = {}) => fetch(`${frontDoor.url}${path}`, init);
    const json = { 'content-type': 'application/json', authorization: `Bearer ${deviceToken}` };
    const responses: [string, Response][] = [
      ['GET /', await through('/')],
      ['GET /nowhere', await through('/nowhere')],
      ['HEAD /health/live', await through('/health/live', { method: 'HEAD' })],
      ['HEAD /health/ready', await through('/health/ready', { method: 'HEAD' })],
      ['OPTIONS /graphql', await through('/graphql', { method: 'OPTIONS' })],
      ['GET /graphql', await through('/graphql', { headers: { 'apollo-require-preflight': 'true' } })],
      [
        'POST /graphql bad JSON',
        await through('/graphql', { method: 'POST', headers: json, body: '{"query":' }),
      ],
      ['POST /graphql no query', await through('/graphql', { method: 'POST', headers: json, body: '{}' })],
      [
        'POST /graphql text/plain',
        await through('/graphql', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }),
      ],
      [
        'POST /graphql no token',
        await through('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ genres }' }),
        }),
      ],
      ['PUT /graphql', await through('/graphql', { method: 'PUT', headers: json, body: '{}' })],
      ['direct GET /nowhere', await fetch(`${api.url}/nowhere`)],
    ];
    for (const [what, response] of responses) {
      await response.arrayBuffer();
      expect(response.headers.get('cache-control') ?? `none (${response.status})`, what).toMatch(/no-store/);
    }
  });
});
