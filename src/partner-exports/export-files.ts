import { createHash } from 'node:crypto';

import { ByteWriter, parquetWrite, type ColumnSource, type SchemaElement } from 'hyparquet-writer';

/**
 * File encoding of partner exports (Azure Data Share folders) of the TITLE_PERFORMANCE dataset: one
 * row per title, day and country for one partner. A worker streams the rows out of Cosmos and this
 * module cuts them into part files of a bounded number of rows, in Parquet or CSV.
 *
 * Parts are deterministic: the same rows with the same options always give byte-identical parts
 * (no timestamps, random ids or environment-dependent values in the files), so a retried export can
 * compare a part it re-encodes with the one already uploaded (same name, same sha256).
 *
 * Parquet: one file per part, SNAPPY-compressed pages (readable by any Parquet reader, including
 * hyparquet without extra decompressors), row groups of at most {@link PARQUET_ROW_GROUP_SIZE} rows.
 * Strings are BYTE_ARRAY with the UTF8 converted type and STRING logical type, `day` is a DATE
 * (INT32 days since 1970-01-01), `views` an INT64, the two rates DOUBLE; only `title_name` is
 * nullable.
 *
 * CSV (RFC 4180): UTF-8 without BOM, a header line with the column names, every line (header
 * included) ended by CRLF. A field is quoted when it contains a comma, a double quote, CR or LF (with
 * its quotes doubled) and an empty string is written as `""`, so that a null (an empty, unquoted
 * field) and an empty string stay distinguishable. Numbers are written with `String(n)` (the
 * shortest text that parses back to the same double; may use exponent notation such as `1e-7`).
 *
 * Rows are checked against the gold contract (partner_metrics.schema.json) as they are encoded and a
 * row breaking it fails the export with a TypeError or RangeError naming the row and the field. A
 * `-0` number is written as `0`. Strings that are not well-formed UTF-16 (lone surrogates) are
 * written with U+FFFD in their place, the way every UTF-8 encoder does, in both formats.
 */

export interface TitlePerformanceRow {
  partnerId: string;
  titleId: string;
  titleName: string | null;
  /** YYYY-MM-DD */
  day: string;
  /** ISO 3166-1 alpha-2 */
  country: string;
  /** Integer >= 0. */
  views: number;
  /** Finite, >= 0. */
  hoursViewed: number;
  /** 0..1 */
  completionRate: number;
}

export type ExportFormatName = 'PARQUET' | 'CSV';

export type ExportColumnType = 'STRING' | 'DATE' | 'INT64' | 'DOUBLE';

export interface ExportColumn {
  readonly name: string;
  readonly type: ExportColumnType;
  readonly nullable: boolean;
  readonly description: string;
}

const COLUMNS = [
  {
    name: 'partner_id',
    type: 'STRING',
    nullable: false,
    description: 'Id of the partner the export is for.',
  },
  {
    name: 'title_id',
    type: 'STRING',
    nullable: false,
    description: 'Id of the title in the Flick catalogue.',
  },
  {
    name: 'title_name',
    type: 'STRING',
    nullable: true,
    description: 'Name of the title at export time; null when the catalogue has none.',
  },
  { name: 'day', type: 'DATE', nullable: false, description: 'Day (UTC) the views were made.' },
  {
    name: 'country',
    type: 'STRING',
    nullable: false,
    description: 'ISO 3166-1 alpha-2 code of the country the views were made from.',
  },
  { name: 'views', type: 'INT64', nullable: false, description: 'Number of views of the title that day.' },
  {
    name: 'hours_viewed',
    type: 'DOUBLE',
    nullable: false,
    description: 'Total hours of the title watched that day.',
  },
  {
    name: 'completion_rate',
    type: 'DOUBLE',
    nullable: false,
    description: 'Share of those views watched to the end, from 0 to 1.',
  },
] as const satisfies readonly ExportColumn[];

type ColumnName = (typeof COLUMNS)[number]['name'];

/**
 * The columns of a TITLE_PERFORMANCE part, in file order: names, logical types and a one-line
 * description each; used for _manifest.json.
 */
export const TITLE_PERFORMANCE_COLUMNS: readonly ExportColumn[] = Object.freeze(
  COLUMNS.map((column): ExportColumn => Object.freeze({ ...column })),
);

export interface EncodedPart {
  /** part-00000.parquet / part-00000.csv: five digits, from 0. */
  fileName: string;
  bytes: Uint8Array;
  rows: number;
  /** Lowercase hex SHA-256 of `bytes`. */
  sha256: string;
}

export interface EncodePartsOptions {
  format: ExportFormatName;
  /** Integer >= 1. */
  maxRowsPerPart: number;
}

/** Part numbers have five digits: an export has at most this many parts. */
export const MAX_PARTS = 100_000;

/** Rows per Parquet row group: bounds what a reader has to hold to decode one group. */
export const PARQUET_ROW_GROUP_SIZE = 100_000;

/** `created_by` of the Parquet files; constant, so that parts stay byte-identical across runs. */
const PARQUET_CREATED_BY = 'flick-api partner-exports (hyparquet-writer)';

const CSV_LINE_END = '\r\n';

const FILE_EXTENSIONS: Readonly<Record<ExportFormatName, string>> = { PARQUET: 'parquet', CSV: 'csv' };

export const contentTypeOf = (format: ExportFormatName): string => {
  switch (format) {
    case 'PARQUET':
      return 'application/vnd.apache.parquet';
    case 'CSV':
      return 'text/csv; charset=utf-8';
    default:
      throw unknownFormat(format);
  }
};

const unknownFormat = (format: never): RangeError =>
  new RangeError(`Unknown export format ${JSON.stringify(format)}; expected PARQUET or CSV.`);

/** `part-00042.csv` */
export const partFileName = (format: ExportFormatName, index: number): string => {
  if (!Number.isSafeInteger(index) || index < 0 || index >= MAX_PARTS) {
    throw new RangeError(
      `Part number ${index} is out of range: an export has at most ${MAX_PARTS} parts; raise maxRowsPerPart.`,
    );
  }
  return `part-${String(index).padStart(5, '0')}.${FILE_EXTENSIONS[format]}`;
};

/**
 * Encodes rows into parts of at most `maxRowsPerPart` rows each (every part but the last is full), in
 * input order. Holds at most one part's rows in memory: it reads the next row from `rows` only after
 * the previous part has been taken. Zero rows give zero parts. Identical input gives byte-identical
 * parts.
 *
 * Options and rows are checked lazily, when the generator runs: an invalid `maxRowsPerPart` (not an
 * integer >= 1) or format rejects the first `next()` with a RangeError, before any row is read; a row
 * breaking the contract rejects the `next()` that reaches it.
 */
export async function* encodeParts(
  rows: AsyncIterable<TitlePerformanceRow>,
  options: EncodePartsOptions,
): AsyncGenerator<EncodedPart> {
  const { format, maxRowsPerPart } = options;
  if (!Number.isSafeInteger(maxRowsPerPart) || maxRowsPerPart < 1) {
    throw new RangeError(`maxRowsPerPart must be an integer >= 1, got ${String(maxRowsPerPart)}.`);
  }
  if (format !== 'PARQUET' && format !== 'CSV') throw unknownFormat(format);

  let partIndex = 0;
  let rowIndex = 0;
  let part: PartEncoder | undefined;
  for await (const row of rows) {
    part ??= newPartEncoder(format);
    part.add(checkRow(row, rowIndex));
    rowIndex++;
    if (part.rows === maxRowsPerPart) {
      const encoded = finishPart(format, partIndex++, part);
      part = undefined;
      yield encoded;
    }
  }
  if (part) yield finishPart(format, partIndex, part);
}

const finishPart = (format: ExportFormatName, index: number, part: PartEncoder): EncodedPart => {
  const fileName = partFileName(format, index);
  const bytes = part.finish();
  return { fileName, bytes, rows: part.rows, sha256: createHash('sha256').update(bytes).digest('hex') };
};

/** A row that passed {@link checkRow}, with `day` also as days since 1970-01-01. */
interface CheckedRow extends TitlePerformanceRow {
  readonly epochDay: number;
}

interface PartEncoder {
  readonly rows: number;
  add(row: CheckedRow): void;
  finish(): Uint8Array;
}

const newPartEncoder = (format: ExportFormatName): PartEncoder => {
  switch (format) {
    case 'PARQUET':
      return new ParquetPartEncoder();
    case 'CSV':
      return new CsvPartEncoder();
    default:
      throw unknownFormat(format);
  }
};

// ---------------------------------------------------------------------------------------------
// Row checks

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const COUNTRY = /^[A-Z]{2}$/;
const DAY_MILLIS = 86_400_000;

const invalid = (
  index: number,
  field: keyof TitlePerformanceRow,
  expected: string,
  ErrorClass: new (message: string) => Error = TypeError,
): Error => new ErrorClass(`TITLE_PERFORMANCE row ${index}: ${field} must be ${expected}.`);

/** Days since 1970-01-01 of a real calendar day written YYYY-MM-DD, or undefined. */
const epochDayOf = (day: string): number | undefined => {
  const match = DAY.exec(day);
  if (!match) return undefined;
  const [year, month, dayOfMonth] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, dayOfMonth);
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== dayOfMonth
  ) {
    return undefined; // 2023-02-30 and the like
  }
  return date.getTime() / DAY_MILLIS;
};

/** +0 for -0, so that both formats write the same number. */
const positiveZero = (n: number): number => (n === 0 ? 0 : n);

const checkRow = (row: TitlePerformanceRow, index: number): CheckedRow => {
  if (typeof row !== 'object' || row === null)
    throw new TypeError(`TITLE_PERFORMANCE row ${index} is not an object.`);
  if (typeof row.partnerId !== 'string') throw invalid(index, 'partnerId', 'a string');
  if (typeof row.titleId !== 'string') throw invalid(index, 'titleId', 'a string');
  if (row.titleName !== null && typeof row.titleName !== 'string') {
    throw invalid(index, 'titleName', 'a string or null');
  }
  if (typeof row.day !== 'string') throw invalid(index, 'day', 'a YYYY-MM-DD string');
  const epochDay = epochDayOf(row.day);
  if (epochDay === undefined) throw invalid(index, 'day', 'a calendar day written YYYY-MM-DD', RangeError);
  if (typeof row.country !== 'string' || !COUNTRY.test(row.country)) {
    throw invalid(index, 'country', 'an ISO 3166-1 alpha-2 code (two upper-case letters)', RangeError);
  }
  if (typeof row.views !== 'number') throw invalid(index, 'views', 'a number');
  if (!Number.isSafeInteger(row.views) || row.views < 0) {
    throw invalid(index, 'views', `a safe integer >= 0, got ${row.views}`, RangeError);
  }
  if (typeof row.hoursViewed !== 'number') throw invalid(index, 'hoursViewed', 'a number');
  if (!Number.isFinite(row.hoursViewed) || row.hoursViewed < 0) {
    throw invalid(index, 'hoursViewed', `a finite number >= 0, got ${row.hoursViewed}`, RangeError);
  }
  if (typeof row.completionRate !== 'number') throw invalid(index, 'completionRate', 'a number');
  if (!(row.completionRate >= 0 && row.completionRate <= 1)) {
    throw invalid(index, 'completionRate', `between 0 and 1, got ${row.completionRate}`, RangeError);
  }
  return {
    partnerId: row.partnerId,
    titleId: row.titleId,
    titleName: row.titleName,
    day: row.day,
    country: row.country,
    views: positiveZero(row.views),
    hoursViewed: positiveZero(row.hoursViewed),
    completionRate: positiveZero(row.completionRate),
    epochDay,
  };
};

// ---------------------------------------------------------------------------------------------
// Parquet

const PARQUET_TYPES: Readonly<Record<ExportColumnType, Omit<SchemaElement, 'name' | 'repetition_type'>>> = {
  STRING: { type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } },
  DATE: { type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } },
  INT64: { type: 'INT64' },
  DOUBLE: { type: 'DOUBLE' },
};

const PARQUET_SCHEMA: readonly SchemaElement[] = [
  { name: 'root', num_children: COLUMNS.length },
  ...COLUMNS.map((column): SchemaElement => ({
    name: column.name,
    ...PARQUET_TYPES[column.type],
    repetition_type: column.nullable ? 'OPTIONAL' : 'REQUIRED',
  })),
];

/** Accumulates one part column by column, in file order, then writes it in one go. */
class ParquetPartEncoder implements PartEncoder {
  rows = 0;
  private readonly partnerIds: string[] = [];
  private readonly titleIds: string[] = [];
  private readonly titleNames: (string | null)[] = [];
  private readonly days: number[] = [];
  private readonly countries: string[] = [];
  private readonly views: bigint[] = [];
  private readonly hoursViewed: number[] = [];
  private readonly completionRates: number[] = [];

  add(row: CheckedRow): void {
    this.partnerIds.push(row.partnerId);
    this.titleIds.push(row.titleId);
    this.titleNames.push(row.titleName);
    this.days.push(row.epochDay);
    this.countries.push(row.country);
    this.views.push(BigInt(row.views));
    this.hoursViewed.push(row.hoursViewed);
    this.completionRates.push(row.completionRate);
    this.rows++;
  }

  finish(): Uint8Array {
    const data: Record<ColumnName, ColumnSource['data']> = {
      partner_id: this.partnerIds,
      title_id: this.titleIds,
      title_name: this.titleNames,
      day: this.days,
      country: this.countries,
      views: this.views,
      hours_viewed: this.hoursViewed,
      completion_rate: this.completionRates,
    };
    const writer = new ByteWriter();
    const pending = parquetWrite({
      writer,
      columnData: COLUMNS.map(({ name }): ColumnSource => ({ name, data: data[name] })),
      schema: [...PARQUET_SCHEMA],
      codec: 'SNAPPY',
      rowGroupSize: PARQUET_ROW_GROUP_SIZE,
      createdBy: PARQUET_CREATED_BY,
    });
    // A ByteWriter has no flush() to wait for, so the write is synchronous.
    if (pending) throw new Error('hyparquet-writer unexpectedly wrote to a ByteWriter asynchronously');
    return new Uint8Array(writer.getBuffer());
  }
}

// ---------------------------------------------------------------------------------------------
// CSV

const CSV_NEEDS_QUOTES = /[",\r\n]/;

const csvString = (value: string | null): string => {
  if (value === null) return '';
  return value === '' || CSV_NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
};

const CSV_HEADER = COLUMNS.map(({ name }) => name).join(',') + CSV_LINE_END;

class CsvPartEncoder implements PartEncoder {
  rows = 0;
  private readonly lines: string[] = [CSV_HEADER];

  add(row: CheckedRow): void {
    // Same order as TITLE_PERFORMANCE_COLUMNS.
    this.lines.push(
      [
        csvString(row.partnerId),
        csvString(row.titleId),
        csvString(row.titleName),
        row.day,
        row.country,
        String(row.views),
        String(row.hoursViewed),
        String(row.completionRate),
      ].join(',') + CSV_LINE_END,
    );
    this.rows++;
  }

  finish(): Uint8Array {
    return new TextEncoder().encode(this.lines.join(''));
  }
}
