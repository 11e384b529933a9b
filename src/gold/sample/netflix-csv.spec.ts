import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  cleanText,
  expandTwoDigitYear,
  maturityLevelOf,
  NETFLIX_COLUMNS,
  parseDateAdded,
  parseDuration,
  parseNetflixCsv,
  splitList,
} from './netflix-csv.js';

const HEADER = NETFLIX_COLUMNS.join(',');
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** One CSV row with sensible defaults; values are written verbatim (quote them yourself). */
const row = (fields: Partial<Record<(typeof NETFLIX_COLUMNS)[number], string>>): string =>
  NETFLIX_COLUMNS.map(
    (name) =>
      fields[name] ??
      {
        show_id: 's1',
        type: 'Movie',
        title: 'A Title',
        director: '',
        cast: '',
        country: 'United States',
        date_added: '25-Sep-21',
        release_year: '2020',
        rating: 'PG-13',
        duration: '90 min',
        listed_in: 'Dramas',
        description: 'Something happens.',
      }[name],
  ).join(',');

const csv = (...rows: string[]): string => [HEADER, ...rows].join('\r\n') + '\r\n';

describe('parseDateAdded', () => {
  it('parses both formats of the file', () => {
    expect(parseDateAdded('25-Sep-21')).toBe('2021-09-25');
    expect(parseDateAdded('1-Jan-08')).toBe('2008-01-01');
    expect(parseDateAdded(' August 4, 2017')).toBe('2017-08-04');
    expect(parseDateAdded('December 31, 2019 ')).toBe('2019-12-31');
  });

  it('returns null for empty, malformed and impossible dates', () => {
    expect(parseDateAdded('')).toBeNull();
    expect(parseDateAdded('   ')).toBeNull();
    expect(parseDateAdded('31-Feb-21')).toBeNull();
    expect(parseDateAdded('29-Feb-21')).toBeNull();
    expect(parseDateAdded('29-Feb-20')).toBe('2020-02-29');
    expect(parseDateAdded('Smarch 4, 2017')).toBeNull();
    expect(parseDateAdded('yesterday')).toBeNull();
  });

  it('round-trips every real date written in either format (property)', () => {
    const dates = fc.date({
      min: new Date('1970-01-01T00:00:00Z'),
      max: new Date('2069-12-31T00:00:00Z'),
      noInvalidDate: true,
    });
    const padding = fc.constantFrom('', ' ', '  ', '\t');
    fc.assert(
      fc.property(dates, padding, padding, fc.boolean(), (date, before, after, long) => {
        const iso = date.toISOString().slice(0, 10);
        const [year, month, day] = iso.split('-').map(Number) as [number, number, number];
        const monthName = MONTHS[month - 1] as string;
        const text = long
          ? `${before}${monthName} ${day}, ${year}${after}`
          : `${before}${day}-${monthName.slice(0, 3)}-${String(year % 100).padStart(2, '0')}${after}`;
        expect(parseDateAdded(text)).toBe(iso);
      }),
    );
  });

  it('never throws and only ever returns a valid ISO date or null (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (text) => {
        const parsed = parseDateAdded(text);
        if (parsed !== null) {
          expect(parsed).toMatch(/^\d{4}-\d{2}-\d{2}$/);
          expect(new Date(`${parsed}T00:00:00Z`).toISOString().slice(0, 10)).toBe(parsed);
        }
      }),
    );
  });

  it('expands two-digit years around a 1970 pivot', () => {
    expect(expandTwoDigitYear(0)).toBe(2000);
    expect(expandTwoDigitYear(21)).toBe(2021);
    expect(expandTwoDigitYear(69)).toBe(2069);
    expect(expandTwoDigitYear(70)).toBe(1970);
    expect(expandTwoDigitYear(99)).toBe(1999);
  });
});

describe('parseDuration', () => {
  it('parses minutes and seasons', () => {
    expect(parseDuration('90 min')).toEqual({ minutes: 90 });
    expect(parseDuration(' 1 Season')).toEqual({ seasons: 1 });
    expect(parseDuration('2 Seasons')).toEqual({ seasons: 2 });
    expect(parseDuration('')).toBeNull();
    expect(parseDuration('0 min')).toBeNull();
    expect(parseDuration('min')).toBeNull();
    expect(parseDuration('1.5 Seasons')).toBeNull();
    expect(parseDuration('TV-MA')).toBeNull();
  });

  it('reads back any generated "N min" / "N Season(s)" value (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.constantFrom('', ' ', '  '), (minutes, space) => {
        expect(parseDuration(`${space}${minutes} min${space}`)).toEqual({ minutes });
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), (seasons) => {
        expect(parseDuration(`${seasons} ${seasons === 1 ? 'Season' : 'Seasons'}`)).toEqual({ seasons });
      }),
    );
  });

  it('returns either nothing or exactly one positive integer for arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (text) => {
        const parsed = parseDuration(text);
        if (parsed === null) return;
        const values = [parsed.minutes, parsed.seasons].filter((value) => value !== undefined);
        expect(values).toHaveLength(1);
        expect(Number.isInteger(values[0]) && (values[0] as number) > 0).toBe(true);
        expect(text).toContain(String(values[0]));
      }),
    );
  });
});

describe('lists, text and ratings', () => {
  it('splits comma-separated lists, dropping blanks and duplicates', () => {
    expect(splitList(', France, Algeria')).toEqual(['France', 'Algeria']);
    expect(splitList('United Kingdom,')).toEqual(['United Kingdom']);
    expect(splitList('A,  A , B')).toEqual(['A', 'B']);
    expect(splitList('')).toEqual([]);
  });

  it('yields trimmed, non-empty, unique items that all come from the input (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 8 }), { maxLength: 8 }), (parts) => {
        const raw = parts.join(',');
        const items = splitList(raw);
        expect(new Set(items).size).toBe(items.length);
        for (const item of items) {
          expect(item).not.toBe('');
          expect(item).toBe(item.trim());
          expect(item).not.toContain(',');
          expect(cleanText(raw)).toContain(item);
        }
      }),
    );
  });

  it('maps ratings to maturity levels', () => {
    expect([...['TV-Y', 'TV-G', 'G'].map(maturityLevelOf)]).toEqual([1, 1, 1]);
    expect(['TV-Y7', 'TV-Y7-FV', 'PG', 'TV-PG'].map(maturityLevelOf)).toEqual([2, 2, 2, 2]);
    expect(['PG-13', 'TV-14'].map(maturityLevelOf)).toEqual([3, 3]);
    expect(['R', 'TV-MA', 'NC-17', 'NR', 'UR', 'XYZ'].map(maturityLevelOf)).toEqual([4, 4, 4, 4, 4, 4]);
    expect(maturityLevelOf(null)).toBe(4);
  });
});

describe('parseNetflixCsv', () => {
  it('maps a clean row to a title', () => {
    const { titles, rejected, repairs } = parseNetflixCsv(
      csv(
        row({
          show_id: 's7',
          type: 'TV Show',
          title: 'Ganglands',
          director: 'Julien Leclercq',
          cast: '"Sami Bouajila, Tracy Gotoas"',
          country: '"France, Belgium"',
          date_added: '" August 4, 2017"',
          rating: 'TV-MA',
          duration: '2 Seasons',
          listed_in: '"Crime TV Shows, International TV Shows"',
        }),
      ),
    );
    expect(rejected).toEqual([]);
    expect(repairs).toEqual([]);
    expect(titles).toEqual([
      {
        line: 2,
        showId: 's7',
        kind: 'SHOW',
        name: 'Ganglands',
        synopsis: 'Something happens.',
        genres: ['Crime TV Shows', 'International TV Shows'],
        cast: ['Sami Bouajila', 'Tracy Gotoas'],
        directors: ['Julien Leclercq'],
        originCountries: ['France', 'Belgium'],
        releaseYear: 2020,
        maturityRating: 'TV-MA',
        maturityLevel: 4,
        durationMinutes: null,
        seasonCount: 2,
        addedAt: '2017-08-04',
      },
    ]);
  });

  it('keeps rows without director, cast, country, date added or rating', () => {
    const { titles, rejected } = parseNetflixCsv(
      csv(row({ show_id: 's4', director: '', cast: '', country: '', date_added: '', rating: '' })),
    );
    expect(rejected).toEqual([]);
    expect(titles[0]).toMatchObject({
      directors: [],
      cast: [],
      originCountries: [],
      addedAt: null,
      maturityRating: null,
      maturityLevel: 4,
    });
  });

  it('moves a duration found in the rating column and nulls the rating', () => {
    const { titles, repairs, rejected } = parseNetflixCsv(
      csv(row({ show_id: 's5542', rating: '74 min', duration: '' })),
    );
    expect(rejected).toEqual([]);
    expect(titles[0]).toMatchObject({ durationMinutes: 74, maturityRating: null, maturityLevel: 4 });
    expect(repairs).toEqual([expect.objectContaining({ line: 2, showId: 's5542', field: 'duration' })]);
  });

  it('drops numeric director values and reports the repair', () => {
    const { titles, repairs } = parseNetflixCsv(csv(row({ show_id: 's2', director: '104' })));
    expect(titles[0]?.directors).toEqual([]);
    expect(repairs).toEqual([
      { line: 2, showId: 's2', field: 'director', note: 'dropped numeric value(s) "104"' },
    ]);
  });

  it('keeps numeric titles such as "1922" (real films)', () => {
    const { titles } = parseNetflixCsv(csv(row({ show_id: 's9', title: '1922' })));
    expect(titles[0]?.name).toBe('1922');
  });

  it('reports unusable rows with their physical line, counting multi-line fields and blank lines', () => {
    const input = csv(
      row({ show_id: 's1' }), // line 2
      row({ show_id: 's2', title: '"A title\nspanning two lines"' }), // lines 3-4
      row({ show_id: 's3', title: '' }), // line 5
      '', // line 6 (blank)
      row({ show_id: 's4', type: 'Podcast' }), // line 7
      row({ show_id: 's5', duration: 'forever' }), // line 8
      row({ show_id: 's6', rating: '', duration: '' }), // line 9
      row({ show_id: 's7', description: '"first\nsecond\nthird"' }), // lines 10-12
      row({ show_id: 's8', type: 'Movie', duration: '3 Seasons' }), // line 13
      row({ show_id: 's9', type: 'TV Show', duration: '45 min' }), // line 14
      row({ show_id: 's1', title: 'Again' }), // line 15
      's10,Movie,Too short', // line 16
      row({ show_id: '' }), // line 17
      row({ show_id: 's/11' }), // line 18
      row({ show_id: 's12', date_added: '31-Feb-21', release_year: 'unknown' }), // line 19
    );
    const { titles, rejected, repairs } = parseNetflixCsv(input);
    expect(titles.map((title) => [title.showId, title.line])).toEqual([
      ['s1', 2],
      ['s2', 3],
      ['s7', 10],
      ['s12', 19],
    ]);
    expect(titles[1]?.name).toBe('A title spanning two lines');
    expect(titles[2]?.synopsis).toBe('first second third');
    expect(rejected).toEqual([
      { line: 5, showId: 's3', reason: 'missing title' },
      { line: 7, showId: 's4', reason: 'unknown type "Podcast"' },
      { line: 8, showId: 's5', reason: 'unparseable duration "forever"' },
      { line: 9, showId: 's6', reason: 'missing duration' },
      { line: 13, showId: 's8', reason: 'a Movie cannot have a season count ("3 Seasons")' },
      { line: 14, showId: 's9', reason: 'a TV Show needs a season count, found "45 min"' },
      { line: 15, showId: 's1', reason: 'duplicate show_id "s1" (first on line 2)' },
      { line: 16, showId: 's10', reason: 'expected 12 fields, found 3' },
      { line: 17, showId: null, reason: 'missing show_id' },
      { line: 18, showId: 's/11', reason: expect.stringContaining('is not a valid id') },
    ]);
    expect(titles[3]).toMatchObject({ addedAt: null, releaseYear: null });
    expect(repairs.map((repair) => [repair.line, repair.field])).toEqual([
      [19, 'date_added'],
      [19, 'release_year'],
    ]);
  });

  it('reports malformed quoting as one rejected row and goes on with the next rows', () => {
    const { titles, rejected } = parseNetflixCsv(
      csv(
        row({ show_id: 's1' }),
        row({ show_id: 's2', title: '"Broken "quote" title"' }),
        row({ show_id: 's3' }),
      ),
    );
    expect(titles.map((title) => [title.showId, title.line])).toEqual([
      ['s1', 2],
      ['s3', 4],
    ]);
    expect(rejected).toEqual([
      { line: 3, showId: 's2', reason: expect.stringMatching(/^malformed CSV: Invalid Closing Quote/) },
    ]);
  });

  it('reports an unclosed quote at the line where the broken record starts', () => {
    const { titles, rejected } = parseNetflixCsv(
      csv(row({ show_id: 's1' }), row({ show_id: 's2', title: '"Unclosed' }), row({ show_id: 's3' })),
    );
    expect(titles.map((title) => title.showId)).toEqual(['s1']);
    expect(rejected).toEqual([
      { line: 3, showId: 's2', reason: expect.stringMatching(/^malformed CSV: Quote Not Closed/) },
    ]);
  });

  it('accepts LF line endings and a byte order mark', () => {
    const input = `\uFEFF${HEADER}\n${row({ show_id: 's1' })}\n${row({ show_id: 's2' })}`;
    const { titles } = parseNetflixCsv(input);
    expect(titles.map((title) => [title.showId, title.line])).toEqual([
      ['s1', 2],
      ['s2', 3],
    ]);
  });

  it('rejects a file with the wrong header', () => {
    expect(() => parseNetflixCsv('id,name\n1,x\n')).toThrow(/unexpected CSV header/);
  });
});
