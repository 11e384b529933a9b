import type { AvailabilityWindow, CatalogRecord, titleKinds } from '../gold/contract/catalog.schema.js';

export type TitleKindName = (typeof titleKinds)[number];

/**
 * A title as the catalogue serves it: the gold record with `id` for `titleId` and `addedAt` as a
 * Date. The GraphQL `Title` type reads these properties directly. Shared by every request reading
 * the snapshot it belongs to: never mutate one.
 */
export interface CatalogTitle {
  readonly id: string;
  readonly kind: TitleKindName;
  readonly name: string;
  readonly synopsis: string | null;
  readonly genres: readonly string[];
  readonly cast: readonly string[];
  readonly directors: readonly string[];
  readonly originCountries: readonly string[];
  readonly releaseYear: number | null;
  readonly maturityRating: string | null;
  /** 1 little kids … 4 adults. */
  readonly maturityLevel: number;
  readonly durationMinutes: number | null;
  readonly seasonCount: number | null;
  readonly addedAt: Date | null;
  readonly availability: readonly AvailabilityWindow[];
  readonly artwork: CatalogRecord['artwork'];
  readonly partnerId: string | null;
}

export const toCatalogTitle = (record: CatalogRecord): CatalogTitle =>
  Object.freeze({
    id: record.titleId,
    kind: record.kind,
    name: record.name,
    synopsis: record.synopsis,
    genres: record.genres,
    cast: record.cast,
    directors: record.directors,
    originCountries: record.originCountries,
    releaseYear: record.releaseYear,
    maturityRating: record.maturityRating,
    maturityLevel: record.maturityLevel,
    durationMinutes: record.durationMinutes,
    seasonCount: record.seasonCount,
    addedAt: record.addedAt === null ? null : new Date(record.addedAt),
    availability: record.availability,
    artwork: record.artwork,
    partnerId: record.partnerId,
  });

/**
 * Whether a licence window lets `country` watch the title on `day` (`YYYY-MM-DD`, the viewer's
 * calendar day; the service uses the UTC date). Windows are inclusive at both ends; a null `to`
 * never ends. ISO dates compare correctly as strings.
 */
export const isAvailable = (
  title: { readonly availability: readonly AvailabilityWindow[] },
  country: string,
  day: string,
): boolean =>
  title.availability.some(
    (window) => window.country === country && window.from <= day && (window.to === null || day <= window.to),
  );

/** Today's date in UTC as `YYYY-MM-DD`. */
export const utcDay = (now: Date = new Date()): string => now.toISOString().slice(0, 10);
