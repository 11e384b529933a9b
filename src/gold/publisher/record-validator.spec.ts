import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { deviceClasses } from '../contract/common.schema.js';
import { goldDataset } from '../contract/gold-datasets.js';
import type { PopularRecord } from '../contract/popular.schema.js';
import { readRecords, type RecordItem } from './record-reader.js';
import {
  formatIssuePath,
  SnapshotDigest,
  validRecords,
  type BadRecord,
  type ValidRecord,
} from './record-validator.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gold-validator-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function* itemsOf(values: readonly unknown[], file = 'in.jsonl'): AsyncGenerator<RecordItem> {
  await Promise.resolve();
  for (const [index, value] of values.entries()) {
    yield typeof value === 'string' && value.startsWith('!')
      ? { file, line: index + 1, parseError: value.slice(1) }
      : { file, line: index + 1, value };
  }
}

const validate = async (
  dataset: Parameters<typeof goldDataset>[0],
  items: AsyncIterable<RecordItem>,
  skip?: ReadonlySet<string>,
): Promise<{ valid: ValidRecord[]; bad: BadRecord[] }> => {
  const valid: ValidRecord[] = [];
  const bad: BadRecord[] = [];
  for await (const record of validRecords(
    goldDataset(dataset),
    items,
    (problem) => bad.push(problem),
    skip,
  )) {
    valid.push(record);
  }
  return { valid, bad };
};

const profile = (profileId: string, score: unknown = 0.5) => ({
  profileId,
  accountId: 'a1',
  country: 'US',
  language: 'en',
  kids: false,
  maturityLevel: 4,
  marketingConsent: true,
  watched: [],
  continueWatching: [],
  recommendations: [0, 1, 2, 3].map((rank) => ({
    titleId: `t${rank}`,
    score: rank === 3 ? score : 1,
    reason: { kind: 'POPULAR', sourceTitleId: null, detail: null },
  })),
  tasteGenres: [],
  segments: [],
});

describe('formatIssuePath', () => {
  it('writes paths as they read in code', () => {
    expect(formatIssuePath(['recommendations', 3, 'score'])).toBe('recommendations[3].score');
    expect(formatIssuePath([0])).toBe('[0]');
    expect(formatIssuePath(['artwork', 'SMALL', 'url'])).toBe('artwork.SMALL.url');
    expect(formatIssuePath(['odd key'])).toBe('["odd key"]');
    expect(formatIssuePath([])).toBe('');
  });
});

describe('validRecords', () => {
  it('reports schema failures as path: message and passes the valid records through', async () => {
    const { valid, bad } = await validate(
      'profiles',
      itemsOf([
        profile('p1'),
        profile('p2', 'high'),
        '!invalid JSON: Unexpected end',
        { ...profile('p4'), extra: 1 },
      ]),
    );
    expect(valid.map((record) => record.key)).toEqual(['p1']);
    expect(bad).toEqual([
      { file: 'in.jsonl', line: 2, reason: 'recommendations[3].score: expected number, received string' },
      { file: 'in.jsonl', line: 3, reason: 'invalid JSON: Unexpected end' },
      { file: 'in.jsonl', line: 4, reason: 'Unrecognized key: "extra"' },
    ]);
  });

  it('names missing fields and caps the issues of one record', async () => {
    const { bad } = await validate('profiles', itemsOf([{ profileId: 'p1' }]));
    expect(bad[0]?.reason).toBe(
      'accountId: required (expected string); country: required (expected string); language: required (expected string); and 8 more issues',
    );
  });

  it('reports a duplicate key with where it was first seen; keys are per partition', async () => {
    const metric = (partnerId: string) => ({ partnerId, titleId: 't1', day: '2024-05-01', byCountry: [] });
    const { valid, bad } = await validate(
      'partner_metrics',
      itemsOf([metric('partner-a'), metric('partner-b'), metric('partner-a')], 'metrics.jsonl'),
    );
    expect(valid).toHaveLength(2);
    expect(bad).toEqual([
      {
        file: 'metrics.jsonl',
        line: 3,
        reason: 'duplicate key t1:2024-05-01 in partition partner-a (first seen at metrics.jsonl:1)',
      },
    ]);
    const profiles = await validate('profiles', itemsOf([profile('p1'), profile('p2'), profile('p1')]));
    expect(profiles.bad.map((problem) => problem.reason)).toEqual([
      'duplicate key p1 (first seen at in.jsonl:1)',
    ]);
  });

  it('passes over skipped locations silently', async () => {
    const { valid, bad } = await validate(
      'profiles',
      itemsOf([profile('p1'), profile('p2', 'x'), profile('p1')]),
      new Set(['in.jsonl:2', 'in.jsonl:3']),
    );
    expect(valid.map((record) => record.line)).toEqual([1]);
    expect(bad).toEqual([]);
  });
});

describe('SnapshotDigest', () => {
  it('derives the same snapshot id from the same records, another from other records or datasets', () => {
    const id = (dataset: string, records: unknown[]) => {
      const digest = new SnapshotDigest(dataset);
      records.forEach((record) => digest.add(record));
      return digest.finish().snapshotId;
    };
    expect(id('profiles', [{ a: 1 }, { a: 2 }])).toBe(id('profiles', [{ a: 1 }, { a: 2 }]));
    expect(id('profiles', [{ a: 1 }, { a: 2 }])).toMatch(/^g[0-9a-f]{16}$/);
    expect(id('profiles', [{ a: 1 }, { a: 2 }])).not.toBe(id('profiles', [{ a: 1 }, { a: 3 }]));
    expect(id('profiles', [{ a: 1 }])).not.toBe(id('popular', [{ a: 1 }]));
  });
});

// ---------------------------------------------------------------------------------------------
// Property: valid records with corrupted ones at random positions (and blank lines anywhere):
// exactly the corrupted lines are reported, with their line numbers and a fitting reason.

const corruptions = ['json', 'type', 'extra', 'enum', 'empty', 'notObject', 'duplicate'] as const;
type Corruption = (typeof corruptions)[number];

const expectedReason: Record<Corruption, RegExp> = {
  json: /^invalid JSON: /,
  type: /^titleIds: expected array, received number$/,
  extra: /^Unrecognized key: "rank"$/,
  enum: /^device: expected one of /,
  empty: /^titleIds: Too small/,
  notObject: /^expected object, received (array|string|number)$/,
  duplicate: /^duplicate key [A-Z]{2}:[A-Z]+ \(first seen at .+:\d+\)$/,
};

const titleIdArb = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/);

/** The i-th valid popular record: unique (country, device) per index. */
const popularRecord = (index: number, titleIds: string[]): PopularRecord => ({
  country: String.fromCharCode(65 + (Math.floor(index / 26) % 26), 65 + (index % 26)),
  device: deviceClasses[Math.floor(index / 676) % 4] ?? 'TV',
  titleIds,
});

const scenarioArb = fc.tuple(
  fc.array(
    fc.record({
      titleIds: fc.array(titleIdArb, { minLength: 1, maxLength: 4 }),
      corruption: fc.option(fc.constantFrom(...corruptions), { freq: 3 }),
      blankLinesBefore: fc.oneof(
        { weight: 4, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) },
      ),
    }),
    { minLength: 1, maxLength: 60 },
  ),
  fc.boolean(),
);

describe('validation of corrupted input (property)', () => {
  it('reports exactly the corrupted lines, with their line numbers', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ([entries, gzip]) => {
        const lines: string[] = [];
        const corrupted = new Map<number, Corruption>();
        const validLines: number[] = [];
        let firstValid: { record: PopularRecord; line: number } | undefined;
        entries.forEach((entry, index) => {
          for (let blank = 0; blank < entry.blankLinesBefore; blank += 1) lines.push('');
          const record = popularRecord(index, entry.titleIds);
          let corruption = entry.corruption;
          if (corruption === 'duplicate' && firstValid === undefined) corruption = 'type';
          const line = lines.length + 1;
          switch (corruption) {
            case null:
              lines.push(JSON.stringify(record));
              validLines.push(line);
              firstValid ??= { record, line };
              return;
            case 'json':
              lines.push(JSON.stringify(record).slice(0, -1));
              break;
            case 'type':
              lines.push(JSON.stringify({ ...record, titleIds: 42 }));
              break;
            case 'extra':
              lines.push(JSON.stringify({ ...record, rank: 1 }));
              break;
            case 'enum':
              lines.push(JSON.stringify({ ...record, device: 'FRIDGE' }));
              break;
            case 'empty':
              lines.push(JSON.stringify({ ...record, titleIds: [] }));
              break;
            case 'notObject':
              lines.push(JSON.stringify(index % 3 === 0 ? [record] : index % 3 === 1 ? 'record' : 42));
              break;
            case 'duplicate':
              lines.push(
                JSON.stringify({ ...(firstValid as { record: PopularRecord }).record, titleIds: ['x'] }),
              );
              break;
          }
          corrupted.set(line, corruption);
        });

        run += 1;
        const path = join(dir, `property-${run}.jsonl${gzip ? '.gz' : ''}`);
        const text = lines.join('\n') + '\n';
        await writeFile(path, gzip ? gzipSync(text) : text);
        const { valid, bad } = await validate('popular', readRecords(path));

        expect(bad.map((problem) => problem.line)).toEqual([...corrupted.keys()]);
        for (const problem of bad) {
          expect(problem.file).toBe(path);
          expect(problem.reason).toMatch(expectedReason[corrupted.get(problem.line) as Corruption]);
        }
        expect(valid.map((record) => record.line)).toEqual(validLines);
      }),
      { numRuns: 60 },
    );
  });
});
