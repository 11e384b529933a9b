import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  InputFileError,
  inputFormatOf,
  readAllRecords,
  readRecords,
  type RecordItem,
} from './record-reader.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gold-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const collect = async (items: AsyncIterable<RecordItem>): Promise<RecordItem[]> => {
  const all: RecordItem[] = [];
  for await (const item of items) all.push(item);
  return all;
};

const file = async (name: string, content: string | Uint8Array): Promise<string> => {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
};

describe('inputFormatOf', () => {
  it('knows JSON Lines, gzip and Parquet by name', () => {
    expect(inputFormatOf('a.jsonl')).toBe('jsonl');
    expect(inputFormatOf('a.json')).toBe('jsonl');
    expect(inputFormatOf('A.JSONL.GZ')).toBe('jsonl-gzip');
    expect(inputFormatOf('part-0001.gz')).toBe('jsonl-gzip');
    expect(inputFormatOf('part-0001.parquet')).toBe('parquet');
    expect(inputFormatOf('a.csv')).toBeUndefined();
  });
});

describe('readRecords (JSON Lines)', () => {
  const content = [
    '\uFEFF{"a":1}', // BOM on the first line
    '',
    '{"a":2}\r', // CRLF
    '   ',
    '{"a": 3, "nested": {"b": [1, 2]}}',
    '{"a": 4', // truncated
    'not json',
    '[1,2]', // valid JSON, not an object: the schema judges it
    '{"a":5}', // no trailing newline
  ].join('\n');

  const expected: RecordItem[] = [
    { file: '', line: 1, value: { a: 1 } },
    { file: '', line: 3, value: { a: 2 } },
    { file: '', line: 5, value: { a: 3, nested: { b: [1, 2] } } },
    { file: '', line: 6, parseError: expect.stringMatching(/^invalid JSON: /) as unknown as string },
    { file: '', line: 7, parseError: expect.stringMatching(/^invalid JSON: /) as unknown as string },
    { file: '', line: 8, value: [1, 2] },
    { file: '', line: 9, value: { a: 5 } },
  ];

  it('yields every non-blank line with its 1-based line number, invalid JSON as a parse error', async () => {
    const path = await file('plain.jsonl', content);
    const items = await collect(readRecords(path));
    expect(items).toEqual(expected.map((item) => ({ ...item, file: path })));
  });

  it('reads gzipped JSON Lines the same way', async () => {
    const path = await file('plain.jsonl.gz', gzipSync(content));
    const items = await collect(readRecords(path));
    expect(items).toEqual(expected.map((item) => ({ ...item, file: path })));
  });

  it('keeps line numbers right across stream chunks (long lines, many lines)', async () => {
    const long = 'x'.repeat(200_000);
    const lines = Array.from({ length: 3000 }, (_, index) =>
      index % 1000 === 7 ? JSON.stringify({ index, long }) : JSON.stringify({ index }),
    );
    const path = await file('many.jsonl.gz', gzipSync(lines.join('\n')));
    const items = await collect(readRecords(path));
    expect(items).toHaveLength(3000);
    items.forEach((item, index) => {
      expect(item.line).toBe(index + 1);
      expect((item.value as { index: number }).index).toBe(index);
    });
  });

  it('streams several files one after another, each numbered from 1', async () => {
    const first = await file('first.jsonl', '{"n":1}\n{"n":2}\n');
    const second = await file('second.json', '{"n":3}\n');
    const items = await collect(readAllRecords([first, second]));
    expect(items.map((item) => `${item.file}:${item.line}`)).toEqual([
      `${first}:1`,
      `${first}:2`,
      `${second}:1`,
    ]);
  });

  it('fails with InputFileError on a corrupt gzip file, a missing file and an unknown format', async () => {
    const corrupt = await file(
      'corrupt.jsonl.gz',
      Buffer.concat([gzipSync('{"a":1}\n'.repeat(1000)).subarray(0, 40)]),
    );
    await expect(collect(readRecords(corrupt))).rejects.toThrow(InputFileError);
    await expect(collect(readRecords(join(dir, 'missing.jsonl')))).rejects.toThrow(
      /missing\.jsonl: cannot open \(ENOENT\)/,
    );
    await expect(collect(readRecords(await file('data.csv', 'a,b')))).rejects.toThrow(
      /unsupported input format/,
    );
  });
});

describe('readRecords (Parquet)', () => {
  // partner_metrics as a pipeline writes it: DATE day, list<struct> with INT64 views.
  const schema: SchemaElement[] = [
    { name: 'root', num_children: 4 },
    { name: 'partnerId', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'titleId', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    { name: 'day', type: 'INT32', converted_type: 'DATE', repetition_type: 'REQUIRED' },
    { name: 'byCountry', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'REQUIRED', num_children: 4 },
    { name: 'country', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'views', type: 'INT64', repetition_type: 'REQUIRED' },
    { name: 'hoursViewed', type: 'DOUBLE', repetition_type: 'REQUIRED' },
    { name: 'completionRate', type: 'DOUBLE', repetition_type: 'REQUIRED' },
  ];
  const rows = Array.from({ length: 7 }, (_, index) => ({
    partnerId: `partner-${index % 2}`,
    titleId: index === 3 ? null : `t${index}`,
    day: new Date(Date.UTC(2024, 4, 1 + index)),
    byCountry:
      index === 5
        ? null
        : Array.from({ length: index % 3 }, (_, k) => ({
            country: ['US', 'FR'][k] ?? 'US',
            views: BigInt(1000 * index + k),
            hoursViewed: index + k / 2,
            completionRate: 0.25 * k,
          })),
  }));

  it('yields rows as plain objects (nested lists/structs, dates as YYYY-MM-DD, INT64 as numbers), numbered across row groups', async () => {
    const names = ['partnerId', 'titleId', 'day', 'byCountry'] as const;
    const buffer = parquetWriteBuffer({
      columnData: names.map((name) => ({ name, data: rows.map((row) => row[name]) })),
      schema,
      rowGroupSize: 3,
    });
    const path = await file('metrics.parquet', new Uint8Array(buffer));
    const items = await collect(readRecords(path));
    expect(items.map((item) => item.line)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(items[1]?.value).toEqual({
      partnerId: 'partner-1',
      titleId: 't1',
      day: '2024-05-02',
      byCountry: [{ country: 'US', views: 1000, hoursViewed: 1, completionRate: 0 }],
    });
    expect(items[3]?.value).toMatchObject({ titleId: null, day: '2024-05-04' });
    expect(items[2]?.value).toMatchObject({
      byCountry: [
        { country: 'US', views: 2000, hoursViewed: 2, completionRate: 0 },
        { country: 'FR', views: 2001, hoursViewed: 2.5, completionRate: 0.25 },
      ],
    });
    expect(items[6]?.value).toMatchObject({ day: '2024-05-07', byCountry: [] });
    expect(items[5]?.value).toMatchObject({ byCountry: null });
  });

  it('fails with InputFileError on a file that is not Parquet', async () => {
    const path = await file('fake.parquet', 'PAR1 this is not parquet');
    await expect(collect(readRecords(path))).rejects.toThrow(/fake\.parquet: not a readable Parquet file/);
  });
});
