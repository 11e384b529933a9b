import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import {
  asyncBufferFromFile,
  parquetMetadataAsync,
  parquetReadObjects,
  type ParquetParsers,
} from 'hyparquet';

/** One record of an input file, or the reason its line could not be parsed. */
export type RecordItem =
  | { file: string; line: number; value: unknown; parseError?: undefined }
  | { file: string; line: number; parseError: string; value?: undefined };

export type InputFormat = 'jsonl' | 'jsonl-gzip' | 'parquet';

/** An input file that cannot be read at all (missing, corrupt, unsupported format). */
export class InputFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${reason}`, options);
    this.name = 'InputFileError';
  }
}

/** The format of an input file by its name: JSON Lines (optionally gzipped) or Parquet. */
export const inputFormatOf = (file: string): InputFormat | undefined => {
  const name = file.toLowerCase();
  if (name.endsWith('.parquet')) return 'parquet';
  if (name.endsWith('.gz')) return 'jsonl-gzip';
  if (name.endsWith('.jsonl') || name.endsWith('.json') || name.endsWith('.ndjson')) return 'jsonl';
  return undefined;
};

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Streams the lines of a JSON Lines file (gzip-decompressed when asked), numbered from 1. Blank
 * lines are skipped but counted; a UTF-8 BOM and `\r` line endings are accepted.
 */
async function* readJsonLines(file: string, gzip: boolean): AsyncGenerator<RecordItem> {
  const source = createReadStream(file);
  let stream: Readable = source;
  if (gzip) {
    const gunzip = createGunzip();
    source.once('error', (error) => gunzip.destroy(error));
    stream = source.pipe(gunzip);
  }
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  let line = 0;

  const parse = (text: string): RecordItem | undefined => {
    line += 1;
    let content = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (line === 1 && content.charCodeAt(0) === 0xfeff) content = content.slice(1);
    if (content.trim() === '') return undefined;
    try {
      return { file, line, value: JSON.parse(content) as unknown };
    } catch (error) {
      return { file, line, parseError: `invalid JSON: ${describe(error)}` };
    }
  };

  try {
    for await (const chunk of stream) {
      const text = pending + decoder.decode(chunk as Buffer, { stream: true });
      const lines = text.split('\n');
      pending = lines.pop() ?? '';
      for (const content of lines) {
        const item = parse(content);
        if (item !== undefined) yield item;
      }
    }
  } catch (error) {
    throw new InputFileError(file, `cannot read after line ${line}: ${describe(error)}`, { cause: error });
  } finally {
    stream.destroy();
    source.destroy();
  }
  const rest = pending + decoder.decode();
  if (rest !== '') {
    const item = parse(rest);
    if (item !== undefined) yield item;
  }
}

const MS_PER_DAY = 86_400_000;

/** Dates and timestamps as the JSON pipelines write them: `YYYY-MM-DD` and ISO 8601 strings. */
const parquetParsers: Partial<ParquetParsers> = {
  dateFromDays: (days: number) => new Date(days * MS_PER_DAY).toISOString().slice(0, 10),
  timestampFromMilliseconds: (millis: bigint) => new Date(Number(millis)).toISOString(),
  timestampFromMicroseconds: (micros: bigint) => new Date(Number(micros / 1000n)).toISOString(),
  timestampFromNanoseconds: (nanos: bigint) => new Date(Number(nanos / 1_000_000n)).toISOString(),
};

/** Parquet values as plain JSON values: INT64 as numbers, typed arrays as arrays, undefined as null. */
export const normalizeParquetValue = (value: unknown): unknown => {
  if (value === undefined) return null;
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(normalizeParquetValue);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<unknown>, normalizeParquetValue);
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, normalizeParquetValue(item)]));
  }
  return value;
};

/** Streams the rows of a Parquet file one row group at a time; `line` is the 1-based row number. */
async function* readParquetRows(file: string): AsyncGenerator<RecordItem> {
  let buffer;
  let metadata;
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    throw new InputFileError(file, `not a readable Parquet file: ${describe(error)}`, { cause: error });
  }
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd, parsers: parquetParsers });
    } catch (error) {
      throw new InputFileError(file, `cannot read rows ${rowStart + 1}-${rowEnd}: ${describe(error)}`, {
        cause: error,
      });
    }
    for (const [index, row] of rows.entries()) {
      yield { file, line: rowStart + index + 1, value: normalizeParquetValue(row) };
    }
    rowStart = rowEnd;
  }
}

/** Streams the records of one input file; throws {@link InputFileError} if the file cannot be read. */
export async function* readRecords(file: string): AsyncGenerator<RecordItem> {
  const format = inputFormatOf(file);
  if (format === undefined) {
    throw new InputFileError(
      file,
      'unsupported input format (use .jsonl, .json, .jsonl.gz, .gz or .parquet)',
    );
  }
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new InputFileError(file, 'not a file');
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw new InputFileError(
      file,
      `cannot open (${(error as NodeJS.ErrnoException).code ?? describe(error)})`,
      {
        cause: error,
      },
    );
  }
  switch (format) {
    case 'jsonl':
      yield* readJsonLines(file, false);
      return;
    case 'jsonl-gzip':
      yield* readJsonLines(file, true);
      return;
    case 'parquet':
      yield* readParquetRows(file);
      return;
  }
}

/** The records of several files, one file after another. */
export async function* readAllRecords(files: readonly string[]): AsyncGenerator<RecordItem> {
  for (const file of files) yield* readRecords(file);
}
