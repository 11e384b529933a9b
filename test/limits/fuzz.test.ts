import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import {
  buildSchema,
  getNamedType,
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  Lexer,
  Source,
  TokenKind,
  type GraphQLInputType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';
import { errorsOf, send, type RawResponse } from './http.js';
import { watchRootWork } from './root-work.js';

/**
 * Generated requests against the running app: GraphQL documents (deep, wide, aliased, odd values,
 * unicode, enormous strings) with random variables, and arbitrary bodies (invalid JSON, batches,
 * random bytes) with arbitrary headers. None may get a 5xx or an internal error, hang, or come back
 * with an error lacking `extensions.code`; documents past the depth or alias limit are refused
 * before anything runs.
 */
const DATABASE = 'fuzz';
const LIMITS = { maxDepth: 10, maxAliases: 15, maxTokens: 1000, bodyBytes: 64 * 1024 };
const REQUEST_TIMEOUT_MS = 5000;

let cosmos: TestCosmos;
let issuer: TestIssuer;
let gold: TestGold;
let api: TestApp;
const tokens: Record<'device' | 'ops' | 'partner', string> = { device: '', ops: '', partner: '' };

const schema = buildSchema(readFileSync(new URL('../../schema.gql', import.meta.url), 'utf8'));
const schemaFieldNames = [
  ...new Set(
    Object.values(schema.getTypeMap())
      .filter(
        (type): type is GraphQLObjectType => type instanceof GraphQLObjectType && !type.name.startsWith('__'),
      )
      .flatMap((type) => Object.keys(type.getFields())),
  ),
];
const typeNames = ['Title', 'HomePage', 'Row', 'Query', 'PopularList', 'Nope'];

// ---- Documents -------------------------------------------------------------------------------

type Selection =
  | {
      kind: 'field';
      alias: string | undefined;
      name: string;
      args: string;
      directives: string;
      children: Selection[];
    }
  | { kind: 'inline'; on: string | undefined; children: Selection[] };

const name = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...schemaFieldNames) },
  { weight: 2, arbitrary: fc.stringMatching(/^[_A-Za-z][_0-9A-Za-z]{0,8}$/) },
  { weight: 1, arbitrary: fc.constantFrom('__typename', '__schema', '__type') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }) },
);

const hugeString = fc
  .tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }), fc.integer({ min: 1000, max: 12_000 }))
  .map(([unit, times]) => unit.repeat(times));

const value: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer().map(String),
    fc.constantFrom('0', '-1', '100', '101', '2147483648', '1e308', '-0.0', '1.5'),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    fc.string({ unit: 'binary', maxLength: 40 }).map((text) => JSON.stringify(text)),
    hugeString.map((text) => JSON.stringify(text)),
    fc.constantFrom('true', 'false', 'null', 'TV', 'MOBILE', 'LARGE', 'SHOW', '$v', '$profileId', '$n'),
    fc.constantFrom('"p-test-1"', '"s1"', '"US"', '"2021-01-01T00:00:00Z"'),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(', ')}]`),
    fc
      .array(fc.tuple(name, tie('value')), { maxLength: 3 })
      .map((fields) => `{${fields.map(([key, item]) => `${key}: ${item}`).join(', ')}}`),
  ),
})).value;

const args = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'id',
        'ids',
        'first',
        'after',
        'text',
        'device',
        'profileId',
        'size',
        'country',
        'input',
        'rows',
      ),
      value,
    ),
    { maxLength: 3 },
  )
  .map((pairs) =>
    pairs.length === 0 ? '' : `(${pairs.map(([key, item]) => `${key}: ${item}`).join(', ')})`,
  );

const directives = fc
  .array(
    fc.constantFrom('@include(if: true)', '@skip(if: false)', '@skip(if: $v)', '@deprecated', '@nope(x: 1)'),
    {
      maxLength: 2,
    },
  )
  .map((list) => list.join(' '));

const field = (children: fc.Arbitrary<Selection[]>): fc.Arbitrary<Selection> =>
  fc.record({
    kind: fc.constant('field' as const),
    alias: fc.option(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { nil: undefined, freq: 3 }),
    name,
    args,
    directives,
    children,
  });

const selections: fc.Arbitrary<Selection[]> = fc.letrec<{ list: Selection[] }>((tie) => ({
  list: fc.oneof(
    { depthSize: 'small', maxDepth: 6 },
    fc.constant<Selection[]>([]),
    fc.array(
      fc.oneof(
        field(tie('list')),
        fc.record({
          kind: fc.constant('inline' as const),
          on: fc.option(fc.constantFrom(...typeNames), { nil: undefined }),
          children: fc.array(field(fc.constant<Selection[]>([])), { minLength: 1, maxLength: 3 }),
        }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  ),
})).list;

/** A chain of `length` nested fields, the deepest holding `leaves`: depth past any limit. */
const deepChain = fc
  .tuple(
    fc.integer({ min: 8, max: 40 }),
    fc.array(field(fc.constant<Selection[]>([])), { minLength: 1, maxLength: 3 }),
    name,
  )
  .map(([length, leaves, link]): Selection[] => {
    let chain: Selection[] = leaves;
    for (let i = 0; i < length; i++) {
      chain = [
        {
          kind: 'field',
          alias: undefined,
          name: i === length - 1 ? 'home' : link,
          args: '',
          directives: '',
          children: chain,
        },
      ];
    }
    return chain;
  });

/** Many aliased root fields, e.g. the home page a dozen times over. */
const aliasFlood = fc
  .tuple(
    fc.integer({ min: 10, max: 40 }),
    fc.constantFrom(
      'home(profileId: "p-test-1", device: TV) { profileId }',
      'genres',
      'title(id: "s1") { name }',
    ),
  )
  .map(([count, root]) => ({
    body: Array.from({ length: count }, (_, i) => `a${i}: ${root}`).join(' '),
    count,
  }));

const render = (list: Selection[]): string =>
  list
    .map((selection) => {
      const body = selection.children.length === 0 ? '' : ` { ${render(selection.children)} }`;
      if (selection.kind === 'inline')
        return `... ${selection.on === undefined ? '' : `on ${selection.on} `}{ ${render(selection.children)} }`;
      return `${selection.alias === undefined ? '' : `${selection.alias}: `}${selection.name}${selection.args} ${selection.directives}${body}`;
    })
    .join(' ');

/** Depth and aliases as graphql-armor counts them (inline fragments are transparent). */
const depthOf = (list: Selection[], parent = 0): number =>
  list.reduce(
    (deepest, selection) =>
      Math.max(
        deepest,
        selection.kind === 'inline'
          ? depthOf(selection.children, parent)
          : selection.children.length === 0
            ? parent + 1
            : depthOf(selection.children, parent + 1),
      ),
    parent,
  );

const aliasesOf = (list: Selection[]): number =>
  list.reduce(
    (count, selection) =>
      count +
      (selection.kind === 'field' && selection.alias !== undefined && selection.name !== '__typename'
        ? 1
        : 0) +
      aliasesOf(selection.children),
    0,
  );

/** A literal for an argument of `type`: mostly of that type (plausible or odd), sometimes not. */
const literalFor = (type: GraphQLInputType, depth = 0): fc.Arbitrary<string> => {
  const wrong = fc.constantFrom('"wrong"', '12', 'null', '[]', '{}', 'TV');
  if (type instanceof GraphQLNonNull) return literalFor(type.ofType, depth);
  if (type instanceof GraphQLList) {
    return fc.oneof(
      fc
        .array(literalFor(type.ofType, depth + 1), { maxLength: depth > 1 ? 1 : 4 })
        .map((items) => `[${items.join(', ')}]`),
      literalFor(type.ofType, depth + 1),
    );
  }
  if (type instanceof GraphQLEnumType) {
    return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...type.getValues().map((v) => v.name)) }, wrong);
  }
  if (type instanceof GraphQLInputObjectType) {
    const fields = Object.values(type.getFields());
    const required = fields.filter((field) => field.type instanceof GraphQLNonNull);
    return fc
      .subarray(fields.filter((field) => !(field.type instanceof GraphQLNonNull)))
      .chain((optional) =>
        fc.tuple(
          ...[...required, ...optional].map((field) =>
            literalFor(field.type, depth + 1).map((v) => `${field.name}: ${v}`),
          ),
        ),
      )
      .map((pairs) => `{${pairs.join(', ')}}`);
  }
  const typed: Record<string, fc.Arbitrary<string>> = {
    Int: fc.oneof(fc.integer({ min: -5, max: 120 }), fc.integer()).map(String),
    Float: fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    Boolean: fc.boolean().map(String),
  };
  return fc.oneof(
    {
      weight: 8,
      arbitrary:
        typed[type.name] ?? fc.constantFrom('"p-test-1"', '"s1"', '"US"', '"love"', '"2021-06-01T00:00:00Z"'),
    },
    {
      weight: 2,
      arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }).map((text) => JSON.stringify(text)),
    },
    { weight: 1, arbitrary: hugeString.map((text) => JSON.stringify(text)) },
    { weight: 1, arbitrary: wrong },
  );
};

/** Selections of real fields of `type`, with arguments of their types, aliased at times. */
const selectionsOf = (type: GraphQLObjectType, depth: number): fc.Arbitrary<Selection[]> => {
  const fields = Object.values(type.getFields());
  return fc.subarray(fields, { minLength: 1, maxLength: Math.min(5, fields.length) }).chain((chosen) =>
    fc.tuple(
      ...chosen.map((field) => {
        const named = getNamedType(field.type);
        const children =
          named instanceof GraphQLObjectType
            ? depth > 0
              ? selectionsOf(named, depth - 1)
              : fc.constant<Selection[]>([
                  {
                    kind: 'field',
                    alias: undefined,
                    name: '__typename',
                    args: '',
                    directives: '',
                    children: [],
                  },
                ])
            : fc.constant<Selection[]>([]);
        const args = fc
          .subarray(field.args.filter((arg) => !(arg.type instanceof GraphQLNonNull)))
          .map((optional) => [...field.args.filter((arg) => arg.type instanceof GraphQLNonNull), ...optional])
          .chain((chosen) =>
            fc.tuple(...chosen.map((arg) => literalFor(arg.type).map((v) => `${arg.name}: ${v}`))),
          )
          .map((pairs) => (pairs.length === 0 ? '' : `(${pairs.join(', ')})`));
        return fc.record({
          kind: fc.constant('field' as const),
          alias: fc.option(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { nil: undefined, freq: 4 }),
          name: fc.constant(field.name),
          args,
          directives: fc.constantFrom('', '', '', '@include(if: true)', '@skip(if: true)'),
          children,
        });
      }),
    ),
  );
};

interface Document {
  text: string;
  depth: number | undefined;
  aliases: number | undefined;
}

const header = fc.constantFrom(
  '',
  'query ',
  'query Q($v: Boolean, $profileId: ID!, $n: Int) ',
  'mutation ',
  'subscription ',
);

const document: fc.Arbitrary<Document> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom('query', 'mutation'), fc.integer({ min: 1, max: 5 }))
      .chain(([operation, depth]) =>
        selectionsOf(operation === 'query' ? schema.getQueryType()! : schema.getMutationType()!, depth).map(
          (list): Document => ({
            text: `${operation} { ${render(list)} }`,
            depth: depthOf(list),
            aliases: aliasesOf(list),
          }),
        ),
      ),
  },
  fc.tuple(header, fc.oneof(selections, deepChain)).map(([head, list]) => ({
    text: `${head}{ ${list.length === 0 ? '__typename' : render(list)} }`,
    depth: list.length === 0 ? 1 : depthOf(list),
    aliases: aliasesOf(list),
  })),
  fc
    .tuple(header, aliasFlood)
    .map(([head, { body, count }]) => ({ text: `${head}{ ${body} }`, depth: undefined, aliases: count })),
  // Text that is hardly GraphQL at all.
  fc
    .string({ unit: 'grapheme', maxLength: 200 })
    .map((text) => ({ text, depth: undefined, aliases: undefined })),
  fc
    .string({ unit: 'binary', maxLength: 200 })
    .map((text) => ({ text: `{ ${text} }`, depth: undefined, aliases: undefined })),
);

const variables = fc.oneof(
  fc.constant(undefined),
  fc.record({ v: fc.jsonValue(), profileId: fc.jsonValue(), n: fc.jsonValue() }, { requiredKeys: [] }),
  fc.record({ v: fc.boolean(), profileId: fc.constant('p-test-1'), n: fc.integer() }),
  fc.jsonValue(),
);

/** Tokens in the document, or undefined when it does not even lex. */
const tokenCount = (text: string): number | undefined => {
  try {
    const lexer = new Lexer(new Source(text));
    let count = 0;
    while (lexer.advance().kind !== TokenKind.EOF) count += 1;
    return count;
  } catch {
    return undefined;
  }
};

// ---- Requests --------------------------------------------------------------------------------

const authorization = fc.oneof(
  fc
    .constantFrom<keyof typeof tokens | undefined>('device', 'ops', 'partner', undefined)
    .map((role): Record<string, string> =>
      role === undefined ? {} : { authorization: `Bearer ${tokens[role]}` },
    ),
  fc.string({ maxLength: 60 }).map((text) => ({ authorization: text.replace(/[\r\n\0]/g, '') })),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/graphql-response+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json; charset=latin1',
);

const encoder = new TextEncoder();

interface Request {
  method: 'POST' | 'GET';
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
}

const graphqlBody = fc
  .tuple(document, variables, fc.option(fc.string({ maxLength: 10 }), { nil: undefined }))
  .map(([doc, vars, operationName]) => ({ query: doc.text, variables: vars, operationName }));

const anyBody = fc.oneof(
  graphqlBody.map((body) => JSON.stringify(body)),
  fc.array(graphqlBody, { maxLength: 4 }).map((batch) => JSON.stringify(batch)),
  fc.jsonValue().map((json) => JSON.stringify(json)),
  fc
    .record(
      {
        query: fc.jsonValue(),
        variables: fc.jsonValue(),
        extensions: fc.jsonValue(),
        operationName: fc.jsonValue(),
      },
      { requiredKeys: [] },
    )
    .map((body) => JSON.stringify(body)),
  fc.constant(
    JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } }),
  ),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }),
  fc
    .integer({ min: 65_000, max: 80_000 })
    .map((size) => JSON.stringify({ query: `{ search(text: "${'y'.repeat(size)}") { id } }` })),
);

const anyRequest: fc.Arbitrary<Request> = fc.oneof(
  fc.record({
    method: fc.constant('POST' as const),
    path: fc.constant('/graphql'),
    headers: fc.tuple(authorization, contentType, fc.boolean()).map(([auth, type, preflight]) => ({
      ...auth,
      'content-type': type,
      ...(preflight ? { 'apollo-require-preflight': 'true' } : {}),
    })),
    body: anyBody.map((body) => (typeof body === 'string' ? encoder.encode(body) : body)),
  }),
  fc
    .tuple(
      authorization,
      fc.dictionary(
        fc.constantFrom('query', 'variables', 'operationName', 'extensions', 'x'),
        fc.string({ maxLength: 80 }),
        {
          maxKeys: 4,
        },
      ),
      graphqlBody,
      fc.boolean(),
    )
    .map(([auth, params, body, preflight]) => ({
      method: 'GET' as const,
      path: `/graphql?${new URLSearchParams({ query: body.query, ...params }).toString()}`,
      headers: { ...auth, ...(preflight ? { 'apollo-require-preflight': 'true' } : {}) },
      body: undefined,
    })),
);

// ---- Checks ----------------------------------------------------------------------------------

const sendRequest = (request: Request): Promise<RawResponse> =>
  send(`${api.url}${request.path}`, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    timeoutMs: REQUEST_TIMEOUT_MS,
  });

/** What every answer must look like, whatever was asked. */
const expectWellFormed = (response: RawResponse, what: string) => {
  expect(response.status, what).toBeLessThan(500);
  // A HEAD-less GET or POST on /graphql always answers JSON.
  expect(response.json, `${what}: not JSON: ${response.text.slice(0, 200)}`).toBeTypeOf('object');
  const errors = errorsOf(response.json);
  if (response.status >= 400)
    expect(errors?.length, `${what}: a ${response.status} without errors`).toBeGreaterThan(0);
  for (const error of errors ?? []) {
    expect(error.extensions?.code, `${what}: ${JSON.stringify(error)}`).toBeTypeOf('string');
    expect(error.extensions?.code, `${what}: ${JSON.stringify(error)}`).not.toBe('INTERNAL_SERVER_ERROR');
    expect(error.message).toBeTypeOf('string');
  }
};

let rootWork: () => number;

beforeAll(async () => {
  [cosmos, issuer] = await Promise.all([startTestCosmos(), startTestIssuer()]);
  gold = await publishTestGold(cosmos, {
    database: DATABASE,
    profiles: 10,
    datasets: ['catalog', 'popular'],
  });
  api = await startTestApp({
    ...cosmos.env,
    ...issuer.env,
    COSMOS_DATABASE: DATABASE,
    // Budgets out of the way: rate limits have their own tests.
    RATE_LIMIT_DEVICE_PER_MINUTE: '1000000',
    RATE_LIMIT_OPS_PER_MINUTE: '1000000',
    RATE_LIMIT_PARTNER_PER_MINUTE: '1000000',
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000',
  });
  await waitFor(async () => (await fetch(`${api.url}/health/ready`)).ok, 60_000, 'readiness');
  tokens.device = await issuer.tokenFor('device');
  tokens.ops = await issuer.tokenFor('ops');
  tokens.partner = await issuer.tokenFor('partner');
  rootWork = watchRootWork(api.app);
});

afterAll(async () => {
  await api?.close();
  await Promise.all([issuer?.close(), cosmos?.close(), gold?.remove()]);
});

describe('fuzzing the running app', () => {
  it('answers generated GraphQL documents with a well-formed 2xx or 4xx, refusing those past a limit unrun', async () => {
    let refusedPastLimit = 0;
    await fc.assert(
      fc.asyncProperty(
        document,
        variables,
        fc.constantFrom<keyof typeof tokens>('device', 'ops', 'partner'),
        async (doc, vars, role) => {
          const body = JSON.stringify({ query: doc.text, variables: vars });
          const oversized = Buffer.byteLength(body) > LIMITS.bodyBytes;
          const tokensInDocument = tokenCount(doc.text);
          const pastTokens = tokensInDocument !== undefined && tokensInDocument > LIMITS.maxTokens;
          const pastLimit =
            tokensInDocument !== undefined &&
            !pastTokens &&
            ((doc.depth ?? 0) > LIMITS.maxDepth || (doc.aliases ?? 0) > LIMITS.maxAliases);
          const before = rootWork();
          const response = await sendRequest({
            method: 'POST',
            path: '/graphql',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[role]}` },
            body,
          });
          expectWellFormed(response, doc.text.slice(0, 300));
          const codes = (errorsOf(response.json) ?? []).map((error) => error.extensions?.code);
          if (oversized) {
            expect(response.status).toBe(413);
          } else if (pastTokens) {
            expect(response.status).toBe(400);
            expect(codes).toContain('GRAPHQL_PARSE_FAILED');
          } else if (pastLimit) {
            // Refused before execution: for its limit, or for malformed variables even earlier.
            expect(
              response.status,
              `depth ${doc.depth}, aliases ${doc.aliases}: ${doc.text.slice(0, 300)}`,
            ).toBe(400);
            expect(response.json).not.toHaveProperty('data');
            expect(rootWork()).toBe(before);
            if (codes.includes('GRAPHQL_VALIDATION_FAILED')) refusedPastLimit += 1;
          }
        },
      ),
      { numRuns: 150, interruptAfterTimeLimit: 40_000 },
    );
    expect(refusedPastLimit, 'documents past a limit among the generated ones').toBeGreaterThan(5);
  });

  it('answers arbitrary requests (bodies, batches, bytes, headers, GET) with a well-formed 2xx or 4xx', async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(anyRequest, async (request) => {
        const response = await sendRequest(request);
        statuses.add(response.status);
        expectWellFormed(
          response,
          `${request.method} ${request.path.slice(0, 200)} ${JSON.stringify(request.headers)}`,
        );
      }),
      { numRuns: 150, interruptAfterTimeLimit: 40_000 },
    );
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 400, 413]));
    // Still serving normally.
    const response = await api.gql<{ genres: string[] }>('{ genres }', { token: tokens.device });
    expect(response.errors).toBeUndefined();
    expect(response.data?.genres.length).toBeGreaterThan(10);
  });
});
