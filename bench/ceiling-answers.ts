import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gunzipSync } from 'node:zlib';

import { CatalogSnapshot } from '../src/catalog/catalog-snapshot.js';
import { utcDay, type CatalogTitle } from '../src/catalog/catalog-title.js';
import { CatalogError } from '../src/catalog/catalog.errors.js';
import { CATALOG_LIMITS, countryArgument, lengthArgument } from '../src/catalog/dto/argument-rules.js';
import { catalogRecord, type CatalogRecord } from '../src/gold/contract/catalog.schema.js';
import type { DeviceClass } from '../src/gold/contract/common.schema.js';
import { popularRecord } from '../src/gold/contract/popular.schema.js';
import type { ProfileRecord } from '../src/gold/contract/profiles.schema.js';
import {
  ACCOUNTS_FILE,
  SAMPLE_GOLD_FILES,
  type SampleAccount,
} from '../src/gold/sample/sample-gold.builder.js';
import { emergencyPopular } from '../src/recommendations/emergency/emergency-titles.js';
import { buildHomePage } from '../src/recommendations/home-page.builder.js';
import { resolveRowLimits } from '../src/recommendations/row-limits.js';
import { serveContextOf } from '../src/recommendations/serve-rules.js';

/**
 * What the ceiling answers with: the benchmark's four operations built in plain code from the sample
 * gold files, with the service's own domain code (CatalogSnapshot for titles, browse and search;
 * serveContextOf and buildHomePage for home pages) and none of its framework: no GraphQL, no Nest,
 * no Redis, no Cosmos. The answers are the objects the service's resolvers return, reduced to the
 * fields of bench/queries/*.graphql in their order and serialized with JSON.stringify.
 *
 * It serves the path a healthy replica takes: gold loaded, every dependency answering, no playback
 * progress recorded (the benchmark records none), so home pages are PERSONALIZED and fresh.
 */

export const OPERATIONS = ['home', 'title', 'browse', 'search'] as const;
export type Operation = (typeof OPERATIONS)[number];

const QUERY_FILES: Record<Operation, string> = {
  home: 'tv-home.graphql',
  title: 'title.graphql',
  browse: 'browse.graphql',
  search: 'search.graphql',
};

/** Operations by the exact text of their query, as the benchmark sends it. */
export const readQueries = (directory = 'bench/queries'): Map<string, Operation> =>
  new Map(
    OPERATIONS.map((operation) => [readFileSync(join(directory, QUERY_FILES[operation]), 'utf8'), operation]),
  );

/** What a device token says about its caller (claims `profile_ids` and `country`). */
export interface Viewer {
  readonly profileIds: readonly string[];
  readonly country: string | undefined;
}

/**
 * The claims of a `Bearer` JWT, decoded and NOT verified: the ceiling trusts the benchmark's tokens,
 * which the service verified for the same requests.
 */
export const viewerOfAuthorization = (authorization: string): Viewer => {
  const payload = /^Bearer +[^.\s]+\.([^.\s]+)\.[^.\s]*\s*$/i.exec(authorization)?.[1];
  let claims: Record<string, unknown> = {};
  try {
    if (payload !== undefined)
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    claims = {};
  }
  const profileIds = claims['profile_ids'];
  const country = claims['country'];
  return {
    profileIds: Array.isArray(profileIds) ? profileIds.filter((id) => typeof id === 'string') : [],
    country: typeof country === 'string' ? country : undefined,
  };
};

const gunzipLines = (file: string): string[] =>
  gunzipSync(readFileSync(file))
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');

/** Profiles whose parsed gold is kept; the others are parsed from their line when asked for. */
const PARSED_PROFILES = 10_000;
/** The profile lines are copied into slabs of this size (a line longer than that gets its own). */
const SLAB_BYTES = 64 * 1024 * 1024;
const PROFILE_ID_PREFIX = Buffer.from('{"profileId":"');
const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The profiles gold: every profile's JSON line as bytes, packed in large slabs (100,000 profiles are
 * 1.2 GB of JSON, about three times that parsed), and the parsed records of the profiles last asked
 * for: what the service's L1 cache holds, without its five-second expiry. A profile not parsed yet
 * costs a JSON.parse, as an L2 hit costs the service a Redis read and a JSON.parse.
 */
class ProfileStore {
  private readonly lines = new Map<string, Buffer>();
  private readonly parsed = new Map<string, ProfileRecord>();
  private slab = Buffer.allocUnsafeSlow(0);
  private slabUsed = 0;

  private constructor() {}

  /** Streams the file, so that its decompressed bytes are held once, in the slabs. */
  static async load(file: string): Promise<ProfileStore> {
    const store = new ProfileStore();
    await pipeline(createReadStream(file), createGunzip({ chunkSize: 1 << 20 }), async (chunks) => {
      let rest = Buffer.alloc(0);
      for await (const chunk of chunks as AsyncIterable<Buffer>) {
        const data = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
        let start = 0;
        for (let end = data.indexOf(NEWLINE); end !== -1; end = data.indexOf(NEWLINE, start)) {
          store.add(data.subarray(start, end));
          start = end + 1;
        }
        rest = Buffer.from(data.subarray(start));
      }
      store.add(rest);
    });
    return store;
  }

  get size(): number {
    return this.lines.size;
  }

  /** The profile's gold, or null when the gold has none (a new member). */
  get(profileId: string): ProfileRecord | null {
    let profile = this.parsed.get(profileId);
    if (profile !== undefined) {
      this.parsed.delete(profileId);
      this.parsed.set(profileId, profile);
      return profile;
    }
    const line = this.lines.get(profileId);
    if (line === undefined) return null;
    profile = JSON.parse(line.toString('utf8')) as ProfileRecord;
    if (this.parsed.size >= PARSED_PROFILES) this.parsed.delete(this.parsed.keys().next().value as string);
    this.parsed.set(profileId, profile);
    return profile;
  }

  /** The first line of a profile id wins, as the publisher keeps the first record of a key. */
  private add(line: Buffer): void {
    if (line.length === 0) return;
    const profileId = ProfileStore.idOf(line);
    if (this.lines.has(profileId)) return;
    if (this.slabUsed + line.length > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, line.length));
      this.slabUsed = 0;
    }
    const copy = this.slab.subarray(this.slabUsed, this.slabUsed + line.length);
    line.copy(copy);
    this.slabUsed += line.length;
    this.lines.set(profileId, copy);
  }

  /** The sample builder writes `profileId` first; any other line is parsed to find it. */
  private static idOf(line: Buffer): string {
    if (line.subarray(0, PROFILE_ID_PREFIX.length).equals(PROFILE_ID_PREFIX)) {
      const end = line.indexOf(QUOTE, PROFILE_ID_PREFIX.length);
      if (end !== -1 && line.subarray(PROFILE_ID_PREFIX.length, end).indexOf(BACKSLASH) === -1)
        return line.toString('utf8', PROFILE_ID_PREFIX.length, end);
    }
    return (JSON.parse(line.toString('utf8')) as ProfileRecord).profileId;
  }
}

/** The sample gold the benchmark built (`bench/tmp/gold-…`), in memory. */
export class CeilingGold {
  private constructor(
    readonly catalog: CatalogSnapshot,
    private readonly profiles: ProfileStore,
    private readonly popularLists: ReadonlyMap<string, readonly string[]>,
    readonly accounts: readonly SampleAccount[],
  ) {}

  /**
   * Reads the catalogue (records checked against the gold contract, bad ones skipped, as
   * CatalogRepository does), the profiles, the popular lists and accounts.json of `directory`.
   */
  static async load(directory: string): Promise<CeilingGold> {
    const records: CatalogRecord[] = [];
    for (const line of gunzipLines(join(directory, SAMPLE_GOLD_FILES.catalog))) {
      const parsed = catalogRecord.safeParse(JSON.parse(line));
      if (parsed.success) records.push(parsed.data);
    }
    if (records.length === 0) throw new Error(`${directory} holds no catalogue`);
    const popular = new Map<string, readonly string[]>();
    for (const line of gunzipLines(join(directory, SAMPLE_GOLD_FILES.popular))) {
      const parsed = popularRecord.safeParse(JSON.parse(line));
      const key = parsed.success ? `${parsed.data.country}:${parsed.data.device}` : undefined;
      if (parsed.success && key !== undefined && !popular.has(key)) popular.set(key, parsed.data.titleIds);
    }
    const accounts = JSON.parse(readFileSync(join(directory, ACCOUNTS_FILE), 'utf8')) as SampleAccount[];
    return new CeilingGold(
      CatalogSnapshot.build('ceiling', records),
      await ProfileStore.load(join(directory, SAMPLE_GOLD_FILES.profiles)),
      popular,
      accounts,
    );
  }

  get profileCount(): number {
    return this.profiles.size;
  }

  profile(profileId: string): ProfileRecord | null {
    return this.profiles.get(profileId);
  }

  /** The popular list of a country and device class, undefined when the gold has none. */
  popular(country: string, device: DeviceClass): readonly string[] | undefined {
    return this.popularLists.get(`${country}:${device}`);
  }
}

/** Mirrors UNKNOWN_PROFILE_MATURITY of home.service.ts, which cannot be imported without Nest. */
const UNKNOWN_PROFILE_MATURITY = 2;
/** `first: 20` in browse.graphql and search.graphql; `cast(first: 10)` in title.graphql. */
const PAGE_SIZE = 20;
const CAST_FIRST = 10;

/** A request the ceiling refuses as the service would, as a GraphQL error (code and message only). */
class CeilingError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const stringVariable = (variables: Record<string, unknown>, name: string, required: boolean) => {
  const value = variables[name];
  if (value === undefined || value === null) {
    if (required)
      throw new CeilingError('BAD_USER_INPUT', `Variable "$${name}" of required type was not provided.`);
    return undefined;
  }
  if (typeof value === 'string') return value;
  throw new CeilingError('BAD_USER_INPUT', `Variable "$${name}" got invalid value ${JSON.stringify(value)}.`);
};

/** The fields of a title in home rows (tv-home.graphql). */
const homeTile = (title: CatalogTitle) => ({
  id: title.id,
  name: title.name,
  kind: title.kind,
  artwork: { url: title.artwork.LARGE.url },
  maturityRating: title.maturityRating,
  releaseYear: title.releaseYear,
  durationMinutes: title.durationMinutes,
  seasonCount: title.seasonCount,
  genres: title.genres,
});

/** The fields of a title in browse and search results (browse.graphql, search.graphql). */
const listTile = (title: CatalogTitle) => ({
  id: title.id,
  name: title.name,
  kind: title.kind,
  artwork: { url: title.artwork.MEDIUM.url },
  releaseYear: title.releaseYear,
});

/** The fields of a title's detail page (title.graphql). */
const titleDetail = (title: CatalogTitle) => ({
  id: title.id,
  name: title.name,
  kind: title.kind,
  synopsis: title.synopsis,
  artwork: { url: title.artwork.LARGE.url },
  maturityRating: title.maturityRating,
  releaseYear: title.releaseYear,
  durationMinutes: title.durationMinutes,
  seasonCount: title.seasonCount,
  genres: title.genres,
  cast: title.cast.length <= CAST_FIRST ? title.cast : title.cast.slice(0, CAST_FIRST),
  directors: title.directors,
});

/** The answers of the benchmark's operations, as the response bytes. */
export class CeilingAnswers {
  constructor(
    private readonly gold: CeilingGold,
    private readonly queries: ReadonlyMap<string, Operation>,
  ) {}

  operationOf(query: unknown): Operation | undefined {
    return typeof query === 'string' ? this.queries.get(query) : undefined;
  }

  /**
   * The response body (compact JSON, as the service's). `viewer` is asked for only by operations
   * that need the token's claims (home).
   */
  answer(operation: Operation, variables: Record<string, unknown>, viewer: () => Viewer): string {
    return this.build(operation, variables, viewer);
  }

  private build(operation: Operation, variables: Record<string, unknown>, viewer: () => Viewer): string {
    try {
      switch (operation) {
        case 'home':
          return JSON.stringify({ data: { home: this.home(variables, viewer()) } });
        case 'title':
          return JSON.stringify({ data: { title: this.title(variables) } });
        case 'browse':
          return JSON.stringify({ data: { browse: this.browse(variables) } });
        case 'search':
          return JSON.stringify({ data: { search: this.search(variables) } });
      }
    } catch (error) {
      if (!(error instanceof CeilingError || error instanceof CatalogError)) throw error;
      const code = error instanceof CeilingError ? error.code : 'BAD_USER_INPUT';
      return JSON.stringify({
        errors: [{ message: error.message, path: [operation], extensions: { code } }],
        data: null,
      });
    }
  }

  /** HomeService.home on its healthy path, then the resolver's Row fields the query asks for. */
  private home(variables: Record<string, unknown>, viewer: Viewer) {
    const profileId = stringVariable(variables, 'profileId', true) as string;
    const { country } = viewer;
    if (!viewer.profileIds.includes(profileId) || country === undefined)
      throw new CeilingError('FORBIDDEN', `Profile "${profileId}" does not belong to this account.`);
    const limits = resolveRowLimits('TV');
    const profile = this.gold.profile(profileId);
    const popular = this.gold.popular(country, 'TV');
    const context = serveContextOf({
      country,
      day: utcDay(),
      profile,
      progress: [],
      maturityLevelWhenUnknown: UNKNOWN_PROFILE_MATURITY,
    });
    const rows = buildHomePage({
      catalog: this.gold.catalog,
      context,
      profile,
      progress: [],
      popular: popular ?? emergencyPopular(country),
      limits,
    });
    const source = profile !== null ? 'PERSONALIZED' : popular !== undefined ? 'POPULAR' : 'EMERGENCY';
    const reasons = profile === null ? ['NO_PROFILE_DATA'] : [];
    return {
      profileId,
      rows: rows.map((row) => ({
        id: row.id,
        kind: row.kind,
        heading: row.heading,
        titles: row.titles.map(homeTile),
      })),
      meta: { degraded: source !== 'PERSONALIZED' || reasons.length > 0, source, reasons },
    };
  }

  private title(variables: Record<string, unknown>) {
    const title = this.gold.catalog.get(stringVariable(variables, 'id', true) as string);
    return title === null ? null : titleDetail(title);
  }

  /** CatalogResolver.browse: the arguments checked as toBrowseQuery does, then the catalogue's page. */
  private browse(variables: Record<string, unknown>) {
    const genre = stringVariable(variables, 'genre', false);
    const country = stringVariable(variables, 'country', false);
    const filter = {
      genre: genre === undefined ? undefined : lengthArgument('genre', genre, CATALOG_LIMITS.genre),
      availableIn: country === undefined ? undefined : countryArgument('availableIn', country),
    };
    const page = this.gold.catalog.browse(filter, PAGE_SIZE, undefined, utcDay());
    return {
      edges: page.edges.map((edge) => ({ node: listTile(edge.node) })),
      pageInfo: { hasNextPage: page.pageInfo.hasNextPage, endCursor: page.pageInfo.endCursor },
    };
  }

  /** CatalogResolver.search: the text checked as toSearchQuery does, then the catalogue's index. */
  private search(variables: Record<string, unknown>) {
    const text = lengthArgument(
      'text',
      stringVariable(variables, 'text', true) as string,
      CATALOG_LIMITS.searchText,
    );
    return this.gold.catalog.search(text, PAGE_SIZE).map(listTile);
  }
}
