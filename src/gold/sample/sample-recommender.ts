import type { RecommendationReason } from '../contract/profiles.schema.js';
import type { CatalogIndex } from './catalog-index.js';

export interface Recommendation {
  titleId: string;
  score: number;
  reason: RecommendationReason;
}

export interface RecommendInput {
  /** Watched title indexes, most recent first. */
  watched: readonly number[];
  maturityLevel: number;
  countryIndex: number;
  limit?: number;
}

export const RECOMMENDATION_LIMIT = 100;

/** Score weights of the evidence kinds. */
const DIRECTOR_WEIGHT = 3;
const CAST_WEIGHT = 1.6;
const SAME_GENRES_WEIGHT = 1.3;
const GENRE_WEIGHT = 1;
const POPULAR_WEIGHT = 0.05;
/** How many of the most recent watched titles seed "because you watched" and per source how many titles. */
const BECAUSE_SOURCES = 10;
const BECAUSE_PER_SOURCE = 12;
const TASTE_GENRES_USED = 3;
const GENRE_PER_TASTE = 30;
export const TASTE_GENRES_KEPT = 5;

const KIND_CAST = 1;
const KIND_DIRECTOR = 2;
const KIND_BECAUSE = 3;
const KIND_GENRE = 4;

const round4 = (value: number): number => Math.round(value * 10_000) / 10_000;

/** Top genres of a watch history by count, ties by name; each with its share of all genre tags. */
export const tasteGenresOf = (
  index: CatalogIndex,
  watched: readonly number[],
  limit = TASTE_GENRES_KEPT,
): { genre: number; share: number }[] => {
  const counts = new Map<number, number>();
  let total = 0;
  for (const title of watched) {
    for (const genre of index.titleGenres[title]!) {
      counts.set(genre, (counts.get(genre) ?? 0) + 1);
      total++;
    }
  }
  return [...counts]
    .sort(
      (a, b) => b[1] - a[1] || compare(index.genreNames[a[0]] as string, index.genreNames[b[0]] as string),
    )
    .slice(0, limit)
    .map(([genre, count]) => ({ genre, share: count / total }));
};

/**
 * Content-based recommendations from a watch history: titles sharing directors or cast with watched
 * titles, titles with the same genre set as recent watches ("because you watched"), the top titles
 * of the profile's strongest genres, and popular titles as filler. Never a watched title, never above
 * the maturity level, only titles available in the country on the index's as-of day. Ranked by score
 * (4 decimals) descending, ties by titleId; each title's reason is its strongest single piece of evidence.
 *
 * Not re-entrant: uses scratch arrays owned by the recommender.
 */
export class Recommender {
  private epoch = 0;
  private readonly stamp: Int32Array;
  private readonly watchedStamp: Int32Array;
  private readonly score: Float64Array;
  private readonly best: Float64Array;
  private readonly reasonKind: Uint8Array;
  private readonly reasonSource: Int32Array;
  private readonly reasonDetail: Int32Array;
  private readonly touched: number[] = [];
  private readonly keys: Float64Array;
  /** A power of two above the catalogue size, for packing (score, titleId rank) into one number. */
  private readonly radix: number;

  constructor(private readonly index: CatalogIndex) {
    const size = index.size;
    this.stamp = new Int32Array(size);
    this.watchedStamp = new Int32Array(size);
    this.score = new Float64Array(size);
    this.best = new Float64Array(size);
    this.reasonKind = new Uint8Array(size);
    this.reasonSource = new Int32Array(size);
    this.reasonDetail = new Int32Array(size);
    this.keys = new Float64Array(size);
    this.radix = 2 ** Math.ceil(Math.log2(size + 1));
  }

  recommend(input: RecommendInput): Recommendation[] {
    const { index, stamp, watchedStamp, score, best, reasonKind, reasonSource, reasonDetail, touched } = this;
    const limit = input.limit ?? RECOMMENDATION_LIMIT;
    const epoch = ++this.epoch;
    const levelIfAvailable = index.levelIfAvailableNow[input.countryIndex];
    if (levelIfAvailable === undefined) throw new Error(`unknown country index ${input.countryIndex}`);
    const { popularityFactor } = index;
    const maxLevel = input.maturityLevel;
    const watched = input.watched;
    for (let i = 0; i < watched.length; i++) watchedStamp[watched[i] as number] = epoch;
    touched.length = 0;

    const allowed = (title: number): boolean =>
      (levelIfAvailable[title] as number) <= maxLevel && watchedStamp[title] !== epoch;
    const add = (title: number, amount: number, kind: number, source: number, detail: number): void => {
      if (stamp[title] !== epoch) {
        stamp[title] = epoch;
        score[title] = amount;
        best[title] = amount;
        reasonKind[title] = kind;
        reasonSource[title] = source;
        reasonDetail[title] = detail;
        touched.push(title);
        return;
      }
      score[title] = (score[title] as number) + amount;
      if (amount > (best[title] as number)) {
        best[title] = amount;
        reasonKind[title] = kind;
        reasonSource[title] = source;
        reasonDetail[title] = detail;
      }
    };

    for (let position = 0; position < watched.length; position++) {
      const source = watched[position] as number;
      const recency = 1 / (1 + position / 20);
      const directors = index.titleDirectors[source]!;
      for (let d = 0; d < directors.length; d++) {
        const person = directors[d] as number;
        const titles = index.directedTitles[person]!;
        for (let i = 0; i < titles.length; i++) {
          const title = titles[i] as number;
          if (allowed(title)) {
            add(
              title,
              DIRECTOR_WEIGHT * recency * (popularityFactor[title] as number),
              KIND_DIRECTOR,
              source,
              person,
            );
          }
        }
      }
      const cast = index.titleCast[source]!;
      for (let billing = 0; billing < cast.length; billing++) {
        const person = cast[billing] as number;
        const weight = CAST_WEIGHT * (1 - billing * 0.06) * recency;
        const titles = index.castTitles[person]!;
        for (let i = 0; i < titles.length; i++) {
          const title = titles[i] as number;
          if (allowed(title))
            add(title, weight * (popularityFactor[title] as number), KIND_CAST, source, person);
        }
      }
      if (position < BECAUSE_SOURCES) {
        const titles = index.sameGenresTitles[source]!;
        for (let i = 0, taken = 0; i < titles.length && taken < BECAUSE_PER_SOURCE; i++) {
          const title = titles[i] as number;
          if (!allowed(title)) continue;
          add(
            title,
            SAME_GENRES_WEIGHT * recency * (popularityFactor[title] as number),
            KIND_BECAUSE,
            source,
            -1,
          );
          taken++;
        }
      }
    }

    for (const { genre, share } of tasteGenresOf(index, watched, TASTE_GENRES_USED)) {
      const titles = index.genreTitles[genre]!;
      for (let i = 0, taken = 0; i < titles.length && taken < GENRE_PER_TASTE; i++) {
        const title = titles[i] as number;
        if (!allowed(title)) continue;
        add(title, GENRE_WEIGHT * (0.4 + share) * (popularityFactor[title] as number), KIND_GENRE, -1, genre);
        taken++;
      }
    }

    // Rank by (score rounded to 4 decimals desc, titleId asc) with one numeric key per candidate:
    // key = score × 10⁴ × radix + (radix − 1 − rank of the titleId), sorted natively.
    const { idRank, titleByIdRank } = index;
    const radix = this.radix;
    const keys = this.keys.subarray(0, touched.length);
    for (let i = 0; i < touched.length; i++) {
      const title = touched[i] as number;
      keys[i] =
        Math.round((score[title] as number) * 10_000) * radix + (radix - 1 - (idRank[title] as number));
    }
    keys.sort();
    const result: Recommendation[] = [];
    for (let i = keys.length - 1; i >= 0 && result.length < limit; i--) {
      const key = keys[i] as number;
      const title = titleByIdRank[radix - 1 - (key % radix)] as number;
      result.push({
        titleId: index.titleIds[title] as string,
        score: Math.floor(key / radix) / 10_000,
        reason: this.reasonOf(title),
      });
    }

    if (result.length < limit) {
      let floor = result.length === 0 ? Infinity : (result[result.length - 1] as Recommendation).score;
      for (const title of index.byPopularity) {
        if (result.length >= limit) break;
        if (stamp[title] === epoch || !allowed(title)) continue;
        floor = Math.min(floor, round4(POPULAR_WEIGHT * (popularityFactor[title] as number)));
        result.push({
          titleId: index.titleIds[title] as string,
          score: floor,
          reason: { kind: 'POPULAR', sourceTitleId: null, detail: null },
        });
      }
    }
    return result;
  }

  private reasonOf(title: number): RecommendationReason {
    const { index } = this;
    const source = this.reasonSource[title] as number;
    const detail = this.reasonDetail[title] as number;
    switch (this.reasonKind[title] as number) {
      case KIND_DIRECTOR:
        return {
          kind: 'DIRECTOR',
          sourceTitleId: index.titleIds[source]!,
          detail: index.personNames[detail]!,
        };
      case KIND_CAST:
        return { kind: 'CAST', sourceTitleId: index.titleIds[source]!, detail: index.personNames[detail]! };
      case KIND_BECAUSE:
        return { kind: 'BECAUSE_YOU_WATCHED', sourceTitleId: index.titleIds[source]!, detail: null };
      default:
        return { kind: 'GENRE', sourceTitleId: null, detail: index.genreNames[detail]! };
    }
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
