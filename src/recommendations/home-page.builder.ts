import type { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import type { CatalogTitle } from '../catalog/catalog-title.js';
import type { ProfileRecord } from '../gold/contract/profiles.schema.js';
import type { RowLimits } from './row-limits.js';
import {
  mergeProgress,
  PageFilter,
  type MergedProgress,
  type PlaybackProgress,
  type ServeContext,
} from './serve-rules.js';

/** Row kinds in the order a home page shows them. */
export const rowKinds = [
  'CONTINUE_WATCHING',
  'TOP_PICKS',
  'BECAUSE_YOU_WATCHED',
  'TRENDING',
  'NEW_RELEASES',
  'GENRE',
] as const;
export type RowKind = (typeof rowKinds)[number];

/** Rows that come from the profile's own data; a page without a profile has none of them. */
export const personalRowKinds: ReadonlySet<RowKind> = new Set([
  'CONTINUE_WATCHING',
  'TOP_PICKS',
  'BECAUSE_YOU_WATCHED',
]);

export interface HomeRow {
  /** Stable and unique on the page: `continue-watching`, `because:s123`, `genre:Dramas`, … */
  readonly id: string;
  readonly kind: RowKind;
  readonly heading: string;
  /** The watched title a BECAUSE_YOU_WATCHED row is about; null for other rows. */
  readonly because: CatalogTitle | null;
  /** Never empty. */
  readonly titles: CatalogTitle[];
  /** CONTINUE_WATCHING only: the progress of each title, in the order of `titles`. */
  readonly progress?: PlaybackProgress[];
}

export interface HomePageInput {
  readonly catalog: CatalogSnapshot;
  /** The viewer's serve context (see `serveContextOf`), including everything the profile watched. */
  readonly context: ServeContext;
  /** The profile's gold document; null for a new member, no personal data or a degraded read. */
  readonly profile: ProfileRecord | null;
  /** Live playback progress (may be empty); merged with the gold continue-watching entries. */
  readonly progress: readonly PlaybackProgress[];
  /** Popular title ids for the viewer's country and device, best first (may be empty). */
  readonly popular: readonly string[];
  readonly limits: RowLimits;
}

export const MAX_BECAUSE_YOU_WATCHED_ROWS = 3;
/** Genre rows of a page without taste genres: the genres of the top popular titles. */
const POPULAR_GENRE_ROWS = 3;
const POPULAR_GENRE_SAMPLE = 30;

/**
 * The rows of one home page, in the order of {@link rowKinds}: continue watching, top picks, up to
 * three "because you watched" rows, trending, new on Flick, then genre rows (the profile's taste
 * genres, else the genres of the popular titles). Every row goes through one {@link PageFilter}, so
 * the serve-time rules hold on the whole page and no title appears twice (earlier rows win). Empty
 * rows are left out; at most `limits.rows` rows of at most `limits.titlesPerRow` titles. Without a
 * profile the page has only the rows that need no personal data.
 *
 * Rows are built only until the page is full, and the catalogue-wide rows read a memoised prefix of
 * the catalogue's browse order (see {@link ShelfMemo}), so a page costs no scan of the catalogue.
 */
export const buildHomePage = (input: HomePageInput): HomeRow[] => {
  const { rows, titlesPerRow } = input.limits;
  const page: HomeRow[] = [];
  if (!(rows >= 1) || !(titlesPerRow >= 1)) return page;
  for (const row of candidateRows(input, titlesPerRow)) {
    if (row.titles.length === 0) continue;
    page.push(row);
    if (page.length >= rows) break;
  }
  return page;
};

const NO_PROGRESS: MergedProgress = { inProgress: [], completed: new Set() };

function* candidateRows(input: HomePageInput, limit: number): Generator<HomeRow, void, undefined> {
  const { catalog, profile } = input;
  const progress = profile === null ? NO_PROGRESS : mergeProgress(profile.continueWatching, input.progress);
  // The stricter of the two levels, should a caller pass a context built for someone else.
  const context =
    profile !== null && profile.maturityLevel < input.context.maturityLevel
      ? { ...input.context, maturityLevel: profile.maturityLevel }
      : input.context;
  const filter = new PageFilter(catalog, context, progress.completed);

  if (profile !== null) {
    yield continueWatchingRow(filter, progress.inProgress, limit);

    const ranked = profile.recommendations.map((recommendation) => recommendation.titleId);
    yield {
      id: 'top-picks',
      kind: 'TOP_PICKS',
      heading: 'Top picks for you',
      because: null,
      titles: filter.takeIds(ranked, limit),
    };

    let becauseRows = 0;
    for (const [sourceTitleId, titleIds] of becauseGroups(profile)) {
      if (becauseRows === MAX_BECAUSE_YOU_WATCHED_ROWS) break;
      const source = catalog.get(sourceTitleId);
      if (source === null || source.maturityLevel > context.maturityLevel) continue;
      const titles = filter.takeIds(titleIds, limit);
      if (titles.length === 0) continue;
      becauseRows++;
      yield {
        id: `because:${sourceTitleId}`,
        kind: 'BECAUSE_YOU_WATCHED',
        heading: `Because you watched ${source.name}`,
        because: source,
        titles,
      };
    }
  }

  yield {
    id: 'trending',
    kind: 'TRENDING',
    heading: 'Trending now',
    because: null,
    titles: filter.takeIds(input.popular, limit),
  };

  const shelves = shelvesOf(catalog);
  yield {
    id: 'new-releases',
    kind: 'NEW_RELEASES',
    heading: 'New on Flick',
    because: null,
    titles: shelves.fill(filter, context, undefined, limit),
  };

  const genres =
    profile !== null && profile.tasteGenres.length > 0
      ? new Set(profile.tasteGenres)
      : popularGenres(catalog, input.popular);
  for (const genre of genres) {
    if (!shelves.hasGenre(genre)) continue;
    yield {
      id: `genre:${genre}`,
      kind: 'GENRE',
      heading: genre,
      because: null,
      titles: shelves.fill(filter, context, genre, limit),
    };
  }
}

const continueWatchingRow = (
  filter: PageFilter,
  inProgress: readonly PlaybackProgress[],
  limit: number,
): HomeRow => {
  const titles: CatalogTitle[] = [];
  const progress: PlaybackProgress[] = [];
  for (const entry of inProgress) {
    if (titles.length === limit) break;
    const title = filter.takeId(entry.titleId);
    if (title === null) continue;
    titles.push(title);
    progress.push(entry);
  }
  return {
    id: 'continue-watching',
    kind: 'CONTINUE_WATCHING',
    heading: 'Continue watching',
    because: null,
    titles,
    progress,
  };
};

/**
 * The recommendations explained by a watched title (BECAUSE_YOU_WATCHED, CAST, DIRECTOR), grouped by
 * that title in order of first appearance, each group in ranked order.
 */
const becauseGroups = (profile: ProfileRecord): Map<string, string[]> => {
  const groups = new Map<string, string[]>();
  for (const { titleId, reason } of profile.recommendations) {
    if (reason.sourceTitleId === null) continue;
    if (reason.kind !== 'BECAUSE_YOU_WATCHED' && reason.kind !== 'CAST' && reason.kind !== 'DIRECTOR')
      continue;
    const group = groups.get(reason.sourceTitleId);
    if (group === undefined) groups.set(reason.sourceTitleId, [titleId]);
    else group.push(titleId);
  }
  return groups;
};

/** The genres of the top popular titles, weighted by rank, strongest first. */
const popularGenres = (catalog: CatalogSnapshot, popular: readonly string[]): string[] => {
  const weights = new Map<string, number>();
  const sample = Math.min(popular.length, POPULAR_GENRE_SAMPLE);
  for (let rank = 0; rank < sample; rank++) {
    const title = catalog.get(popular[rank] as string);
    if (title === null) continue;
    for (const genre of title.genres) weights.set(genre, (weights.get(genre) ?? 0) + sample - rank);
  }
  return [...weights]
    .sort(([genreA, a], [genreB, b]) => b - a || (genreA < genreB ? -1 : genreA > genreB ? 1 : 0))
    .slice(0, POPULAR_GENRE_ROWS)
    .map(([genre]) => genre);
};

/** Titles a shelf reads ahead of what pages have needed so far (at least). */
const SHELF_PAGE = 64;
/** A shelf stops growing here: a row needing more titles than that comes out shorter. */
const SHELF_MAX_TITLES = 2048;
/** Days whose shelves are kept (today and, around midnight, yesterday). */
const SHELF_DAYS = 2;

/**
 * The start of one browse list (a country, optionally a genre, on a day) restricted to one maturity
 * level, read only as far as pages have needed.
 */
interface Shelf {
  readonly titles: CatalogTitle[];
  /** Where reading the browse list resumes. */
  endCursor: string | null;
  complete: boolean;
}

/**
 * The newest titles per country, genre and maturity level of one catalogue snapshot, shared by every
 * page built on it. The catalogue keeps its browse lists in order, but each browse edge carries a
 * checksummed cursor (microseconds each) and a kids profile would skip most titles of a list; read
 * once and kept per level, a row is a walk over a few dozen references. Bounded: two days,
 * {@link SHELF_MAX_TITLES} titles per shelf, shelves only for the catalogue's own genres and for the
 * countries and levels pages are built for.
 */
class ShelfMemo {
  private readonly days = new Map<string, Map<string, Shelf>>();
  private readonly genres: ReadonlySet<string>;

  constructor(private readonly catalog: CatalogSnapshot) {
    this.genres = new Set(catalog.genres());
  }

  hasGenre(genre: string): boolean {
    return this.genres.has(genre);
  }

  /** The first `limit` titles of the list, in browse order (newest first), that the page takes. */
  fill(filter: PageFilter, context: ServeContext, genre: string | undefined, limit: number): CatalogTitle[] {
    const shelf = this.shelf(context, genre);
    const taken: CatalogTitle[] = [];
    let next = 0;
    for (;;) {
      const { titles } = shelf;
      for (; next < titles.length && taken.length < limit; next++) {
        const title = titles[next] as CatalogTitle;
        if (filter.take(title)) taken.push(title);
      }
      if (taken.length === limit || shelf.complete) return taken;
      this.extend(shelf, context, genre);
    }
  }

  private shelf({ country, day, maturityLevel }: ServeContext, genre: string | undefined): Shelf {
    let shelves = this.days.get(day);
    if (shelves === undefined) {
      if (this.days.size === SHELF_DAYS) this.days.delete(this.days.keys().next().value as string);
      shelves = new Map();
      this.days.set(day, shelves);
    }
    const key = `${country}\u0000${maturityLevel}\u0000${genre ?? ''}`;
    let shelf = shelves.get(key);
    if (shelf === undefined) {
      shelf = { titles: [], endCursor: null, complete: false };
      shelves.set(key, shelf);
    }
    return shelf;
  }

  /** Reads on until the shelf has doubled (at least {@link SHELF_PAGE} more titles) or the list ends. */
  private extend(
    shelf: Shelf,
    { country, day, maturityLevel }: ServeContext,
    genre: string | undefined,
  ): void {
    const target = Math.min(
      SHELF_MAX_TITLES,
      shelf.titles.length + Math.max(SHELF_PAGE, shelf.titles.length),
    );
    while (!shelf.complete && shelf.titles.length < target) {
      const first = Math.max(SHELF_PAGE, target - shelf.titles.length);
      const page = this.catalog.browse({ availableIn: country, genre }, first, shelf.endCursor, day);
      for (const { node } of page.edges) if (node.maturityLevel <= maturityLevel) shelf.titles.push(node);
      shelf.endCursor = page.pageInfo.endCursor ?? shelf.endCursor;
      shelf.complete = !page.pageInfo.hasNextPage;
    }
    if (shelf.titles.length >= SHELF_MAX_TITLES) shelf.complete = true;
  }
}

const memos = new WeakMap<CatalogSnapshot, ShelfMemo>();

const shelvesOf = (catalog: CatalogSnapshot): ShelfMemo => {
  let memo = memos.get(catalog);
  if (memo === undefined) {
    memo = new ShelfMemo(catalog);
    memos.set(catalog, memo);
  }
  return memo;
};
