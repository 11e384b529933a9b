import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import {
  buildSampleGold,
  DEFAULT_SAMPLE_PROFILES,
  DEFAULT_SAMPLE_SEED,
  MAX_SAMPLE_PROFILES,
  type SampleGoldReport,
  SampleGoldOptionsError,
} from './sample-gold.builder.js';
import { parseIsoDate } from './sample-dates.js';

export const DEFAULT_SAMPLE_CSV = 'data/netflix_titles.csv';

export const SAMPLE_USAGE = `Usage: gold sample --out DIR [--csv FILE] [--profiles N] [--seed N] [--as-of YYYY-MM-DD]

Builds a deterministic sample gold layer from the Netflix catalogue CSV: catalog, profiles, popular,
segments and partner_metrics as gzipped JSON Lines, plus accounts.json for the demo token tool.

  --out DIR             output directory (required)
  --csv FILE            catalogue CSV (default ${DEFAULT_SAMPLE_CSV})
  --profiles N          number of profiles, 1-${MAX_SAMPLE_PROFILES} (default ${DEFAULT_SAMPLE_PROFILES})
  --seed N              random seed, an integer (default ${DEFAULT_SAMPLE_SEED})
  --as-of YYYY-MM-DD    the day the gold describes (default today, UTC)
  -h, --help            show this help

Same CSV, seed, as-of day and profile count give byte-identical files.`;

export interface SampleCommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: SampleCommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

const parseInteger = (name: string, text: string, min: number, max: number): number => {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`--${name} must be an integer, got "${text}"`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be from ${min} to ${max}, got ${text}`);
  }
  return value;
};

const formatBytes = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} kB`;

/** The human summary printed after a build. */
export const formatSampleReport = (report: SampleGoldReport): string => {
  const lines = [
    `sample gold written to ${report.outDir} in ${(report.elapsedMs / 1000).toFixed(1)} s ` +
      `(seed ${report.seed}, as of ${report.asOf}, ${report.counts.profiles} profiles)`,
  ];
  for (const file of report.files) {
    lines.push(
      `  ${file.file.padEnd(26)} ${String(file.records).padStart(9)} records  ${formatBytes(file.bytes).padStart(9)}`,
    );
  }
  lines.push(
    `  titles: ${report.titles.used} of ${report.titles.rows} CSV rows used; ` +
      `${report.repairs.length} repaired, ${report.rejected.length} rejected`,
  );
  lines.push(
    `  segments: ${report.segments.map((segment) => `${segment.segmentId} ${segment.size} (${segment.reachableSize} reachable)`).join(', ')}`,
  );
  for (const repair of report.repairs)
    lines.push(`${report.csvPath}:${repair.line}: repaired ${repair.field}: ${repair.note}`);
  for (const row of report.rejected) lines.push(`${report.csvPath}:${row.line}: ${row.reason}`);
  return `${lines.join('\n')}\n`;
};

/**
 * `gold sample …`: builds the sample gold and prints a short summary (every rejected CSV row as
 * `FILE:LINE: reason`). Returns the exit code: 0 done, 1 build failed, 2 bad options.
 */
export const runSampleCommand = async (argv: string[], io: SampleCommandIo = processIo): Promise<number> => {
  let options: Parameters<typeof buildSampleGold>[0];
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        csv: { type: 'string', default: DEFAULT_SAMPLE_CSV },
        out: { type: 'string' },
        profiles: { type: 'string' },
        seed: { type: 'string' },
        'as-of': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout(`${SAMPLE_USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.out === undefined || values.out.trim() === '') throw new UsageError('--out is required');
    if (values.csv.trim() === '') throw new UsageError('--csv must not be empty');
    const asOf = values['as-of'];
    if (asOf !== undefined && parseIsoDate(asOf) === null) {
      throw new UsageError(`--as-of must be a date as YYYY-MM-DD, got "${asOf}"`);
    }
    options = {
      csvPath: values.csv,
      outDir: values.out,
      profiles:
        values.profiles === undefined
          ? undefined
          : parseInteger('profiles', values.profiles, 1, MAX_SAMPLE_PROFILES),
      seed:
        values.seed === undefined
          ? undefined
          : parseInteger('seed', values.seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
      asOf,
    };
  } catch (error) {
    const message =
      error instanceof UsageError
        ? error.message
        : error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')
          ? error.message
          : undefined;
    if (message === undefined) throw error;
    io.stderr(`gold sample: ${message}\n\n${SAMPLE_USAGE}\n`);
    return EXIT_USAGE;
  }

  try {
    const report = await buildSampleGold(options);
    io.stdout(formatSampleReport(report));
    return EXIT_OK;
  } catch (error) {
    if (error instanceof SampleGoldOptionsError) {
      io.stderr(`gold sample: ${error.message}\n\n${SAMPLE_USAGE}\n`);
      return EXIT_USAGE;
    }
    const code = error instanceof Error && 'code' in error ? String(error.code) : '';
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR') {
      io.stderr(`gold sample: ${(error as Error).message}\n`);
      return EXIT_FAILED;
    }
    io.stderr(
      `gold sample: build failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT_FAILED;
  }
};

const isMain = (): boolean => {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};

if (isMain()) {
  process.exitCode = await runSampleCommand(process.argv.slice(2));
}
