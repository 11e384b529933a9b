/** Calendar helpers on UTC day numbers (days since 1970-01-01), so no time zone can shift a date. */

const MS_PER_DAY = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Day number of a valid calendar date, or null (e.g. 31 February). */
export const dayNumberOf = (year: number, month: number, day: number): number | null => {
  if (!Number.isInteger(year) || !Number.isInteger(month) || !Number.isInteger(day)) return null;
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  const ms = Date.UTC(year, month - 1, day);
  const date = new Date(ms);
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  if (year < 100) date.setUTCFullYear(year);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day)
    return null;
  return Math.round(date.getTime() / MS_PER_DAY);
};

// The sample uses a few thousand distinct dates hundreds of thousands of times: memoise both ways.
const CACHE_LIMIT = 100_000;
const parsedDates = new Map<string, number | null>();
const formattedDates = new Map<number, string>();

/** Parses a strict `YYYY-MM-DD` date; null when malformed or not a real calendar date. */
export const parseIsoDate = (text: string): number | null => {
  const cached = parsedDates.get(text);
  if (cached !== undefined) return cached;
  const match = ISO_DATE.exec(text);
  const day = match ? dayNumberOf(Number(match[1]), Number(match[2]), Number(match[3])) : null;
  if (parsedDates.size < CACHE_LIMIT) parsedDates.set(text, day);
  return day;
};

export const isoDateOf = (dayNumber: number): string => {
  let text = formattedDates.get(dayNumber);
  if (text === undefined) {
    text = new Date(dayNumber * MS_PER_DAY).toISOString().slice(0, 10);
    if (formattedDates.size < CACHE_LIMIT) formattedDates.set(dayNumber, text);
  }
  return text;
};

/** Midnight UTC of the day, as an ISO date-time. */
export const isoMidnightOf = (dayNumber: number): string => `${isoDateOf(dayNumber)}T00:00:00Z`;

/** An instant `secondsBefore` seconds before midnight UTC of the day, as an ISO date-time (second precision). */
export const isoInstantBefore = (dayNumber: number, secondsBefore: number): string =>
  `${new Date(dayNumber * MS_PER_DAY - secondsBefore * 1000).toISOString().slice(0, 19)}Z`;

/** 0 = Sunday … 6 = Saturday. */
export const weekdayOf = (dayNumber: number): number => (((dayNumber + 4) % 7) + 7) % 7;

export const todayUtc = (): string => new Date().toISOString().slice(0, 10);
