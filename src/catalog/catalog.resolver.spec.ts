import { createRequire } from 'node:module';

import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Logger } from '@nestjs/common';
import { GraphQLModule, GraphQLSchemaHost } from '@nestjs/graphql';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type * as graphql from 'graphql';
import type { GraphQLNamedType, GraphQLObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { CatalogRecord } from '../gold/contract/catalog.schema.js';
import { GoldMetrics } from '../gold/gold-metrics.js';
import { GoldService } from '../gold/gold.service.js';
import { ManifestRepository } from '../gold/manifest.repository.js';
import { SnapshotRegistry, type SnapshotListener } from '../gold/snapshot-registry.service.js';
import { ROLES_KEY, roles } from '../modules/auth/roles.decorator.js';
import { formatGraphQLError } from '../modules/graphql/format-error.js';
import { CatalogModule } from './catalog.module.js';
import { CatalogRepository } from './catalog.repository.js';
import { CatalogResolver } from './catalog.resolver.js';
import { CatalogService } from './catalog.service.js';
import { catalogRecordOf } from './testing/catalog-records.js';

// Nest builds the schema with the CommonJS build of graphql (what Node loads from node_modules);
// vitest would hand this file the ESM build, whose printType refuses the other build's types.
const { printType } = createRequire(import.meta.url)('graphql') as typeof graphql;

const records: CatalogRecord[] = [
  catalogRecordOf({
    titleId: 'm1',
    name: 'Amélie',
    synopsis: 'A shy waitress decides to change the lives of those around her.',
    genres: ['Comedies', 'Romantic Movies'],
    cast: Array.from({ length: 12 }, (_, i) => `Actor ${i + 1}`),
    directors: ['Jean-Pierre Jeunet'],
    originCountries: ['France'],
    releaseYear: 2001,
    maturityRating: 'R',
    maturityLevel: 4,
    durationMinutes: 122,
    addedAt: '2021-09-01T00:00:00Z',
    availability: [
      { country: 'US', from: '2000-01-01', to: null },
      { country: 'FR', from: '2000-01-01', to: '2001-01-01' },
    ],
  }),
  catalogRecordOf({
    titleId: 's1',
    kind: 'SHOW',
    name: 'Blood & Water',
    genres: ['International TV Shows'],
    durationMinutes: null,
    seasonCount: 2,
    addedAt: '2021-09-24T00:00:00Z',
  }),
  catalogRecordOf({ titleId: 'm2', name: 'Zodiac', genres: ['Dramas'], addedAt: null }),
];

/** Hands the one catalogue snapshot to whoever subscribes, or nothing while `published` is false. */
class FakeSnapshotRegistry {
  published = false;
  private readonly listeners = new Set<SnapshotListener>();

  subscribe(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    if (this.published)
      listener({ dataset: 'catalog', snapshotId: 's1', completedAt: '2026-01-01T00:00:00Z' });
    return () => this.listeners.delete(listener);
  }
}

interface GraphQLResponse {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; argument?: string } }[];
}

const startApp = async (registry: FakeSnapshotRegistry): Promise<NestFastifyApplication> => {
  const moduleRef = await Test.createTestingModule({
    imports: [
      GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        autoSchemaFile: true,
        sortSchema: true,
        // The service's formatter, plus CATALOG_NOT_LOADED, which it does not pass through yet.
        formatError: (formatted, error) =>
          formatted.extensions?.['code'] === 'CATALOG_NOT_LOADED'
            ? formatted
            : formatGraphQLError(formatted, error),
      }),
      CatalogModule,
    ],
  })
    .overrideProvider(ManifestRepository)
    .useValue({})
    .overrideProvider(GoldService)
    .useValue({})
    .overrideProvider(GoldMetrics)
    .useValue({})
    .overrideProvider(SnapshotRegistry)
    .useValue(registry)
    .overrideProvider(CatalogRepository)
    .useValue({ loadSnapshot: (snapshotId: string) => Promise.resolve(snapshotId === 's1' ? records : []) })
    .compile();
  moduleRef.useLogger(false);
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
};

describe(CatalogResolver.name, () => {
  let app: NestFastifyApplication;

  const query = async (source: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse> => {
    const response = await app.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query: source, variables },
    });
    return response.json<GraphQLResponse>();
  };

  /** The one error of a response, which must have no data for the failed field. */
  const errorOf = async (source: string, variables: Record<string, unknown> = {}) => {
    const response = await query(source, variables);
    expect(response.errors).toHaveLength(1);
    return response.errors?.[0];
  };

  beforeAll(async () => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const registry = new FakeSnapshotRegistry();
    registry.published = true;
    app = await startApp(registry);
    await app.get(CatalogService).whenLoaded('s1');
  });

  afterAll(async () => {
    await app.close();
    vi.restoreAllMocks();
  });

  it('declares a role on every catalogue query', () => {
    for (const name of ['title', 'titles', 'browse', 'search', 'genres'] as const) {
      const handler = Object.getOwnPropertyDescriptor(CatalogResolver.prototype, name)?.value as object;
      expect(Reflect.getMetadata(ROLES_KEY, handler)).toEqual(roles);
    }
  });

  it('serves a title with every field', async () => {
    const response = await query(`{
      title(id: "m1") {
        id kind name synopsis genres directors originCountries releaseYear maturityRating durationMinutes
        seasonCount addedAt
        cast
        firstTwo: cast(first: 2)
        none: cast(first: 0)
        artwork { url width height }
        large: artwork(size: LARGE) { width }
        inUS: availableIn(country: "US")
        inFR: availableIn(country: "FR")
      }
    }`);
    expect(response).toEqual({
      data: {
        title: {
          id: 'm1',
          kind: 'MOVIE',
          name: 'Amélie',
          synopsis: 'A shy waitress decides to change the lives of those around her.',
          genres: ['Comedies', 'Romantic Movies'],
          directors: ['Jean-Pierre Jeunet'],
          originCountries: ['France'],
          releaseYear: 2001,
          maturityRating: 'R',
          durationMinutes: 122,
          seasonCount: null,
          addedAt: '2021-09-01T00:00:00.000Z',
          cast: Array.from({ length: 10 }, (_, i) => `Actor ${i + 1}`),
          firstTwo: ['Actor 1', 'Actor 2'],
          none: [],
          artwork: { url: 'https://img.flick.example/m1/480x270.jpg', width: 480, height: 270 },
          large: { width: 1280 },
          inUS: true,
          inFR: false,
        },
      },
    });
  });

  it('answers null for an unknown title, and titles in the order asked', async () => {
    expect(await query('{ title(id: "nope") { id } }')).toEqual({ data: { title: null } });
    expect(await query('{ titles(ids: ["s1", "nope", "m1"]) { name } }')).toEqual({
      data: { titles: [{ name: 'Blood & Water' }, null, { name: 'Amélie' }] },
    });
  });

  it('pages through browse with the endCursor', async () => {
    const browse = `query($after: String) {
      browse(first: 2, after: $after) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } }
    }`;
    const first = (await query(browse)).data?.['browse'] as {
      totalCount: number;
      edges: { node: { id: string } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
    expect(first.totalCount).toBe(3);
    expect(first.edges.map((edge) => edge.node.id)).toEqual(['s1', 'm1']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await query(browse, { after: first.pageInfo.endCursor });
    expect(second.data?.['browse']).toMatchObject({
      totalCount: 3,
      edges: [{ node: { id: 'm2' } }],
      pageInfo: { hasNextPage: false },
    });
  });

  it('filters browse by genre, kind and country, and lists genres', async () => {
    const ids = async (args: string) =>
      (
        (await query(`{ browse(${args}) { edges { node { id } } } }`)).data?.['browse'] as {
          edges: { node: { id: string } }[];
        }
      ).edges.map((edge) => edge.node.id);
    expect(await ids('genre: "Dramas"')).toEqual(['m2']);
    expect(await ids('kind: SHOW')).toEqual(['s1']);
    expect(await ids('availableIn: "FR"')).toEqual([]);
    expect(await ids('availableIn: "US", kind: MOVIE')).toEqual(['m1', 'm2']);
    expect(await query('{ genres }')).toEqual({
      data: { genres: ['Comedies', 'Dramas', 'International TV Shows', 'Romantic Movies'] },
    });
  });

  it('searches names, accents and case aside', async () => {
    expect(await query('{ search(text: "AMELIE") { id } }')).toEqual({ data: { search: [{ id: 'm1' }] } });
    expect(await query('{ search(text: "jeunet") { id } }')).toEqual({ data: { search: [{ id: 'm1' }] } });
    expect(await query('{ search(text: "blood & wa", first: 1) { id } }')).toEqual({
      data: { search: [{ id: 's1' }] },
    });
  });

  it.each([
    [
      'titles',
      `{ titles(ids: [${Array.from({ length: 101 }, (_, i) => `"t${i}"`).join(',')}]) { id } }`,
      'ids',
      'at most 100 ids (got 101)',
    ],
    ['browse', '{ browse(first: 0) { totalCount } }', 'first', 'from 1 to 100 (got 0)'],
    ['browse', '{ browse(first: 101) { totalCount } }', 'first', 'from 1 to 100 (got 101)'],
    ['browse', '{ browse(availableIn: "usa") { totalCount } }', 'availableIn', 'ISO 3166-1 alpha-2'],
    ['browse', '{ browse(genre: "") { totalCount } }', 'genre', '1 to 100 characters'],
    ['browse', '{ browse(after: "not-a-cursor") { totalCount } }', 'after', 'not a browse cursor'],
    ['search', '{ search(text: "   ") { id } }', 'text', 'not be empty or only whitespace'],
    ['search', '{ search(text: "") { id } }', 'text', '1 to 200 characters long (got 0)'],
    ['search', `{ search(text: "${'a'.repeat(201)}") { id } }`, 'text', '1 to 200 characters long (got 201)'],
    ['search', '{ search(text: "a", first: 51) { id } }', 'first', 'from 1 to 50 (got 51)'],
  ])('refuses a bad argument of %s: %s', async (_field, source, argument, rule) => {
    const response = await query(source);
    expect(response.errors).toEqual([
      expect.objectContaining({
        message: expect.stringContaining(`Argument "${argument}" `) as string,
        extensions: { code: 'BAD_USER_INPUT', argument },
      }),
    ]);
    expect(response.errors?.[0]?.message).toContain(rule);
  });

  it('takes an explicit null for a defaulted argument as its default', async () => {
    expect(await query('{ browse(first: null) { edges { cursor } } }')).toMatchObject({
      data: { browse: { edges: [{}, {}, {}] } },
    });
    expect(await query('{ title(id: "m1") { cast(first: null) } }')).toMatchObject({
      data: { title: { cast: expect.any(Array) as unknown } },
    });
  });

  it('refuses bad arguments of title fields', async () => {
    const cast = await errorOf('{ title(id: "m1") { cast(first: 101) } }');
    expect(cast).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', argument: 'first' },
      path: ['title', 'cast'],
    });
    expect(cast?.message).toBe('Argument "first" must be an integer from 0 to 100 (got 101).');
    const country = await errorOf('{ title(id: "m1") { availableIn(country: "us") } }');
    expect(country).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', argument: 'country' } });
    expect(country?.message).toContain(
      'ISO 3166-1 alpha-2 country code in capitals, such as "US" (got "us")',
    );
  });

  it('refuses a cursor used with other filters', async () => {
    const page = await query('{ browse(kind: MOVIE, first: 1) { pageInfo { endCursor } } }');
    const cursor = (page.data?.['browse'] as { pageInfo: { endCursor: string } }).pageInfo.endCursor;
    const error = await errorOf(
      'query($after: String) { browse(kind: SHOW, after: $after) { totalCount } }',
      { after: cursor },
    );
    expect(error).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', argument: 'after' } });
    expect(error?.message).toContain('different filters');
  });

  it('says CATALOG_NOT_LOADED while no snapshot is loaded', async () => {
    const starting = await startApp(new FakeSnapshotRegistry());
    try {
      const response = await starting.inject({
        method: 'POST',
        url: '/graphql',
        payload: { query: '{ genres }' },
      });
      expect(response.json()).toEqual({
        data: null,
        errors: [expect.objectContaining({ extensions: { code: 'CATALOG_NOT_LOADED' }, path: ['genres'] })],
      });
    } finally {
      await starting.close();
    }
  });

  it('builds the catalogue schema', () => {
    const schema = app.get(GraphQLSchemaHost).schema;
    /** A type's fields as `name(arg: Type = default): Type`, descriptions left out. */
    const fieldsOf = (typeName: string, only?: readonly string[]): string[] => {
      const type = schema.getType(typeName) as GraphQLObjectType;
      return Object.values(type.getFields())
        .filter((field) => only === undefined || only.includes(field.name))
        .map((field) => {
          const args = field.args.map(
            (arg) =>
              `${arg.name}: ${String(arg.type)}${arg.defaultValue === undefined ? '' : ` = ${JSON.stringify(arg.defaultValue)}`}`,
          );
          return `${field.name}${args.length === 0 ? '' : `(${args.join(', ')})`}: ${String(field.type)}`;
        });
    };
    expect(fieldsOf('Query', ['browse', 'genres', 'search', 'title', 'titles'])).toEqual([
      'browse(after: String, availableIn: String, first: Int = 20, genre: String, kind: TitleKind): TitleConnection!',
      'genres: [String!]!',
      'search(first: Int = 20, text: String!): [Title!]!',
      'title(id: ID!): Title',
      'titles(ids: [ID!]!): [Title]!',
    ]);
    expect(fieldsOf('Title')).toEqual([
      'addedAt: DateTime',
      'artwork(size: ArtworkSize = "MEDIUM"): Artwork!',
      'availableIn(country: String!): Boolean!',
      'cast(first: Int = 10): [String!]!',
      'directors: [String!]!',
      'durationMinutes: Int',
      'genres: [String!]!',
      'id: ID!',
      'kind: TitleKind!',
      'maturityRating: String',
      'name: String!',
      'originCountries: [String!]!',
      'releaseYear: Int',
      'seasonCount: Int',
      'synopsis: String',
    ]);
    expect(fieldsOf('Artwork')).toEqual(['height: Int!', 'url: String!', 'width: Int!']);
    expect(fieldsOf('TitleConnection')).toEqual([
      'edges: [TitleEdge!]!',
      'pageInfo: PageInfo!',
      'totalCount: Int',
    ]);
    expect(fieldsOf('TitleEdge')).toEqual(['cursor: String!', 'node: Title!']);
    expect(fieldsOf('PageInfo')).toEqual(['endCursor: String', 'hasNextPage: Boolean!']);
    expect(printType(schema.getType('TitleKind') as GraphQLNamedType)).toBe(
      'enum TitleKind {\n  MOVIE\n  SHOW\n}',
    );
    expect(printType(schema.getType('ArtworkSize') as GraphQLNamedType)).toBe(
      'enum ArtworkSize {\n  LARGE\n  MEDIUM\n  SMALL\n}',
    );
  });
});
