import { parse } from 'csv-parse/sync';
import type { CsvError, InfoRecord } from 'csv-parse/sync';

import { goldId } from '../contract/common.schema.js';
import { dayNumberOf, isoDateOf } from './sample-dates.js';

/** The columns of `data/netflix_titles.csv`, in order. */
export const NETFLIX_COLUMNS = [
  'show_id',
  'type',
  'title',
  'director',
  'cast',
  'country',
  'date_added',
  'release_year',
  'rating',
  'duration',
  'listed_in',
  'description',
] as const;

export type MaturityLevel = 1 | 2 | 3 | 4;

/** One usable catalogue row, cleaned and repaired. */
export interface NetflixTitle {
  /** Physical line (1-based, header = 1) where the row starts. */
  line: number;
  showId: string;
  kind: 'MOVIE' | 'SHOW';
  name: string;
  synopsis: string | null;
  genres: string[];
  cast: string[];
  directors: string[];
  originCountries: string[];
  releaseYear: number | null;
  maturityRating: string | null;
  maturityLevel: MaturityLevel;
  durationMinutes: number | null;
  seasonCount: number | null;
  /** `YYYY-MM-DD`, or null when the row has no (parseable) date_added. */
  addedAt: string | null;
}

/** A row that could not be turned into a title. */
export interface RejectedRow {
  line: number;
  showId: string | null;
  reason: string;
}

/** A row that was used after fixing one of its fields. */
export interface RepairedRow {
  line: number;
  showId: string;
  field: string;
  note: string;
}

export interface NetflixCsvParseResult {
  titles: NetflixTitle[];
  rejected: RejectedRow[];
  repairs: RepairedRow[];
}

const MONTHS: Readonly<Record<string, number>> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  sept: 9,
  oct: 10,
  nov: 11,
  dec: 12,
  january: 1,
  february: 2,
  march: 3,
  april: 4,
  june: 6,
  july: 7,
  august: 8,
  september: 9,
  october: 10,
  november: 11,
  december: 12,
};

const DAY_MON_YY = /^(\d{1,2})-([A-Za-z]{3,9})-(\d{2}|\d{4})$/;
const MONTH_DAY_YEAR = /^([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})$/;
const ISO_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;

/** Two-digit years: 00-69 are 2000-2069, 70-99 are 1970-1999. */
export const expandTwoDigitYear = (year: number): number => (year < 70 ? 2000 + year : 1900 + year);

/**
 * Parses a `date_added` value in either of the file's formats ("25-Sep-21", " August 4, 2017"; also
 * ISO "2017-08-04") into `YYYY-MM-DD`. Surrounding whitespace is ignored. Returns null for an empty
 * or unparseable value or an impossible date (31 February).
 */
export const parseDateAdded = (raw: string): string | null => {
  const text = raw.trim();
  if (text === '') return null;
  let year: number;
  let month: number | undefined;
  let day: number;
  let match = DAY_MON_YY.exec(text);
  if (match) {
    day = Number(match[1]);
    month = MONTHS[(match[2] as string).toLowerCase()];
    const yearText = match[3] as string;
    year = yearText.length === 2 ? expandTwoDigitYear(Number(yearText)) : Number(yearText);
  } else if ((match = MONTH_DAY_YEAR.exec(text))) {
    month = MONTHS[(match[1] as string).toLowerCase()];
    day = Number(match[2]);
    year = Number(match[3]);
  } else if ((match = ISO_DATE.exec(text))) {
    year = Number(match[1]);
    month = Number(match[2]);
    day = Number(match[3]);
  } else {
    return null;
  }
  if (month === undefined) return null;
  const dayNumber = dayNumberOf(year, month, day);
  return dayNumber === null ? null : isoDateOf(dayNumber);
};

export type ParsedDuration = { minutes: number; seasons?: never } | { seasons: number; minutes?: never };

const MINUTES = /^(\d{1,4})\s*min(?:s|utes?)?$/i;
const SEASONS = /^(\d{1,3})\s*seasons?$/i;

/** Parses "90 min" / "1 Season" / "2 Seasons"; null for anything else, zero, or implausibly large values. */
export const parseDuration = (raw: string): ParsedDuration | null => {
  const text = raw.trim();
  let match = MINUTES.exec(text);
  if (match) {
    const minutes = Number(match[1]);
    return minutes >= 1 && minutes <= 1000 ? { minutes } : null;
  }
  match = SEASONS.exec(text);
  if (match) {
    const seasons = Number(match[1]);
    return seasons >= 1 && seasons <= 100 ? { seasons } : null;
  }
  return null;
};

const MATURITY_LEVELS: Readonly<Record<string, MaturityLevel>> = {
  'TV-Y': 1,
  'TV-G': 1,
  G: 1,
  'TV-Y7': 2,
  'TV-Y7-FV': 2,
  PG: 2,
  'TV-PG': 2,
  'PG-13': 3,
  'TV-14': 3,
  R: 4,
  'TV-MA': 4,
  'NC-17': 4,
  NR: 4,
  UR: 4,
};

/** Maturity level of a rating; unknown, unrated and missing ratings count as adult (4). */
export const maturityLevelOf = (rating: string | null): MaturityLevel =>
  rating === null ? 4 : (MATURITY_LEVELS[rating.trim().toUpperCase()] ?? 4);

/** Collapses runs of whitespace (including line breaks inside quoted fields) to one space and trims. */
export const cleanText = (raw: string): string =>
  NEEDS_COLLAPSE.test(raw) ? raw.replace(/\s+/g, ' ').trim() : raw.trim();
const NEEDS_COLLAPSE = /\s\s|[^\S ]/;

/** Splits a comma-separated list: trims, collapses whitespace, drops empty items and duplicates. */
export const splitList = (raw: string): string[] => {
  const seen = new Set<string>();
  for (const part of raw.split(',')) {
    const item = cleanText(part);
    if (item !== '') seen.add(item);
  }
  return [...seen];
};

const NUMERIC = /^\d+$/;

/** Byte offsets of every LF, for turning byte offsets into physical line numbers. */
const lineFeedOffsets = (bytes: Buffer): Int32Array => {
  const offsets: number[] = [];
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) offsets.push(at);
  return Int32Array.from(offsets);
};

/** 1-based line of the byte at `offset`: one more than the number of LFs before it. */
const lineAt = (lineFeeds: Int32Array, offset: number): number => {
  let low = 0;
  let high = lineFeeds.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((lineFeeds[mid] as number) < offset) low = mid + 1;
    else high = mid;
  }
  return low + 1;
};

const countLineFeeds = (text: string): number => {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  return count;
};

interface RowContext {
  line: number;
  fields: Record<(typeof NETFLIX_COLUMNS)[number], string>;
  repairs: RepairedRow[];
}

type RowOutcome = { title: NetflixTitle } | { reason: string };

const limitItems = (items: string[], maxItems: number, maxLength: number): string[] =>
  items.filter((item) => item.length <= maxLength).slice(0, maxItems);

const toTitle = ({ line, fields, repairs }: RowContext): RowOutcome => {
  const showId = fields.show_id.trim();
  const repair = (field: string, note: string): void => {
    repairs.push({ line, showId, field, note });
  };

  const typeText = cleanText(fields.type).toLowerCase();
  const kind = typeText === 'movie' ? 'MOVIE' : typeText === 'tv show' ? 'SHOW' : null;
  if (kind === null) {
    return {
      reason: fields.type.trim() === '' ? 'missing type' : `unknown type "${cleanText(fields.type)}"`,
    };
  }

  const name = cleanText(fields.title);
  if (name === '') return { reason: 'missing title' };
  if (name.length > 500) return { reason: `title longer than 500 characters (${name.length})` };

  // Duration, including the rows whose rating column holds the duration ("74 min") instead.
  let ratingText = cleanText(fields.rating);
  let durationText = cleanText(fields.duration);
  if (ratingText !== '' && parseDuration(ratingText) !== null) {
    if (durationText === '') {
      repair(
        'duration',
        `duration "${ratingText}" was in the rating column; moved it and set the rating to null`,
      );
      durationText = ratingText;
    } else {
      repair('rating', `rating "${ratingText}" is a duration; set the rating to null`);
    }
    ratingText = '';
  }
  if (durationText === '') return { reason: 'missing duration' };
  const duration = parseDuration(durationText);
  if (duration === null) return { reason: `unparseable duration "${durationText}"` };
  if (kind === 'MOVIE' && duration.seasons !== undefined) {
    return { reason: `a Movie cannot have a season count ("${durationText}")` };
  }
  if (kind === 'SHOW' && duration.minutes !== undefined) {
    return { reason: `a TV Show needs a season count, found "${durationText}"` };
  }

  let maturityRating: string | null = ratingText === '' ? null : ratingText;
  if (maturityRating !== null && maturityRating.length > 20) {
    repair('rating', `rating "${maturityRating.slice(0, 40)}" is not a rating; set to null`);
    maturityRating = null;
  }

  const addedText = fields.date_added.trim();
  const addedAt = parseDateAdded(addedText);
  if (addedText !== '' && addedAt === null)
    repair('date_added', `unparseable date "${addedText}"; set to null`);

  const yearText = fields.release_year.trim();
  let releaseYear: number | null = null;
  if (/^\d{4}$/.test(yearText) && Number(yearText) >= 1880 && Number(yearText) <= 2100) {
    releaseYear = Number(yearText);
  } else if (yearText !== '') {
    repair('release_year', `unusable release year "${yearText}"; set to null`);
  }

  const people = (field: 'director' | 'cast'): string[] => {
    const all = splitList(fields[field]);
    const numeric = all.filter((item) => NUMERIC.test(item));
    if (numeric.length > 0)
      repair(field, `dropped numeric value(s) ${numeric.map((n) => `"${n}"`).join(', ')}`);
    return all.filter((item) => !NUMERIC.test(item));
  };

  let synopsis: string | null = cleanText(fields.description);
  if (synopsis === '') synopsis = null;
  else if (synopsis.length > 5000) {
    repair('description', 'description longer than 5000 characters; truncated');
    synopsis = synopsis.slice(0, 5000);
  }

  return {
    title: {
      line,
      showId,
      kind,
      name,
      synopsis,
      genres: limitItems(splitList(fields.listed_in), 50, 100),
      cast: limitItems(people('cast'), 500, 200),
      directors: limitItems(people('director'), 100, 200),
      originCountries: limitItems(splitList(fields.country), 50, 100),
      releaseYear,
      maturityRating,
      maturityLevel: maturityLevelOf(maturityRating),
      durationMinutes: duration.minutes ?? null,
      seasonCount: duration.seasons ?? null,
      addedAt,
    },
  };
};

/**
 * Parses the Netflix catalogue CSV. Unusable rows are returned in `rejected` with their physical
 * line (header = line 1; a row spanning several lines is reported at its first line), never dropped
 * silently; rows used after a fix are listed in `repairs`. Throws only when the header is wrong.
 */
export const parseNetflixCsv = (input: string | Uint8Array): NetflixCsvParseResult => {
  let bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  const lineFeeds = lineFeedOffsets(bytes);

  const rejected: RejectedRow[] = [];
  const repairs: RepairedRow[] = [];
  const titles: NetflixTitle[] = [];

  const rows = parse(bytes, {
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (error: CsvError | undefined) => {
      // csv-parse may raise several errors for one broken record: report the record once.
      const line = lineAt(lineFeeds, typeof error?.bytes === 'number' ? error.bytes : bytes.length);
      if (rejected.some((row) => row.line === line)) return undefined;
      const lineStart = line === 1 ? 0 : (lineFeeds[line - 2] as number) + 1;
      const firstField = /^([^,"\r\n]*)/.exec(bytes.subarray(lineStart, lineStart + 200).toString('utf8'));
      const showId = (firstField?.[1] ?? '').trim();
      rejected.push({
        line,
        showId: showId === '' ? null : showId,
        reason: `malformed CSV: ${(error?.message ?? 'unreadable record').replace(/ at line \d+/, '')}`,
      });
      return undefined;
    },
  }) as unknown as { record: string[]; info: InfoRecord }[];

  const [header, ...records] = rows;
  if (header === undefined) throw new Error('the CSV is empty');
  const headerNames = header.record.map((name) => name.trim());
  if (headerNames.join(',') !== NETFLIX_COLUMNS.join(',')) {
    throw new Error(
      `unexpected CSV header "${headerNames.join(',')}", expected "${NETFLIX_COLUMNS.join(',')}"`,
    );
  }

  const firstLineOf = new Map<string, number>();
  for (const { record, info } of records) {
    // The record ends on the line of its last byte; quoted fields hold any earlier line breaks verbatim.
    let line = lineAt(lineFeeds, info.bytes - 1);
    for (const field of record) line -= countLineFeeds(field);
    const showId = (record[0] ?? '').trim();
    const reject = (reason: string): void => {
      rejected.push({ line, showId: showId === '' ? null : showId, reason });
    };
    if (record.length !== NETFLIX_COLUMNS.length) {
      reject(`expected ${NETFLIX_COLUMNS.length} fields, found ${record.length}`);
      continue;
    }
    if (showId === '') {
      reject('missing show_id');
      continue;
    }
    if (!goldId.safeParse(showId).success) {
      reject(`show_id "${showId}" is not a valid id (letters, digits, "_", "." and "-" only, at most 128)`);
      continue;
    }
    const firstLine = firstLineOf.get(showId);
    if (firstLine !== undefined) {
      reject(`duplicate show_id "${showId}" (first on line ${firstLine})`);
      continue;
    }
    const fields = Object.fromEntries(
      NETFLIX_COLUMNS.map((name, i) => [name, record[i] ?? '']),
    ) as RowContext['fields'];
    const outcome = toTitle({ line, fields, repairs });
    if ('reason' in outcome) {
      reject(outcome.reason);
      continue;
    }
    firstLineOf.set(showId, line);
    titles.push(outcome.title);
  }
  rejected.sort((a, b) => a.line - b.line);
  return { titles, rejected, repairs };
};
