import type { AvailabilityWindow, CatalogRecord } from '../contract/catalog.schema.js';
import type { NetflixTitle } from './netflix-csv.js';
import { dayNumberOf, isoDateOf, isoMidnightOf, parseIsoDate } from './sample-dates.js';
import { marketOfCountryName, SAMPLE_COUNTRIES } from './sample-markets.js';
import { hashLabel, hashUnit, SampleRng } from './sample-rng.js';

export const ARTWORK_SIZES = {
  SMALL: { width: 342, height: 192 },
  MEDIUM: { width: 780, height: 439 },
  LARGE: { width: 1280, height: 720 },
} as const;

export const artworkUrl = (titleId: string, size: keyof typeof ARTWORK_SIZES): string =>
  `https://img.flick.example/titles/${encodeURIComponent(titleId)}/${size.toLowerCase()}.jpg`;

/** A content partner (studio/distributor) that owns some titles and gets daily metrics for them. */
export interface SamplePartner {
  partnerId: string;
  name: string;
  /** Which titles the partner could own. */
  matches(title: NetflixTitle): boolean;
}

const hasGenre =
  (...genres: string[]) =>
  (title: NetflixTitle): boolean =>
    title.genres.some((genre) => genres.includes(genre));
const fromCountry =
  (...countries: string[]) =>
  (title: NetflixTitle): boolean =>
    title.originCountries.some((country) => countries.includes(country));

export const SAMPLE_PARTNERS: readonly SamplePartner[] = [
  { partnerId: 'partner-01', name: 'Han River Pictures', matches: fromCountry('South Korea') },
  {
    partnerId: 'partner-02',
    name: 'Sakura Frame Animation',
    matches: hasGenre('Anime Series', 'Anime Features'),
  },
  {
    partnerId: 'partner-03',
    name: 'Northlight Documentaries',
    matches: hasGenre('Documentaries', 'Docuseries'),
  },
  { partnerId: 'partner-04', name: 'Marine Drive Studios', matches: fromCountry('India') },
  {
    partnerId: 'partner-05',
    name: 'Open Mic Media',
    matches: hasGenre('Stand-Up Comedy', 'Stand-Up Comedy & Talk Shows'),
  },
  { partnerId: 'partner-06', name: 'Meseta Films', matches: fromCountry('Spain', 'Mexico', 'Argentina') },
  {
    partnerId: 'partner-07',
    name: 'Little Lantern Kids',
    matches: hasGenre("Kids' TV", 'Children & Family Movies'),
  },
];

export const PARTNER_TITLE_RANGE = { min: 40, max: 150 } as const;

export interface PartnerSummary {
  partnerId: string;
  name: string;
  titleIds: string[];
}

export interface SampleCatalog {
  /** One record per usable title, in CSV order. */
  records: CatalogRecord[];
  /** Popularity weight per record (Zipf-like over the popularity ranking; higher = more watched). */
  popularity: Float64Array;
  partners: PartnerSummary[];
}

export interface CatalogOptions {
  seed: number;
  /** `YYYY-MM-DD` */
  asOf: string;
}

/** Zipf-like weight of the title at a 0-based popularity rank. */
export const zipfWeight = (rank: number): number => 1 / Math.pow(rank + 25, 1.05);

const dayOrThrow = (isoDate: string): number => {
  const day = parseIsoDate(isoDate);
  if (day === null) throw new Error(`invalid date "${isoDate}"`);
  return day;
};

/**
 * Licence windows of one title. Most titles are open-ended everywhere from their date added; a share
 * are regional, coming soon, leaving (expired), or have per-country gaps, expired, future, re-licensed
 * or fixed-term windows so that availability rules always have something to filter.
 */
const availabilityOf = (title: NetflixTitle, seed: number, asOfDay: number): AvailabilityWindow[] => {
  const rng = new SampleRng(seed, 'availability', hashLabel(title.showId));
  const added = title.addedAt === null ? null : dayOrThrow(title.addedAt);
  const base =
    added ??
    Math.min(
      asOfDay - 30,
      (dayNumberOf(Math.max(title.releaseYear ?? 2016, 2010), 1, 1) as number) + rng.int(0, 364),
    );

  const mode = rng.float();
  const comingSoon = mode < 0.03;
  const leaving = !comingSoon && mode < 0.07;
  const regional = !comingSoon && !leaving && mode < 0.13;
  const comingFrom = asOfDay + rng.int(3, 90);
  const leavingTo = asOfDay - rng.int(1, 240);

  let markets: ReadonlySet<string> | null = null;
  if (regional) {
    const origin = title.originCountries.map(marketOfCountryName).filter((code) => code !== undefined);
    const extra = rng.shuffled(SAMPLE_COUNTRIES).slice(0, rng.int(3, 8));
    markets = new Set([...origin, ...extra]);
  }

  const windows: AvailabilityWindow[] = [];
  const push = (country: string, from: number, to: number | null): void => {
    windows.push({ country, from: isoDateOf(from), to: to === null ? null : isoDateOf(Math.max(from, to)) });
  };
  for (const country of SAMPLE_COUNTRIES) {
    const roll = rng.float();
    const stagger = rng.chance(0.25) ? rng.int(1, 120) : 0;
    if (markets !== null && !markets.has(country)) continue;
    if (roll < 0.05) continue; // no licence in this country
    const from = base + stagger;
    if (comingSoon) {
      push(country, comingFrom + Math.min(stagger, 14), null);
    } else if (leaving) {
      const to = Math.min(leavingTo + rng.int(0, 10), asOfDay - 1);
      push(country, Math.min(from, to - 30), to);
    } else if (roll < 0.09) {
      const to = asOfDay - rng.int(1, 400);
      push(country, Math.min(from, to - rng.int(30, 700)), to);
    } else if (roll < 0.115) {
      push(country, Math.max(from, asOfDay + rng.int(1, 120)), null);
    } else if (roll < 0.13) {
      const firstFrom = Math.min(from, asOfDay - 500);
      const firstTo = firstFrom + rng.int(60, 300);
      push(country, firstFrom, firstTo);
      push(country, firstTo + rng.int(30, 150), null);
    } else if (roll < 0.16) {
      push(country, from, Math.max(from, asOfDay) + rng.int(14, 720));
    } else {
      push(country, from, null);
    }
  }
  return windows;
};

/** Ranks titles by a seeded popularity score: recent additions and shows do better, with log-normal spread. */
const popularityOf = (titles: readonly NetflixTitle[], seed: number): Float64Array => {
  let newest = -Infinity;
  for (const title of titles)
    if (title.addedAt !== null) newest = Math.max(newest, dayOrThrow(title.addedAt));
  const scores = titles.map((title) => {
    const rng = new SampleRng(seed, 'popularity', hashLabel(title.showId));
    const age = title.addedAt === null ? null : newest - dayOrThrow(title.addedAt);
    const recency = age === null ? 0.8 : 1 + 2.5 * Math.exp(-age / 240);
    const fresh = title.releaseYear !== null && title.releaseYear >= 2015 ? 1.4 : 1;
    const kind = title.kind === 'SHOW' ? 1.2 : 1;
    return Math.exp(0.9 * rng.gaussian()) * recency * fresh * kind;
  });
  const order = titles.map((_, i) => i);
  order.sort(
    (a, b) =>
      (scores[b] as number) - (scores[a] as number) || compareIds(titles[a]!.showId, titles[b]!.showId),
  );
  const weights = new Float64Array(titles.length);
  order.forEach((titleIndex, rank) => {
    weights[titleIndex] = zipfWeight(rank);
  });
  return weights;
};

export const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Deals partner ownership: each partner gets 40–150 titles from its theme, first come first served. */
const assignPartners = (titles: readonly NetflixTitle[], seed: number): Map<string, SamplePartner> => {
  const owner = new Map<string, SamplePartner>();
  for (const partner of SAMPLE_PARTNERS) {
    const rng = new SampleRng(seed, 'partner', hashLabel(partner.partnerId));
    const wanted = rng.int(PARTNER_TITLE_RANGE.min, PARTNER_TITLE_RANGE.max);
    const partnerHash = hashLabel(partner.partnerId);
    const candidates = titles
      .filter((title) => !owner.has(title.showId) && partner.matches(title))
      .map((title) => ({ id: title.showId, order: hashUnit(seed, partnerHash, hashLabel(title.showId)) }))
      .sort((a, b) => a.order - b.order || compareIds(a.id, b.id));
    for (const candidate of candidates.slice(0, wanted)) owner.set(candidate.id, partner);
  }
  return owner;
};

export const buildSampleCatalog = (
  titles: readonly NetflixTitle[],
  options: CatalogOptions,
): SampleCatalog => {
  const asOfDay = dayOrThrow(options.asOf);
  const owner = assignPartners(titles, options.seed);
  const records = titles.map((title): CatalogRecord => {
    const artwork = (size: keyof typeof ARTWORK_SIZES) => ({
      url: artworkUrl(title.showId, size),
      ...ARTWORK_SIZES[size],
    });
    return {
      titleId: title.showId,
      kind: title.kind,
      name: title.name,
      synopsis: title.synopsis,
      genres: title.genres,
      cast: title.cast,
      directors: title.directors,
      originCountries: title.originCountries,
      releaseYear: title.releaseYear,
      maturityRating: title.maturityRating,
      maturityLevel: title.maturityLevel,
      durationMinutes: title.durationMinutes,
      seasonCount: title.seasonCount,
      addedAt: title.addedAt === null ? null : isoMidnightOf(dayOrThrow(title.addedAt)),
      availability: availabilityOf(title, options.seed, asOfDay),
      artwork: { SMALL: artwork('SMALL'), MEDIUM: artwork('MEDIUM'), LARGE: artwork('LARGE') },
      partnerId: owner.get(title.showId)?.partnerId ?? null,
    };
  });
  const partners = SAMPLE_PARTNERS.map((partner) => ({
    partnerId: partner.partnerId,
    name: partner.name,
    titleIds: records
      .filter((record) => record.partnerId === partner.partnerId)
      .map((record) => record.titleId),
  }));
  return { records, popularity: popularityOf(titles, options.seed), partners };
};
