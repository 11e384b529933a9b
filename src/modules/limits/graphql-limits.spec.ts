import { readFileSync } from 'node:fs';

import type { GraphQLRequestContext } from '@apollo/server';
import fc from 'fast-check';
import {
  buildSchema,
  getIntrospectionQuery,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type GraphQLSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';

import type { GraphQLLimitsConfig } from '../config/app-config.js';
import { loadConfig } from '../config/app-config.js';
import { Counters } from '../telemetry/counters.service.js';
import { graphQLLimits, limitRefusalsPlugin } from './graphql-limits.js';

const defaults = loadConfig({
  COSMOS_ENDPOINT: 'https://localhost:8081/',
  AUTH_ISSUER: 'https://idp.test/v2.0',
  AUTH_AUDIENCE: 'api://flick-api',
  AUTH_JWKS_URL: 'https://idp.test/keys',
}).limits.graphql;

const appSchema = buildSchema(readFileSync(new URL('../../../schema.gql', import.meta.url), 'utf8'));

/** A schema that nests without end, to reach every limit with documents that are otherwise valid. */
const nestingSchema = buildSchema(`
  type Query { node: Node }
  type Node { id: ID, child: Node, children(first: Int): [Node] }
`);

/** What Apollo does before execution: parse with the options, then validate with the rules. */
const refusalsOf = (
  query: string,
  { schema = appSchema, limits = defaults }: { schema?: GraphQLSchema; limits?: GraphQLLimitsConfig } = {},
): string[] => {
  const options = graphQLLimits(limits, true);
  try {
    const document = parse(query, options.parseOptions);
    return validate(schema, document, [...specifiedRules, ...options.validationRules]).map((e) => e.message);
  } catch (error) {
    if (error instanceof GraphQLError) return [error.message];
    throw error;
  }
};

const TITLE_CARD = `id name kind releaseYear maturityRating genres synopsis durationMinutes seasonCount
  artwork(size: LARGE) { url width height } cast(first: 5)`;

/** The largest operations the apps send, which the default limits must leave well alone. */
const appOperations = {
  'the device home page': `query($profileId: ID!, $device: DeviceClass!, $rows: Int, $titlesPerRow: Int) {
    home(profileId: $profileId, device: $device, rows: $rows, titlesPerRow: $titlesPerRow) {
      profileId
      rows { id kind heading titles { id } continueWatching { title { id } positionSeconds } }
      meta { source degraded reasons snapshotId }
    }
  }`,
  'a full TV home page written with fragments': `query TvHome($profileId: ID!) {
    home(profileId: $profileId, device: TV) { ...Page }
  }
  fragment Page on HomePage { profileId rows { ...RowOfTitles } meta { source degraded reasons snapshotId dataAgeSeconds } }
  fragment RowOfTitles on Row {
    id kind heading because { ...Card } titles { ...Card }
    continueWatching { title { ...Card } positionSeconds durationSeconds updatedAt }
  }
  fragment Card on Title { ${TITLE_CARD} }`,
  'a browse page of 100 full titles': `{ browse(first: 100) {
    edges { cursor node { ${TITLE_CARD} } } pageInfo { hasNextPage endCursor } totalCount } }`,
  'a page of 100 recommendations with full titles': `{
    recommendations(profileId: "p-1", first: 100) {
      edges { cursor node { score reason title { ${TITLE_CARD} } } } pageInfo { hasNextPage endCursor } meta { source }
    }
  }`,
  'the introspection query of GraphQL tools': getIntrospectionQuery({
    descriptions: true,
    specifiedByUrl: true,
    directiveIsRepeatable: true,
    schemaDescription: true,
    inputValueDeprecation: true,
  }),
};

const nested = (depth: number): string =>
  `{ node ${'{ child '.repeat(depth - 1)}{ id }${' }'.repeat(depth - 1)} }`;

describe(graphQLLimits.name, () => {
  it.each(Object.entries(appOperations))('leaves %s alone', (_name, query) => {
    expect(refusalsOf(query)).toEqual([]);
  });

  it('refuses operations past a limit with a message that names it', () => {
    expect(refusalsOf(nested(11), { schema: nestingSchema })).toEqual([
      'Query depth limit of 10 exceeded, found 12.',
    ]);
    expect(refusalsOf(`{ ${Array.from({ length: 16 }, (_, i) => `g${i}: genres`).join(' ')} }`)).toEqual([
      'Aliases limit of 15 exceeded, found 16.',
    ]);
    const page = `browse(first: 100) { edges { node { ${TITLE_CARD} } } }`;
    expect(refusalsOf(`{ a: ${page} b: ${page} c: ${page} d: ${page} }`)[0]).toMatch(
      /^Query Cost limit of 25000 exceeded, found \d+/,
    );
    expect(refusalsOf(`query($x: Boolean!) { ${'genres @include(if: $x) '.repeat(51)} }`)).toEqual([
      'Directives limit of 50 exceeded, found 51.',
    ]);
    expect(refusalsOf(`{ ${'genres '.repeat(1000)} }`)).toEqual([
      'Syntax Error: Document contains more that 1000 tokens. Parsing aborted.',
    ]);
    expect(refusalsOf(`{ genres ${'# …\n'.repeat(1001)}}`)).toEqual([
      'Syntax Error: Document contains more than 1000 comments. Parsing aborted.',
    ]);
  });

  it('refuses exactly the operations past each configured limit', () => {
    fc.assert(
      fc.property(
        fc.record({
          maxDepth: fc.integer({ min: 1, max: 12 }),
          maxAliases: fc.integer({ min: 0, max: 12 }),
          maxTokens: fc.integer({ min: 10, max: 200 }),
        }),
        fc.integer({ min: 1, max: 14 }),
        fc.integer({ min: 0, max: 14 }),
        (configured, depth, aliases) => {
          const limits = { ...defaults, ...configured, maxCost: 1e9 };
          const selection = Array.from({ length: aliases }, (_, i) => `a${i}: id`).join(' ');
          // `node` adds a level, and a selection set holds the deepest field.
          const query = `{ node ${'{ child '.repeat(Math.max(0, depth - 2))}{ id ${selection} }${' }'.repeat(Math.max(0, depth - 2))} }`;
          const found = Math.max(2, depth);
          const tokens = 6 + 3 * Math.max(0, depth - 2) + 3 * aliases;
          const refusals = refusalsOf(query, { schema: nestingSchema, limits });
          if (tokens > limits.maxTokens) {
            expect(refusals).toEqual([
              `Syntax Error: Document contains more that ${limits.maxTokens} tokens. Parsing aborted.`,
            ]);
            return;
          }
          const expected = [
            ...(aliases > limits.maxAliases
              ? [`Aliases limit of ${limits.maxAliases} exceeded, found ${aliases}.`]
              : []),
            ...(found > limits.maxDepth
              ? [`Query depth limit of ${limits.maxDepth} exceeded, found ${found}.`]
              : []),
          ];
          expect(refusals.sort()).toEqual(expected.sort());
        },
      ),
    );
  });

  it('hides field suggestions in production only', () => {
    expect(graphQLLimits(defaults, true).hideSchemaDetailsFromClientErrors).toBe(true);
    expect(graphQLLimits(defaults, false).hideSchemaDetailsFromClientErrors).toBe(false);
    expect(graphQLLimits(defaults, false).allowBatchedHttpRequests).toBe(false);
  });
});

describe(limitRefusalsPlugin.name, () => {
  /** Runs the plugin's parse and validation hooks the way Apollo does for `query`. */
  const runPipeline = async (counters: Counters, query: string, schema = appSchema) => {
    const options = graphQLLimits(defaults, true);
    const listener = await limitRefusalsPlugin(counters).requestDidStart!(
      {} as GraphQLRequestContext<object>,
    );
    const parsed = await listener!.parsingDidStart!({} as never);
    let document;
    try {
      document = parse(query, options.parseOptions);
    } catch (error) {
      await parsed!(error as Error);
      return;
    }
    await parsed!();
    const validated = await listener!.validationDidStart!({} as never);
    const errors = validate(schema, document, [...specifiedRules, ...options.validationRules]);
    await validated!(errors.length === 0 ? undefined : errors);
  };

  it('counts each refused operation once per limit it broke, and nothing else', async () => {
    const counters = new Counters();
    await runPipeline(counters, `{ ${Array.from({ length: 16 }, (_, i) => `g${i}: genres`).join(' ')} }`);
    await runPipeline(counters, `{ ${'genres '.repeat(1001)} }`);
    await runPipeline(counters, nested(12), nestingSchema);
    await runPipeline(counters, '{ genres }');
    await runPipeline(counters, '{ nosuchfield }');
    await runPipeline(counters, '{ genres');
    expect(counters.snapshot()).toEqual([
      { name: 'graphql_limit_rejections_total', labels: { limit: 'aliases' }, value: 1 },
      { name: 'graphql_limit_rejections_total', labels: { limit: 'depth' }, value: 1 },
      { name: 'graphql_limit_rejections_total', labels: { limit: 'tokens' }, value: 1 },
    ]);
  });
});
