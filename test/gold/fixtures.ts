import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';

import type { ProfileRecord } from '../../src/gold/contract/profiles.schema.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(REPO_ROOT, 'src/gold/cli/gold.cli.ts');

const countries = ['US', 'FR', 'DE', 'BR'] as const;
const languages = ['en', 'fr', 'de', 'pt-BR'] as const;

/** A valid profile record; `variant` changes its content (and so the derived snapshot id). */
export const profileRecord = (index: number, variant = 'v1'): ProfileRecord => ({
  profileId: `p${String(index).padStart(5, '0')}`,
  accountId: `a${Math.floor(index / 3)}`,
  country: countries[index % 4] ?? 'US',
  language: languages[index % 4] ?? 'en',
  kids: index % 7 === 0,
  maturityLevel: 1 + (index % 4),
  marketingConsent: index % 2 === 0,
  watched: [`t${index % 50}`, `t${(index + 1) % 50}`],
  continueWatching: [
    {
      titleId: `t${index % 50}`,
      positionSeconds: 60 + (index % 3000),
      durationSeconds: 7200,
      updatedAt: '2024-05-01T10:00:00.000Z',
    },
  ],
  recommendations: Array.from({ length: 5 }, (_, rank) => ({
    titleId: `t${(index + rank + 2) % 50}`,
    score: 1 - rank / 8,
    reason:
      rank === 0
        ? { kind: 'BECAUSE_YOU_WATCHED' as const, sourceTitleId: `t${index % 50}`, detail: null }
        : { kind: 'GENRE' as const, sourceTitleId: null, detail: 'Drama' },
  })),
  tasteGenres: ['Drama', 'Comedy'],
  segments: [`seg-${variant}`],
});

export const profileRecords = (count: number, variant = 'v1', from = 0): ProfileRecord[] =>
  Array.from({ length: count }, (_, offset) => profileRecord(from + offset, variant));

export const jsonLines = (records: readonly unknown[]): string =>
  records.map((record) => (typeof record === 'string' ? record : JSON.stringify(record))).join('\n') + '\n';

/** Writes JSON Lines; plain strings are written as they are (for corrupt lines). */
export const writeJsonl = async (file: string, records: readonly unknown[]): Promise<string> => {
  await writeFile(file, jsonLines(records));
  return file;
};

export const writeJsonlGz = async (file: string, records: readonly unknown[]): Promise<string> => {
  await writeFile(file, gzipSync(jsonLines(records)));
  return file;
};

const str = (name: string, optional = false): SchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  repetition_type: optional ? 'OPTIONAL' : 'REQUIRED',
});
const scalar = (name: string, type: 'BOOLEAN' | 'INT32' | 'INT64' | 'DOUBLE'): SchemaElement => ({
  name,
  type,
  repetition_type: 'REQUIRED',
});
/** A 3-level LIST as Spark writes it: `name (LIST) / list (repeated) / element`. */
const list = (name: string, element: SchemaElement[]): SchemaElement[] => [
  { name, repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  ...element,
];
const struct = (name: string, fields: SchemaElement[][]): SchemaElement[] => [
  { name, repetition_type: 'REQUIRED', num_children: fields.length },
  ...fields.flat(),
];

/** The Parquet schema of profiles with nested lists and structs, timestamps as TIMESTAMP_MILLIS. */
const profileSchema: SchemaElement[][] = [
  [str('profileId')],
  [str('accountId')],
  [str('country')],
  [str('language')],
  [scalar('kids', 'BOOLEAN')],
  [scalar('maturityLevel', 'INT32')],
  [scalar('marketingConsent', 'BOOLEAN')],
  list('watched', [str('element')]),
  list(
    'continueWatching',
    struct('element', [
      [str('titleId')],
      [scalar('positionSeconds', 'INT64')],
      [scalar('durationSeconds', 'INT32')],
      [{ name: 'updatedAt', type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type: 'REQUIRED' }],
    ]),
  ),
  list(
    'recommendations',
    struct('element', [
      [str('titleId')],
      [scalar('score', 'DOUBLE')],
      struct('reason', [[str('kind')], [str('sourceTitleId', true)], [str('detail', true)]]),
    ]),
  ),
  list('tasteGenres', [str('element')]),
  list('segments', [str('element')]),
];

/** Writes profiles as Parquet the way a pipeline does: nested lists/structs, INT64, timestamps. */
export const writeProfilesParquet = async (
  file: string,
  records: readonly ProfileRecord[],
  rowGroupSize = 64,
): Promise<string> => {
  const rows = records.map((record) => ({
    ...record,
    continueWatching: record.continueWatching.map((entry) => ({
      ...entry,
      positionSeconds: BigInt(entry.positionSeconds),
      updatedAt: new Date(entry.updatedAt),
    })),
  }));
  const names = profileSchema.map((column) => column[0]?.name ?? '');
  const buffer = parquetWriteBuffer({
    columnData: names.map((name) => ({ name, data: rows.map((row) => row[name as keyof typeof row]) })),
    schema: [{ name: 'root', num_children: names.length }, ...profileSchema.flat()],
    rowGroupSize,
  });
  await writeFile(file, new Uint8Array(buffer));
  return file;
};

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the real CLI (`node --import tsx src/gold/cli/gold.cli.ts`) as one child process. */
export const spawnCli = (args: readonly string[], env: Record<string, string>): ChildProcess =>
  spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

export const completion = (child: ChildProcess): Promise<CliRun> =>
  new Promise((resolvePromise, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });

export const runCli = (args: readonly string[], env: Record<string, string>): Promise<CliRun> =>
  completion(spawnCli(args, env));
