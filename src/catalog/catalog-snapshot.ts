import { setImmediate } from 'node:timers/promises';

import type { CatalogRecord } from '../gold/contract/catalog.schema.js';
import {
  decodeBrowseCursor,
  encodeBrowseCursor,
  type BrowseFilter,
  type BrowsePosition,
} from './catalog-cursor.js';
import { toCatalogTitle, type CatalogTitle, type TitleKindName } from './catalog-title.js';
import { badArgument } from './catalog.errors.js';
import { SearchIndexBuilder, type SearchIndex, type SearchIndexStats } from './search-index.js';

export interface TitleEdge {
  readonly cursor: string;
  readonly node: CatalogTitle;
}

export interface TitlePage {
  readonly edges: readonly TitleEdge[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor: string | null };
  /** Titles matching the filters, on every page. */
  readonly totalCount: number;
}

export interface CatalogSnapshotStats {
  titles: number;
  genres: number;
  search: SearchIndexStats;
  /** Wall time of the build, including pauses when built in the background. */
  buildMs: number;
}

/** Browse order: newest `addedAt` first (titles without one last), then title id. */
const sortTimeOf = (title: CatalogTitle): number => title.addedAt?.getTime() ?? -Infinity;

const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const positionOf = (title: CatalogTitle): BrowsePosition => ({
  addedAt: title.addedAt?.getTime() ?? null,
  titleId: title.id,
});

/** Whether `title` comes strictly after `position` in browse order. */
const isAfter = (title: CatalogTitle, position: BrowsePosition): boolean => {
  const time = sortTimeOf(title);
  const positionTime = position.addedAt ?? -Infinity;
  return time !== positionTime ? time < positionTime : title.id > position.titleId;
};

/** `YYYY-MM-DD` as the number YYYYMMDD, which orders like the date. */
const dayNumber = (day: string): number =>
  Number(day.slice(0, 4)) * 10_000 + Number(day.slice(5, 7)) * 100 + Number(day.slice(8, 10));
const OPEN_END = 99_999_999;

/**
 * Browse lists hold positions in the browse order (ascending), so any list is itself in browse order
 * and a page is a binary search plus a slice.
 */
type BrowseList = Int32Array;
const EMPTY_LIST: BrowseList = new Int32Array(0);

/** The licence windows of one country, one entry per window, as browse positions and day numbers. */
interface CountryWindows {
  readonly positions: Int32Array;
  readonly from: Int32Array;
  readonly to: Int32Array;
}

const groupKey = (genre: string, kind: TitleKindName): string => `${kind}\u0000${genre}`;

const collect = <K>(map: Map<K, number[]>, key: K, position: number): void => {
  const list = map.get(key);
  if (list === undefined) map.set(key, [position]);
  else list.push(position);
};

const toBrowseLists = <K>(map: Map<K, number[]>): Map<K, BrowseList> =>
  new Map([...map].map(([key, positions]) => [key, Int32Array.from(positions)]));

/**
 * Country filters depend on the day, so they are computed on first use and kept for that day: one
 * availability mask per country (a byte per title) and the filtered lists, the lists within a budget
 * of entries (least recently used dropped first).
 */
class AvailabilityCache {
  private day = '';
  private readonly masks = new Map<string, Uint8Array>();
  private readonly lists = new Map<string, BrowseList>();
  private listEntries = 0;

  constructor(
    private readonly size: number,
    private readonly windows: ReadonlyMap<string, CountryWindows>,
    private readonly budget: number,
  ) {}

  list(key: string, country: string, day: string, base: BrowseList): BrowseList {
    if (day !== this.day) {
      this.day = day;
      this.masks.clear();
      this.lists.clear();
      this.listEntries = 0;
    }
    const cached = this.lists.get(key);
    if (cached !== undefined) {
      this.lists.delete(key);
      this.lists.set(key, cached);
      return cached;
    }
    const mask = this.mask(country, day);
    const list = base.filter((position) => mask[position] === 1);
    for (const [oldest, evicted] of this.lists) {
      if (this.listEntries + list.length <= this.budget) break;
      this.lists.delete(oldest);
      this.listEntries -= evicted.length;
    }
    if (list.length <= this.budget) {
      this.lists.set(key, list);
      this.listEntries += list.length;
    }
    return list;
  }

  /** mask[position] is 1 when the title at that browse position is licensed in `country` on `day`. */
  private mask(country: string, day: string): Uint8Array {
    let mask = this.masks.get(country);
    if (mask === undefined) {
      mask = new Uint8Array(this.size);
      const windows = this.windows.get(country);
      if (windows !== undefined) {
        const today = dayNumber(day);
        for (let i = 0; i < windows.positions.length; i++) {
          if ((windows.from[i] as number) <= today && today <= (windows.to[i] as number)) {
            mask[windows.positions[i] as number] = 1;
          }
        }
      }
      this.masks.set(country, mask);
    }
    return mask;
  }
}

/**
 * One catalogue snapshot in memory: titles by id, browse lists precomputed per genre and kind, the
 * licence windows per country, and the search index. Immutable once built except for its cache of
 * per-country lists; safe to share between concurrent requests.
 */
export class CatalogSnapshot {
  private partners: readonly string[] | undefined;

  private constructor(
    readonly snapshotId: string,
    private readonly byId: ReadonlyMap<string, CatalogTitle>,
    /** Every title in browse order. */
    private readonly ordered: readonly CatalogTitle[],
    private readonly all: BrowseList,
    private readonly byGenre: ReadonlyMap<string, BrowseList>,
    private readonly byKind: ReadonlyMap<TitleKindName, BrowseList>,
    private readonly byGenreAndKind: ReadonlyMap<string, BrowseList>,
    private readonly sortedGenres: readonly string[],
    /** Titles in id order; the search index's document ordinals point here. */
    private readonly searchable: readonly CatalogTitle[],
    private readonly index: SearchIndex,
    private readonly availability: AvailabilityCache,
    readonly stats: CatalogSnapshotStats,
  ) {}

  /** Builds the snapshot from its records in one go; a repeated title id keeps the first record. */
  static build(snapshotId: string, records: readonly CatalogRecord[]): CatalogSnapshot {
    const steps = CatalogSnapshot.assemble(snapshotId, records, Number.POSITIVE_INFINITY);
    for (;;) {
      const step = steps.next();
      if (step.done === true) return step.value;
    }
  }

  /**
   * Builds the snapshot like {@link build}, yielding to the event loop every `batchSize` titles so
   * that requests keep being served while a large catalogue is indexed.
   */
  static async buildInBackground(
    snapshotId: string,
    records: readonly CatalogRecord[],
    batchSize = 2000,
  ): Promise<CatalogSnapshot> {
    const steps = CatalogSnapshot.assemble(snapshotId, records, batchSize);
    for (;;) {
      const step = steps.next();
      if (step.done === true) return step.value;
      await setImmediate();
    }
  }

  /** The build, as steps: the generator pauses after each batch of titles and each long step. */
  private static *assemble(
    snapshotId: string,
    records: readonly CatalogRecord[],
    batchSize: number,
  ): Generator<void, CatalogSnapshot> {
    const started = performance.now();
    const byId = new Map<string, CatalogTitle>();
    for (const [i, record] of records.entries()) {
      if (!byId.has(record.titleId)) byId.set(record.titleId, toCatalogTitle(record));
      if ((i + 1) % batchSize === 0) yield;
    }

    const keyed = [...byId.values()].map((title) => ({ title, time: sortTimeOf(title) }));
    keyed.sort((a, b) =>
      a.time !== b.time ? (a.time < b.time ? 1 : -1) : compareIds(a.title.id, b.title.id),
    );
    const ordered = keyed.map(({ title }) => title);
    yield;

    const byGenre = new Map<string, number[]>();
    const byKind = new Map<TitleKindName, number[]>();
    const byGenreAndKind = new Map<string, number[]>();
    const windows = new Map<string, { positions: number[]; from: number[]; to: number[] }>();
    for (const [position, title] of ordered.entries()) {
      collect(byKind, title.kind, position);
      for (const genre of new Set(title.genres)) {
        collect(byGenre, genre, position);
        collect(byGenreAndKind, groupKey(genre, title.kind), position);
      }
      for (const window of title.availability) {
        let country = windows.get(window.country);
        if (country === undefined) {
          country = { positions: [], from: [], to: [] };
          windows.set(window.country, country);
        }
        country.positions.push(position);
        country.from.push(dayNumber(window.from));
        country.to.push(window.to === null ? OPEN_END : dayNumber(window.to));
      }
      if ((position + 1) % batchSize === 0) yield;
    }
    const sortedGenres = Object.freeze(
      [...byGenre.keys()].sort((a, b) => a.localeCompare(b, 'en') || compareIds(a, b)),
    );
    const countryWindows = new Map(
      [...windows].map(([country, { positions, from, to }]) => [
        country,
        { positions: Int32Array.from(positions), from: Int32Array.from(from), to: Int32Array.from(to) },
      ]),
    );
    yield;

    const searchable = [...byId.values()].sort((a, b) => compareIds(a.id, b.id));
    const indexBuilder = new SearchIndexBuilder();
    for (const title of searchable) {
      indexBuilder.add(title);
      if (indexBuilder.size % batchSize === 0) yield;
    }
    const index = indexBuilder.finish();
    const stats: CatalogSnapshotStats = {
      titles: ordered.length,
      genres: sortedGenres.length,
      search: index.stats,
      buildMs: Math.round(performance.now() - started),
    };
    return new CatalogSnapshot(
      snapshotId,
      byId,
      ordered,
      Int32Array.from(ordered.keys()),
      toBrowseLists(byGenre),
      toBrowseLists(byKind),
      toBrowseLists(byGenreAndKind),
      sortedGenres,
      searchable,
      index,
      new AvailabilityCache(ordered.length, countryWindows, Math.max(1_000_000, 10 * ordered.length)),
      stats,
    );
  }

  /** Every partner that owns a title of this snapshot, sorted (computed once). */
  partnerIds(): readonly string[] {
    this.partners ??= [
      ...new Set(
        [...this.byId.values()].flatMap((title) => (title.partnerId === null ? [] : [title.partnerId])),
      ),
    ].sort();
    return this.partners;
  }

  get size(): number {
    return this.ordered.length;
  }

  get(id: string): CatalogTitle | null {
    return this.byId.get(id) ?? null;
  }

  /** The titles of `ids` in the same order, null where an id is unknown. */
  getMany(ids: readonly string[]): (CatalogTitle | null)[] {
    return ids.map((id) => this.byId.get(id) ?? null);
  }

  /** Every genre of the catalogue, distinct, sorted alphabetically. */
  genres(): readonly string[] {
    return this.sortedGenres;
  }

  /**
   * One page of the titles matching `filter`, in browse order, starting after the `after` cursor.
   * Unknown genres match nothing. `availableIn` keeps titles licensed in that country on `today`
   * (`YYYY-MM-DD`). Throws an INVALID_CURSOR CatalogError for a bad or foreign cursor.
   */
  browse(filter: BrowseFilter, first: number, after: string | null | undefined, today: string): TitlePage {
    const position = after === null || after === undefined ? undefined : decodeBrowseCursor(after, filter);
    const list = this.listFor(filter, today);
    const start = position === undefined ? 0 : this.firstAfter(list, position);
    const end = Math.min(list.length, start + Math.max(0, first));
    const edges: TitleEdge[] = [];
    for (let i = start; i < end; i++) {
      const node = this.ordered[list[i] as number] as CatalogTitle;
      edges.push({ cursor: encodeBrowseCursor(positionOf(node), filter), node });
    }
    return {
      edges,
      pageInfo: { hasNextPage: end < list.length, endCursor: edges.at(-1)?.cursor ?? null },
      totalCount: list.length,
    };
  }

  /**
   * The best `first` titles for `text` (see search-index.ts for matching and ranking). Empty or
   * whitespace-only text is a BAD_ARGUMENT; text with no letter or digit matches nothing.
   */
  search(text: string, first: number): CatalogTitle[] {
    if (text.trim() === '') throw badArgument('text', 'must not be empty or only whitespace');
    return this.index.search(text, first).map((ordinal) => this.searchable[ordinal] as CatalogTitle);
  }

  private listFor(filter: BrowseFilter, today: string): BrowseList {
    const { genre, kind, availableIn } = filter;
    const base =
      (genre !== undefined && kind !== undefined
        ? this.byGenreAndKind.get(groupKey(genre, kind))
        : genre !== undefined
          ? this.byGenre.get(genre)
          : kind !== undefined
            ? this.byKind.get(kind)
            : this.all) ?? EMPTY_LIST;
    if (availableIn === undefined || base.length === 0) return base;
    return this.availability.list(JSON.stringify([availableIn, genre, kind]), availableIn, today, base);
  }

  /** Index in `list` of the first title that comes after `position` in browse order. */
  private firstAfter(list: BrowseList, position: BrowsePosition): number {
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (isAfter(this.ordered[list[mid] as number] as CatalogTitle, position)) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}
