import { createHash } from 'node:crypto';

import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { parquetMetadata, parquetReadObjects, type FileMetaData } from 'hyparquet';
import { afterEach, describe, expect, it, vi } from 'vitest';

import {
  contentTypeOf,
  encodeParts,
  MAX_PARTS,
  PARQUET_ROW_GROUP_SIZE,
  partFileName,
  TITLE_PERFORMANCE_COLUMNS,
  type EncodedPart,
  type ExportFormatName,
  type TitlePerformanceRow,
} from './export-files.js';

const FORMATS: readonly ExportFormatName[] = ['PARQUET', 'CSV'];
const COLUMN_NAMES = [
  'partner_id',
  'title_id',
  'title_name',
  'day',
  'country',
  'views',
  'hours_viewed',
  'completion_rate',
];

// ---------------------------------------------------------------------------------------------
// Helpers

async function* source<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

const encodeAll = async (
  rows: readonly TitlePerformanceRow[],
  format: ExportFormatName,
  maxRowsPerPart: number,
): Promise<EncodedPart[]> => {
  const parts: EncodedPart[] = [];
  for await (const part of encodeParts(source(rows), { format, maxRowsPerPart })) parts.push(part);
  return parts;
};

const drain = async (rows: AsyncIterable<TitlePerformanceRow>, format: ExportFormatName): Promise<void> => {
  for await (const _part of encodeParts(rows, { format, maxRowsPerPart: 1 })) {
    // only the error matters
  }
};

const arrayBufferOf = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer;

const readParquet = async (
  bytes: Uint8Array,
  range: { rowStart?: number; rowEnd?: number } = {},
): Promise<{ metadata: FileMetaData; rows: TitlePerformanceRow[] }> => {
  const file = arrayBufferOf(bytes);
  const metadata = parquetMetadata(file);
  const objects = await parquetReadObjects({ file, metadata, ...range });
  const rows = objects.map((o): TitlePerformanceRow => {
    // DATE comes back as a Date at UTC midnight, INT64 as a bigint.
    expect(o.day).toBeInstanceOf(Date);
    const day = o.day as Date;
    expect(Number.isInteger(day.getTime() / 86_400_000)).toBe(true);
    expect(typeof o.views).toBe('bigint');
    const views = o.views as bigint;
    expect(views).toBeLessThanOrEqual(BigInt(Number.MAX_SAFE_INTEGER));
    return {
      partnerId: o.partner_id as string,
      titleId: o.title_id as string,
      titleName: o.title_name as string | null,
      day: day.toISOString().slice(0, 10),
      country: o.country as string,
      views: Number(views),
      hoursViewed: o.hours_viewed as number,
      completionRate: o.completion_rate as number,
    };
  });
  return { metadata, rows };
};

const csvText = (bytes: Uint8Array): string =>
  new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);

/** Parses a CSV part: an unquoted empty field is a null, a quoted one an empty string. */
const readCsv = (bytes: Uint8Array): TitlePerformanceRow[] => {
  const records = parse(csvText(bytes), {
    cast: (value, context) => {
      // csv-parse, having seen CRLF first, would take a bare CR as data: RFC 4180 wants it quoted.
      if (/[",\r\n]/.test(value)) expect(context.quoting).toBe(true);
      return value === '' && !context.quoting ? null : value;
    },
  }) as unknown as (string | null)[][];
  const [header, ...lines] = records;
  expect(header).toEqual(COLUMN_NAMES);
  return lines.map((fields): TitlePerformanceRow => {
    expect(fields).toHaveLength(COLUMN_NAMES.length);
    const [partnerId, titleId, titleName, day, country, views, hoursViewed, completionRate] = fields;
    const number = (text: string | null | undefined): number => {
      expect(text).toMatch(/^\d/); // no blanks, no NaN/Infinity
      return Number(text);
    };
    return {
      partnerId: partnerId!,
      titleId: titleId!,
      titleName: titleName ?? null,
      day: day!,
      country: country!,
      views: number(views),
      hoursViewed: number(hoursViewed),
      completionRate: number(completionRate),
    };
  });
};

const readPart = async (format: ExportFormatName, part: EncodedPart): Promise<TitlePerformanceRow[]> =>
  format === 'PARQUET' ? (await readParquet(part.bytes)).rows : readCsv(part.bytes);

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** What the files should hold for a row: the row itself, with -0 written as 0. */
const expected = (row: TitlePerformanceRow): TitlePerformanceRow => ({
  ...row,
  views: row.views + 0,
  hoursViewed: row.hoursViewed + 0,
  completionRate: row.completionRate + 0,
});

const row = (overrides: Partial<TitlePerformanceRow> = {}): TitlePerformanceRow => ({
  partnerId: 'studio-1',
  titleId: 'm1',
  titleName: 'Arrival',
  day: '2024-03-01',
  country: 'FR',
  views: 12,
  hoursViewed: 20.5,
  completionRate: 0.75,
  ...overrides,
});

/** Names that CSV has to quote, plus unicode, empty strings and nulls. */
const TRICKY_ROWS: TitlePerformanceRow[] = [
  row(),
  row({ titleName: null, country: 'DE', views: 0, hoursViewed: 0, completionRate: 0 }),
  row({ titleName: '', day: '1969-12-31', views: Number.MAX_SAFE_INTEGER, completionRate: 1 }),
  row({ titleName: 'Crime, Punishment', day: '0001-01-01', hoursViewed: Number.MAX_VALUE }),
  row({
    titleName: 'The "Best" Show',
    day: '9999-12-31',
    hoursViewed: Number.MIN_VALUE,
    completionRate: 1e-7,
  }),
  row({ titleName: 'Line\nbreak', day: '2000-02-29', hoursViewed: 0.1 + 0.2, completionRate: 1 / 3 }),
  row({ titleName: 'Carriage\rreturn and \r\n both', titleId: 'id,with"quotes' }),
  row({ titleName: '  padded  ', partnerId: '"', titleId: ',' }),
  row({ titleName: 'Amélie — 千と千尋の神隠し 🎬 👩‍👩‍👧', country: 'JP', hoursViewed: 1e21 }),
  row({ titleName: '"', day: '1970-01-01' }),
  row({ titleName: '""', day: '0099-06-15' }),
  row({ titleName: '=cmd|"/c calc"!A1', day: '2038-01-19' }),
];

// ---------------------------------------------------------------------------------------------
// Arbitraries

const epochDay = (year: number, month: number, day: number): number => {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime() / 86_400_000;
};
const dayArb = fc
  .oneof(
    fc.integer({ min: epochDay(0, 1, 1), max: epochDay(9999, 12, 31) }),
    fc.integer({ min: epochDay(2015, 1, 1), max: epochDay(2030, 12, 31) }), // where real data is
  )
  .map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10));

const trickyChar = fc.constantFrom(
  ',',
  '"',
  '\r',
  '\n',
  '\r\n',
  ' ',
  'a',
  'Z',
  '0',
  'é',
  '日',
  '😀',
  '\t',
  '\u0000',
);
const textArb = fc.oneof(
  fc.string({ unit: trickyChar, maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ maxLength: 12 }),
);
const idArb = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.-]{1,24}$/), textArb);

const rowArb: fc.Arbitrary<TitlePerformanceRow> = fc.record({
  partnerId: idArb,
  titleId: idArb,
  titleName: fc.option(textArb, { nil: null, freq: 4 }),
  day: dayArb,
  country: fc.stringMatching(/^[A-Z]{2}$/),
  views: fc.oneof(fc.nat({ max: 1_000_000 }), fc.maxSafeNat()),
  hoursViewed: fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }),
  completionRate: fc.double({ min: 0, max: 1, noNaN: true }),
});

// ---------------------------------------------------------------------------------------------

describe('TITLE_PERFORMANCE_COLUMNS', () => {
  it('lists the snake_case columns in file order with their logical types', () => {
    expect(TITLE_PERFORMANCE_COLUMNS.map(({ name, type, nullable }) => [name, type, nullable])).toEqual([
      ['partner_id', 'STRING', false],
      ['title_id', 'STRING', false],
      ['title_name', 'STRING', true],
      ['day', 'DATE', false],
      ['country', 'STRING', false],
      ['views', 'INT64', false],
      ['hours_viewed', 'DOUBLE', false],
      ['completion_rate', 'DOUBLE', false],
    ]);
    for (const column of TITLE_PERFORMANCE_COLUMNS) {
      expect(Object.keys(column).sort()).toEqual(['description', 'name', 'nullable', 'type']);
      expect(column.description).toMatch(/^\S.*\.$/);
      expect(column.description).not.toContain('\n');
    }
  });

  it('cannot be changed by a caller', () => {
    expect(Object.isFrozen(TITLE_PERFORMANCE_COLUMNS)).toBe(true);
    expect(TITLE_PERFORMANCE_COLUMNS.every((column) => Object.isFrozen(column))).toBe(true);
  });
});

describe('contentTypeOf', () => {
  it('gives the media type of each format', () => {
    expect(contentTypeOf('PARQUET')).toBe('application/vnd.apache.parquet');
    expect(contentTypeOf('CSV')).toBe('text/csv; charset=utf-8');
    expect(() => contentTypeOf('JSON' as ExportFormatName)).toThrow(RangeError);
  });
});

describe('partFileName', () => {
  it('numbers parts with five digits from 0 and refuses a sixth digit', () => {
    expect(partFileName('PARQUET', 0)).toBe('part-00000.parquet');
    expect(partFileName('CSV', 42)).toBe('part-00042.csv');
    expect(partFileName('CSV', MAX_PARTS - 1)).toBe('part-99999.csv');
    expect(() => partFileName('CSV', MAX_PARTS)).toThrow(RangeError);
    expect(() => partFileName('CSV', -1)).toThrow(RangeError);
  });
});

describe('encodeParts, Parquet', () => {
  it('writes every value so that an independent reader reads it back', async () => {
    const parts = await encodeAll(TRICKY_ROWS, 'PARQUET', 100);
    expect(parts).toHaveLength(1);
    const [part] = parts;
    expect(part!.fileName).toBe('part-00000.parquet');
    expect(part!.rows).toBe(TRICKY_ROWS.length);
    const { rows, metadata } = await readParquet(part!.bytes);
    expect(rows).toEqual(TRICKY_ROWS);
    expect(metadata.num_rows).toBe(BigInt(TRICKY_ROWS.length));
  });

  it('declares the columns with their physical, converted and logical types', async () => {
    const [part] = await encodeAll([row()], 'PARQUET', 10);
    const { metadata } = await readParquet(part!.bytes);
    const [root, ...columns] = metadata.schema;
    expect(root).toMatchObject({ num_children: 8 });
    const described = columns.map((e) => ({
      name: e.name,
      type: e.type,
      repetition: e.repetition_type,
      converted: e.converted_type,
      logical: e.logical_type?.type,
    }));
    const string = { type: 'BYTE_ARRAY', converted: 'UTF8', logical: 'STRING' };
    expect(described).toEqual([
      { name: 'partner_id', ...string, repetition: 'REQUIRED' },
      { name: 'title_id', ...string, repetition: 'REQUIRED' },
      { name: 'title_name', ...string, repetition: 'OPTIONAL' },
      { name: 'day', type: 'INT32', converted: 'DATE', logical: 'DATE', repetition: 'REQUIRED' },
      { name: 'country', ...string, repetition: 'REQUIRED' },
      { name: 'views', type: 'INT64', converted: undefined, logical: undefined, repetition: 'REQUIRED' },
      {
        name: 'hours_viewed',
        type: 'DOUBLE',
        converted: undefined,
        logical: undefined,
        repetition: 'REQUIRED',
      },
      {
        name: 'completion_rate',
        type: 'DOUBLE',
        converted: undefined,
        logical: undefined,
        repetition: 'REQUIRED',
      },
    ]);
    expect(columns.map((e) => e.name)).toEqual(TITLE_PERFORMANCE_COLUMNS.map((c) => c.name));
    // SNAPPY: hyparquet reads it without hyparquet-compressors. No wall-clock or host in the footer.
    for (const group of metadata.row_groups) {
      for (const chunk of group.columns) expect(chunk.meta_data?.codec).toBe('SNAPPY');
    }
    expect(metadata.created_by).toBe('flick-api partner-exports (hyparquet-writer)');
    expect(metadata.key_value_metadata ?? []).toEqual([]);
  });

  it('bounds row groups to PARQUET_ROW_GROUP_SIZE rows', async () => {
    const count = PARQUET_ROW_GROUP_SIZE * 2 + 7;
    const rows = Array.from({ length: count }, (_, i) =>
      row({ titleId: `t${i % 997}`, views: i, day: i % 2 ? '2024-03-01' : '2024-03-02' }),
    );
    const [part, ...rest] = await encodeAll(rows, 'PARQUET', count);
    expect(rest).toEqual([]);
    const { metadata } = await readParquet(part!.bytes, { rowStart: 0, rowEnd: 0 });
    expect(metadata.row_groups.map((g) => g.num_rows)).toEqual([
      BigInt(PARQUET_ROW_GROUP_SIZE),
      BigInt(PARQUET_ROW_GROUP_SIZE),
      7n,
    ]);
    // Reading all 200k rows back through expect() takes seconds: check the ends of every group.
    for (const [rowStart, rowEnd] of [
      [0, 5],
      [PARQUET_ROW_GROUP_SIZE - 5, PARQUET_ROW_GROUP_SIZE + 5],
      [2 * PARQUET_ROW_GROUP_SIZE - 5, count],
    ] as const) {
      const { rows: read } = await readParquet(part!.bytes, { rowStart, rowEnd });
      expect(read).toEqual(rows.slice(rowStart, rowEnd));
    }
  });
});

describe('encodeParts, CSV', () => {
  it('writes RFC 4180 CSV: header, CRLF line ends, quotes only where needed, empty field for null', async () => {
    const rows = [
      row(),
      row({ titleName: null, views: 0, hoursViewed: 0, completionRate: 0 }),
      row({ titleName: '' }),
      row({ titleName: 'Crime, "Punishment"\r\nand more', titleId: 'a"b', completionRate: 1e-7 }),
      row({ titleName: 'Amélie 🎬', hoursViewed: 0.1 + 0.2, views: Number.MAX_SAFE_INTEGER }),
      row({ titleName: 'bare\rCR', titleId: 'bare\nLF', partnerId: ' spaces kept ' }),
    ];
    const [part] = await encodeAll(rows, 'CSV', 10);
    expect(part!.fileName).toBe('part-00000.csv');
    expect(csvText(part!.bytes)).toBe(
      [
        'partner_id,title_id,title_name,day,country,views,hours_viewed,completion_rate',
        'studio-1,m1,Arrival,2024-03-01,FR,12,20.5,0.75',
        'studio-1,m1,,2024-03-01,FR,0,0,0',
        'studio-1,m1,"",2024-03-01,FR,12,20.5,0.75',
        'studio-1,"a""b","Crime, ""Punishment""\r\nand more",2024-03-01,FR,12,20.5,1e-7',
        'studio-1,m1,Amélie 🎬,2024-03-01,FR,9007199254740991,0.30000000000000004,0.75',
        ' spaces kept ,"bare\nLF","bare\rCR",2024-03-01,FR,12,20.5,0.75',
        '',
      ].join('\r\n'),
    );
    expect(part!.bytes.subarray(0, 3)).not.toEqual(new Uint8Array([0xef, 0xbb, 0xbf])); // no BOM
    expect(readCsv(part!.bytes)).toEqual(rows);
  });

  it('reads back every tricky value with csv-parse', async () => {
    const [part] = await encodeAll(TRICKY_ROWS, 'CSV', 100);
    expect(readCsv(part!.bytes)).toEqual(TRICKY_ROWS);
  });
});

describe.each(FORMATS)('encodeParts, %s, properties', (format) => {
  it('splits any rows into sequential, bounded parts that read back to the input, deterministically', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArb, { maxLength: 40 }),
        fc.integer({ min: 1, max: 15 }),
        async (rows, maxRowsPerPart) => {
          const parts = await encodeAll(rows, format, maxRowsPerPart);

          expect(parts).toHaveLength(Math.ceil(rows.length / maxRowsPerPart));
          const extension = format === 'PARQUET' ? 'parquet' : 'csv';
          const read: TitlePerformanceRow[] = [];
          for (const [i, part] of parts.entries()) {
            expect(part.fileName).toBe(`part-${String(i).padStart(5, '0')}.${extension}`);
            expect(part.sha256).toBe(sha256(part.bytes));
            expect(part.sha256).toMatch(/^[0-9a-f]{64}$/);
            expect(part.rows).toBeGreaterThanOrEqual(1);
            expect(part.rows).toBeLessThanOrEqual(maxRowsPerPart);
            if (i < parts.length - 1) expect(part.rows).toBe(maxRowsPerPart);
            const partRows = await readPart(format, part);
            expect(partRows).toHaveLength(part.rows);
            read.push(...partRows);
          }
          expect(read).toEqual(rows.map(expected));

          const again = await encodeAll(rows, format, maxRowsPerPart);
          expect(again.map((p) => [p.fileName, p.rows, p.sha256])).toEqual(
            parts.map((p) => [p.fileName, p.rows, p.sha256]),
          );
          for (const [i, part] of again.entries())
            expect(Buffer.compare(part.bytes, parts[i]!.bytes)).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe.each(FORMATS)('encodeParts, %s', (format) => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives zero parts for zero rows', async () => {
    expect(await encodeAll([], format, 1)).toEqual([]);
  });

  it('gives the same bytes at another time', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2001-01-01T00:00:00Z'));
    const before = await encodeAll(TRICKY_ROWS, format, 5);
    vi.setSystemTime(new Date('2042-06-30T12:34:56Z'));
    const after = await encodeAll(TRICKY_ROWS, format, 5);
    expect(after).toEqual(before);
  });

  it.each<[string, number]>([
    ['0', 0],
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['2 ** 53', 2 ** 53],
    ['"3" (a string)', '3' as unknown as number],
  ])('rejects maxRowsPerPart %s with a RangeError before reading any row', async (_, maxRowsPerPart) => {
    let pulled = 0;
    const rows = (async function* () {
      pulled++;
      await Promise.resolve();
      yield row();
    })();
    await expect(encodeParts(rows, { format, maxRowsPerPart }).next()).rejects.toThrow(RangeError);
    expect(pulled).toBe(0);
  });

  it('reads no more than one part of rows ahead of its consumer', async () => {
    let pulled = 0;
    const rows = (async function* () {
      for (let i = 0; i < 10; i++) {
        pulled++;
        await Promise.resolve();
        yield row({ views: i });
      }
    })();
    const parts = encodeParts(rows, { format, maxRowsPerPart: 3 });
    expect(pulled).toBe(0);
    const sizes: number[] = [];
    for (let n = 1; ; n++) {
      const next = await parts.next();
      if (next.done) break;
      sizes.push(next.value.rows);
      expect(pulled).toBe(Math.min(3 * n, 10));
    }
    expect(sizes).toEqual([3, 3, 3, 1]);
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    const rows = (async function* () {
      try {
        for (let i = 0; ; i++) {
          await Promise.resolve();
          yield row({ views: i });
        }
      } finally {
        closed = true;
      }
    })();
    for await (const part of encodeParts(rows, { format, maxRowsPerPart: 2 })) {
      expect(part.fileName).toMatch(/^part-00000\./);
      break;
    }
    expect(closed).toBe(true);
  });

  it('passes on an error of the source', async () => {
    const rows = (async function* () {
      yield row();
      await Promise.resolve();
      throw new Error('Cosmos went away');
    })();
    await expect(drain(rows, format)).rejects.toThrow('Cosmos went away');
  });

  it('writes -0 as 0', async () => {
    const [part] = await encodeAll([row({ views: -0, hoursViewed: -0, completionRate: -0 })], format, 1);
    const [read] = await readPart(format, part!);
    expect(Object.is(read!.views, 0)).toBe(true);
    expect(Object.is(read!.hoursViewed, 0)).toBe(true);
    expect(Object.is(read!.completionRate, 0)).toBe(true);
  });

  it('writes a lone surrogate as U+FFFD, like any UTF-8 encoder', async () => {
    const [part] = await encodeAll([row({ titleName: 'a\uD800b' })], format, 1);
    const [read] = await readPart(format, part!);
    expect(read!.titleName).toBe('a\uFFFDb');
  });

  it.each<[string, Partial<TitlePerformanceRow>, typeof TypeError | typeof RangeError, RegExp]>([
    ['a day that does not exist', { day: '2023-02-29' }, RangeError, /row 1: day/],
    ['a day with a time', { day: '2023-02-01T00:00:00Z' }, RangeError, /row 1: day/],
    ['a day with a 5-digit year', { day: '10000-01-01' }, RangeError, /row 1: day/],
    ['a lower-case country', { country: 'fr' }, RangeError, /row 1: country/],
    ['a fractional views count', { views: 1.5 }, RangeError, /row 1: views/],
    ['a negative views count', { views: -1 }, RangeError, /row 1: views/],
    ['an unsafe views count', { views: 2 ** 53 }, RangeError, /row 1: views/],
    ['views as a string', { views: '3' as unknown as number }, TypeError, /row 1: views/],
    ['NaN hours', { hoursViewed: Number.NaN }, RangeError, /row 1: hoursViewed/],
    ['infinite hours', { hoursViewed: Number.POSITIVE_INFINITY }, RangeError, /row 1: hoursViewed/],
    ['negative hours', { hoursViewed: -0.5 }, RangeError, /row 1: hoursViewed/],
    ['a completion rate above 1', { completionRate: 1.01 }, RangeError, /row 1: completionRate/],
    ['a NaN completion rate', { completionRate: Number.NaN }, RangeError, /row 1: completionRate/],
    ['a title name that is a number', { titleName: 7 as unknown as string }, TypeError, /row 1: titleName/],
    ['an undefined title name', { titleName: undefined }, TypeError, /row 1: titleName/],
    ['a missing partner id', { partnerId: undefined }, TypeError, /row 1: partnerId/],
  ])('rejects a row with %s, naming the row and field', async (_, overrides, errorClass, message) => {
    const rows = [row(), row(overrides)];
    const error: unknown = await encodeAll(rows, format, 10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(errorClass);
    expect((error as Error).message).toMatch(message);
  });
});
