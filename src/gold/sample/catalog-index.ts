import type { AvailabilityWindow } from '../contract/catalog.schema.js';
import { parseIsoDate } from './sample-dates.js';

/** What the profile generator and recommender need to know about a title. */
export interface IndexableTitle {
  titleId: string;
  kind: 'MOVIE' | 'SHOW';
  genres: readonly string[];
  cast: readonly string[];
  directors: readonly string[];
  maturityLevel: number;
  durationMinutes: number | null;
  availability: readonly AvailabilityWindow[];
}

/** Only the first billed cast members count as a reason to recommend. */
export const CAST_CONSIDERED = 8;

/** Weighted sampling over a fixed set of titles (cumulative weights + binary search). */
export class WeightedSampler {
  readonly size: number;
  private readonly cumulative: Float64Array;

  constructor(
    readonly titles: Int32Array,
    weights: Float64Array,
  ) {
    this.size = titles.length;
    this.cumulative = new Float64Array(titles.length);
    let total = 0;
    for (let i = 0; i < titles.length; i++) {
      total += weights[titles[i] as number] as number;
      this.cumulative[i] = total;
    }
  }

  get total(): number {
    return this.size === 0 ? 0 : (this.cumulative[this.size - 1] as number);
  }

  /** The title at uniform position `unit` ∈ [0, 1) of the cumulative weight; -1 when empty. */
  draw(unit: number): number {
    if (this.size === 0) return -1;
    const target = unit * this.total;
    let low = 0;
    let high = this.size - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.cumulative[mid] as number) <= target) low = mid + 1;
      else high = mid;
    }
    return this.titles[low] as number;
  }
}

const MAX_LEVEL = 4;
/** Genres of children's content (besides everything rated for little kids). */
export const KIDS_GENRES = ["Kids' TV", 'Children & Family Movies'];

/**
 * Read-only, array-based indexes over the catalogue so that generating and recommending for 100k
 * profiles stays fast: genre → titles, person → titles, genre set → titles (all by popularity),
 * availability bitmaps per country, and weighted samplers per maturity level.
 */
export class CatalogIndex {
  readonly size: number;
  readonly titleIds: readonly string[];
  readonly kind: Uint8Array; // 0 movie, 1 show
  readonly level: Uint8Array;
  readonly durationMinutes: Int32Array; // 0 for shows
  readonly popularity: Float64Array;
  /** 0.5 … 1: a gentle boost for popular titles inside recommendation scores. */
  readonly popularityFactor: Float64Array;
  /** Title indexes, most popular first (ties by titleId). */
  readonly byPopularity: Int32Array;
  /** Rank of each title's id in string order, and its inverse (for ties broken by titleId). */
  readonly idRank: Int32Array;
  readonly titleByIdRank: Int32Array;
  readonly countryIndex: ReadonlyMap<string, number>;
  /** Per country: 1 when the title is available on the as-of day. */
  readonly availableNow: readonly Uint8Array[];
  /** Per country: the title's maturity level when available on the as-of day, else 255 (one lookup for both rules). */
  readonly levelIfAvailableNow: readonly Uint8Array[];
  /** Per country: 1 when some window of the title started on or before the as-of day. */
  readonly availableEver: readonly Uint8Array[];
  readonly genreNames: readonly string[];
  readonly titleGenres: readonly Int32Array[];
  readonly genreTitles: readonly Int32Array[];
  readonly personNames: readonly string[];
  readonly titleDirectors: readonly Int32Array[];
  /** The first CAST_CONSIDERED cast members. */
  readonly titleCast: readonly Int32Array[];
  /** Per person: titles they directed, by popularity. */
  readonly directedTitles: readonly Int32Array[];
  /** Per person: titles they are among the first CAST_CONSIDERED cast members of, by popularity. */
  readonly castTitles: readonly Int32Array[];
  /** Titles with exactly the same genre set, by popularity. */
  readonly sameGenresTitles: readonly Int32Array[];
  /**
   * Samplers over titles with maturity ≤ level (index = level, 1…4), weighted by popularity and by
   * fit: children's content counts less for teen/adult profiles, other content less for kids.
   */
  readonly levelSampler: readonly WeightedSampler[];
  /** [level][genre]: sampler over that genre's titles with maturity ≤ level. */
  readonly genreSampler: readonly (readonly WeightedSampler[])[];
  private readonly windows: readonly (readonly { country: number; from: number; to: number }[])[];

  constructor(
    titles: readonly IndexableTitle[],
    popularity: Float64Array,
    readonly countries: readonly string[],
    readonly asOfDay: number,
  ) {
    if (popularity.length !== titles.length) throw new Error('one popularity weight per title is needed');
    const size = titles.length;
    this.size = size;
    this.titleIds = titles.map((title) => title.titleId);
    this.kind = Uint8Array.from(titles, (title) => (title.kind === 'SHOW' ? 1 : 0));
    this.level = Uint8Array.from(titles, (title) => Math.min(MAX_LEVEL, Math.max(1, title.maturityLevel)));
    this.durationMinutes = Int32Array.from(titles, (title) => title.durationMinutes ?? 0);
    this.popularity = popularity;

    const order = Array.from({ length: size }, (_, i) => i);
    order.sort(
      (a, b) =>
        (popularity[b] as number) - (popularity[a] as number) ||
        compare(this.titleIds[a] as string, this.titleIds[b] as string),
    );
    this.byPopularity = Int32Array.from(order);
    const rankOf = new Int32Array(size);
    order.forEach((titleIndex, rank) => (rankOf[titleIndex] = rank));
    const byRank = (a: number, b: number): number => (rankOf[a] as number) - (rankOf[b] as number);
    const top = size === 0 ? 1 : (popularity[order[0] as number] as number);
    this.popularityFactor = Float64Array.from(
      popularity,
      (weight) => 0.5 + 0.5 * Math.pow(weight / top, 0.3),
    );

    const byId = Array.from({ length: size }, (_, i) => i).sort((a, b) =>
      compare(this.titleIds[a] as string, this.titleIds[b] as string),
    );
    this.titleByIdRank = Int32Array.from(byId);
    this.idRank = new Int32Array(size);
    byId.forEach((titleIndex, rank) => (this.idRank[titleIndex] = rank));

    this.countryIndex = new Map(countries.map((country, i) => [country, i]));
    this.windows = titles.map((title) =>
      title.availability.flatMap((window) => {
        const country = this.countryIndex.get(window.country);
        const from = parseIsoDate(window.from);
        const to = window.to === null ? Infinity : parseIsoDate(window.to);
        return country === undefined || from === null || to === null ? [] : [{ country, from, to }];
      }),
    );
    this.availableNow = countries.map(() => new Uint8Array(size));
    this.availableEver = countries.map(() => new Uint8Array(size));
    this.windows.forEach((windows, titleIndex) => {
      for (const window of windows) {
        if (window.from <= asOfDay) {
          this.availableEver[window.country]![titleIndex] = 1;
          if (asOfDay <= window.to) this.availableNow[window.country]![titleIndex] = 1;
        }
      }
    });

    this.levelIfAvailableNow = this.availableNow.map((available) =>
      Uint8Array.from(available, (flag, t) => (flag === 1 ? (this.level[t] as number) : 255)),
    );

    const genreIds = new Map<string, number>();
    const personIds = new Map<string, number>();
    const intern = (ids: Map<string, number>, name: string): number => {
      let id = ids.get(name);
      if (id === undefined) {
        id = ids.size;
        ids.set(name, id);
      }
      return id;
    };
    this.titleGenres = titles.map((title) =>
      Int32Array.from(title.genres, (genre) => intern(genreIds, genre)),
    );
    this.titleDirectors = titles.map((title) =>
      Int32Array.from(title.directors, (person) => intern(personIds, person)),
    );
    this.titleCast = titles.map((title) =>
      Int32Array.from(title.cast.slice(0, CAST_CONSIDERED), (person) => intern(personIds, person)),
    );
    this.genreNames = [...genreIds.keys()];
    this.personNames = [...personIds.keys()];

    const group = (count: number, keysOf: (titleIndex: number) => Iterable<number>): Int32Array[] => {
      const lists: number[][] = Array.from({ length: count }, () => []);
      for (const titleIndex of order)
        for (const key of new Set(keysOf(titleIndex))) lists[key]!.push(titleIndex);
      return lists.map((list) => Int32Array.from(list));
    };
    this.genreTitles = group(this.genreNames.length, (t) => this.titleGenres[t]!);
    this.directedTitles = group(this.personNames.length, (t) => this.titleDirectors[t]!);
    this.castTitles = group(this.personNames.length, (t) => this.titleCast[t]!);

    const sameGenres = new Map<string, number[]>();
    const genreKey = (t: number): string => [...this.titleGenres[t]!].sort((a, b) => a - b).join(',');
    for (const titleIndex of order) {
      const key = genreKey(titleIndex);
      const list = sameGenres.get(key);
      if (list) list.push(titleIndex);
      else sameGenres.set(key, [titleIndex]);
    }
    const sameGenreLists = new Map([...sameGenres].map(([key, list]) => [key, Int32Array.from(list)]));
    this.sameGenresTitles = titles.map((_, t) => sameGenreLists.get(genreKey(t))!);

    // Children's content is mostly watched by children: teen and adult profiles rarely pick it, kids
    // profiles prefer it over merely "allowed" titles.
    const kidsGenreIds = new Set(
      KIDS_GENRES.map((name) => genreIds.get(name)).filter((id) => id !== undefined),
    );
    const kidsContent = Uint8Array.from(titles, (_, t) =>
      this.level[t] === 1 || this.titleGenres[t]!.some((genre) => kidsGenreIds.has(genre)) ? 1 : 0,
    );
    const levelSampler: WeightedSampler[] = [];
    const genreSampler: WeightedSampler[][] = [];
    for (let level = 0; level <= MAX_LEVEL; level++) {
      const allowed = (list: Int32Array): Int32Array =>
        Int32Array.from(list.filter((t) => (this.level[t] as number) <= level).sort(byRank));
      const fit = level <= 2 ? [0.5, 1] : [1, 0.15];
      const weights = Float64Array.from(
        popularity,
        (weight, t) => weight * (fit[kidsContent[t] as number] as number),
      );
      levelSampler.push(new WeightedSampler(allowed(this.byPopularity), weights));
      genreSampler.push(this.genreTitles.map((list) => new WeightedSampler(allowed(list), weights)));
    }
    this.levelSampler = levelSampler;
    this.genreSampler = genreSampler;
  }

  /** Whether the title has a licence window in the country covering the day. */
  availableOn(titleIndex: number, countryIndex: number, day: number): boolean {
    for (const window of this.windows[titleIndex]!) {
      if (window.country === countryIndex && window.from <= day && day <= window.to) return true;
    }
    return false;
  }

  /** First day (≤ day) of the window covering it, or null when the title is not available that day. */
  windowStartOn(titleIndex: number, countryIndex: number, day: number): number | null {
    for (const window of this.windows[titleIndex]!) {
      if (window.country === countryIndex && window.from <= day && day <= window.to) return window.from;
    }
    return null;
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
