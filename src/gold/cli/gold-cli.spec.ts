import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { DatasetStatus } from '../publisher/gold-publisher.js';
import { parseCommand, runGoldCli, USAGE, UsageError } from './gold-cli.js';
import { formatAge, formatStatus } from './status-report.js';

let dir: string;
let a: string;
let b: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gold-cli-'));
  a = join(dir, 'a.jsonl');
  b = join(dir, 'b.parquet');
  await writeFile(a, '{}\n');
  await writeFile(b, 'PAR1');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const usageError = (argv: string[]): string => {
  try {
    parseCommand(argv);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
};

describe('parseCommand', () => {
  it('parses publish with several inputs after one --input (a shell glob) and its options', () => {
    expect(
      parseCommand([
        'publish',
        '--dataset',
        'profiles',
        '--input',
        a,
        b,
        '--max-bad',
        '5',
        '--concurrency=8',
        '--model-version',
        'm-1',
        '--snapshot-id',
        'manual-1',
      ]),
    ).toEqual({
      command: 'publish',
      dataset: 'profiles',
      inputs: [a, b],
      maxBad: 5,
      concurrency: 8,
      modelVersion: 'm-1',
      snapshotId: 'manual-1',
    });
    expect(parseCommand(['publish', '--input', a, '--dataset', 'catalog', '--input', b])).toMatchObject({
      inputs: [a, b],
      maxBad: 0,
      concurrency: 4,
      modelVersion: null,
      snapshotId: undefined,
    });
  });

  it('parses status, rollback and prune', () => {
    expect(parseCommand(['status', '--json'])).toEqual({ command: 'status', json: true });
    expect(parseCommand(['rollback', '--dataset', 'segments'])).toEqual({
      command: 'rollback',
      dataset: 'segments',
    });
    expect(parseCommand(['prune'])).toEqual({
      command: 'prune',
      dataset: undefined,
      graceHours: 24,
      concurrency: 4,
    });
    expect(parseCommand(['prune', '--dataset', 'popular', '--grace-hours', '1.5'])).toMatchObject({
      dataset: 'popular',
      graceHours: 1.5,
    });
    expect(parseCommand(['sample', '--out', 'x'])).toEqual({ command: 'sample', argv: ['--out', 'x'] });
  });

  it('names what is wrong with a bad command line', () => {
    expect(usageError([])).toBe('a command is required');
    expect(usageError(['publsh'])).toBe('unknown command "publsh"');
    expect(usageError(['publish', '--input', a])).toBe('publish: --dataset is required');
    expect(usageError(['publish', '--dataset', 'profiles'])).toBe('publish: --input is required');
    expect(usageError(['publish', '--dataset', 'users', '--input', a])).toMatch(
      /^publish: unknown dataset "users"/,
    );
    expect(usageError(['publish', '--dataset', 'profiles', '--input', join(dir, 'none.jsonl')])).toBe(
      `publish: input file not found: ${join(dir, 'none.jsonl')}`,
    );
    expect(usageError(['publish', '--dataset', 'profiles', '--input', join(dir, 'x.csv')])).toMatch(
      /unsupported input format/,
    );
    expect(usageError(['publish', 'stray', '--dataset', 'profiles', '--input', a])).toBe(
      'publish: unexpected argument "stray"',
    );
    expect(usageError(['publish', '--dataset', 'profiles', '--input', a, '--max-bad=-1'])).toBe(
      'publish: --max-bad must be an integer from 0 to 9007199254740991, got "-1"',
    );
    expect(usageError(['publish', '--dataset', 'profiles', '--input', a, '--max-bad', '-1'])).toBe(
      "publish: Option '--max-bad' argument is ambiguous.",
    );
    expect(usageError(['publish', '--dataset', 'profiles', '--input', a, '--concurrency', '0'])).toMatch(
      /--concurrency must be an integer from 1 to 64/,
    );
    expect(usageError(['publish', '--dataset', 'profiles', '--input', a, '--snapshot-id', 'a:b'])).toMatch(
      /--snapshot-id must be/,
    );
    expect(usageError(['status', '--verbose'])).toBe("status: Unknown option '--verbose'");
    expect(usageError(['rollback'])).toBe('rollback: --dataset is required');
  });
});

describe('runGoldCli', () => {
  const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    let stdout = '';
    let stderr = '';
    const code = await runGoldCli(argv, {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      env,
    });
    return { code, stdout, stderr };
  };

  it('prints a usage error as one line plus the usage, exit 2', async () => {
    const result = await run(['rollback', '--dataset', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `gold: rollback: unknown dataset "nope" (expected one of catalog, profiles, popular, segments, partner_metrics)\n\n${USAGE}\n`,
    );
  });

  it('prints the configuration problem and exits 2 when COSMOS_* variables are bad', async () => {
    const result = await run(['status'], {
      COSMOS_ENDPOINT: 'https://localhost:1/',
      COSMOS_MAX_RETRIES: 'many',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^gold: Invalid configuration:\n {2}- COSMOS_MAX_RETRIES: /);
  });

  it('prints the usage on help, exit 0', async () => {
    expect(await run(['--help'])).toEqual({ code: 0, stdout: `${USAGE}\n`, stderr: '' });
    expect((await run(['publish', '-h'])).stdout).toBe(`${USAGE}\n`);
  });
});

describe('status report', () => {
  it('formats ages for people', () => {
    expect(formatAge(42)).toBe('42s');
    expect(formatAge(12 * 60 + 5)).toBe('12m');
    expect(formatAge(3 * 3600 + 12 * 60 + 59)).toBe('3h 12m');
    expect(formatAge(2 * 86_400 + 4 * 3600 + 60)).toBe('2d 4h');
  });

  it('lists every dataset, never published ones too, with WRITING and PRUNING snapshots below', () => {
    const base = {
      published: false,
      activeSnapshotId: null,
      previousSnapshotId: null,
      completedAt: null,
      ageSeconds: null,
      documentCount: null,
      modelVersion: null,
      writing: [],
      pruning: [],
      snapshots: [],
    };
    const statuses: DatasetStatus[] = [
      { ...base, dataset: 'catalog' },
      {
        ...base,
        dataset: 'profiles',
        published: true,
        activeSnapshotId: 'g2',
        previousSnapshotId: 'g1',
        completedAt: '2024-05-01T10:00:00.000Z',
        ageSeconds: 3 * 3600 + 12 * 60,
        documentCount: 100000,
        modelVersion: 'recs-7',
        writing: [
          { snapshotId: 'g3', startedAt: '2024-05-01T13:00:00.000Z', ageSeconds: 720, documentCount: 5 },
        ],
        pruning: [{ snapshotId: 'g0', documentCount: 90000 }],
      },
    ];
    expect(formatStatus(statuses).split('\n')).toEqual([
      'DATASET   ACTIVE             PREVIOUS  COMPLETED AT              AGE     DOCUMENTS  MODEL',
      'catalog   (never published)  -         -                         -       -          -',
      'profiles  g2                 g1        2024-05-01T10:00:00.000Z  3h 12m  100000     recs-7',
      '  WRITING g3: started 2024-05-01T13:00:00.000Z (12m ago), 5 documents expected',
      '  PRUNING g0: being deleted, not readable (90000 documents); if no prune is running, finish it with `npm run gold -- prune`',
    ]);
  });
});
