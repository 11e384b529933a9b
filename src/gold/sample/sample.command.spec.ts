import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runSampleCommand, SAMPLE_USAGE } from './sample.command.js';

const REAL_CSV = fileURLToPath(new URL('../../../data/netflix_titles.csv', import.meta.url));

let workDir: string;
let smallCsv: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'sample-command-'));
  // The header and the first 80 real rows (one line each), then two unusable rows on lines 82 and 83.
  const lines = (await readFile(REAL_CSV, 'utf8')).split('\r\n').slice(0, 81);
  lines.push('s9001,Podcast,Some Talk,,,,1-Jan-21,2021,TV-MA,30 min,Docuseries,x');
  lines.push('s9002,Movie,No Duration,,,,1-Jan-21,2021,TV-MA,,Dramas,x');
  smallCsv = join(workDir, 'small.csv');
  await writeFile(smallCsv, `${lines.join('\r\n')}\r\n`);
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const run = async (argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  let stdout = '';
  let stderr = '';
  const code = await runSampleCommand(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
};

describe('runSampleCommand', () => {
  it('prints the usage for --help', async () => {
    const result = await run(['--help']);
    expect(result).toEqual({ code: 0, stdout: `${SAMPLE_USAGE}\n`, stderr: '' });
  });

  it.each([
    [[], /--out is required/],
    [['--out', 'x', '--bogus'], /Unknown option '--bogus'/],
    [['--out', 'x', '--profiles', 'many'], /--profiles must be an integer/],
    [['--out', 'x', '--profiles', '0'], /--profiles must be from 1/],
    [['--out', 'x', '--seed', '1.5'], /--seed must be an integer/],
    [['--out', 'x', '--as-of', '2021-02-30'], /--as-of must be a date/],
    [['--out', 'x', '--as-of', '01/10/2021'], /--as-of must be a date/],
    [['--out', 'x', 'extra'], /unexpected argument "extra"/],
    [['--out'], /argument missing/],
  ])('exits 2 with a message for bad options %j', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: gold sample');
  });

  it('exits 1 when the CSV cannot be read', async () => {
    const result = await run(['--csv', join(workDir, 'missing.csv'), '--out', join(workDir, 'never')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ENOENT/);
  });

  it('builds the gold and prints counts and every rejected row as FILE:LINE: reason', async () => {
    const out = join(workDir, 'out');
    const result = await run([
      '--csv',
      smallCsv,
      '--out',
      out,
      '--profiles',
      '25',
      '--seed',
      '9',
      '--as-of',
      '2021-10-01',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/seed 9, as of 2021-10-01, 25 profiles/);
    expect(result.stdout).toMatch(/catalog\.jsonl\.gz\s+80 records/);
    expect(result.stdout).toMatch(/profiles\.jsonl\.gz\s+25 records/);
    expect(result.stdout).toContain('titles: 80 of 82 CSV rows used; 1 repaired, 2 rejected');
    expect(result.stdout).toContain(`${smallCsv}:3: repaired director: dropped numeric value(s) "104"`);
    expect(result.stdout).toContain(`${smallCsv}:82: unknown type "Podcast"\n`);
    expect(result.stdout).toContain(`${smallCsv}:83: missing duration\n`);
    expect((await readdir(out)).sort()).toEqual([
      'accounts.json',
      'catalog.jsonl.gz',
      'partner_metrics.jsonl.gz',
      'popular.jsonl.gz',
      'profiles.jsonl.gz',
      'segments.jsonl.gz',
    ]);
    const profiles = gunzipSync(await readFile(join(out, 'profiles.jsonl.gz')))
      .toString()
      .trim()
      .split('\n');
    expect(profiles).toHaveLength(25);
  });
});
