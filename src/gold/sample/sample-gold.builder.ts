import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { finished } from 'node:stream/promises';

import { goldDatasets, type GoldDatasetName } from '../contract/gold-datasets.js';
import type { SegmentDefinitionRecord, SegmentMemberRecord } from '../contract/segments.schema.js';
import { CatalogIndex } from './catalog-index.js';
import { JsonlGzipWriter } from './jsonl-gzip-writer.js';
import { parseNetflixCsv, type RejectedRow, type RepairedRow } from './netflix-csv.js';
import { buildSampleCatalog } from './sample-catalog.js';
import { isoMidnightOf, parseIsoDate, todayUtc } from './sample-dates.js';
import { SAMPLE_COUNTRIES, SAMPLE_MARKETS } from './sample-markets.js';
import { partnerMetrics } from './sample-partner-metrics.js';
import { buildPopular } from './sample-popular.js';
import { ProfileGenerator, accountIdOf, profileIdOf } from './sample-profiles.js';
import { SAMPLE_SEGMENTS } from './sample-segments.js';

export const DEFAULT_SAMPLE_PROFILES = 10_000;
export const DEFAULT_SAMPLE_SEED = 42;
export const MAX_SAMPLE_PROFILES = 2_000_000;

export interface SampleGoldOptions {
  /** The Netflix catalogue CSV (data/netflix_titles.csv). */
  csvPath: string;
  /** Directory to write into; created when missing, existing files of the same names are replaced. */
  outDir: string;
  /** Number of profiles (default 10,000). */
  profiles?: number;
  /** PRNG seed (default 42); any safe integer. */
  seed?: number;
  /** The day the gold describes, `YYYY-MM-DD` (default: today, UTC). */
  asOf?: string;
  /**
   * Check records against their zod schemas while writing: `all`; `sample` (default): every catalogue,
   * popular and segment-definition record plus the first 100 and every 50th of the generated
   * profiles, segment members and partner metrics (full validation costs ~2 s per 10k profiles);
   * `none`.
   */
  validate?: SampleValidation;
}

/** Files written, one per gold dataset (name = `${dataset}.jsonl.gz`) plus `accounts.json`. */
export const SAMPLE_GOLD_FILES = {
  catalog: 'catalog.jsonl.gz',
  profiles: 'profiles.jsonl.gz',
  popular: 'popular.jsonl.gz',
  segments: 'segments.jsonl.gz',
  partner_metrics: 'partner_metrics.jsonl.gz',
} as const satisfies Record<GoldDatasetName, string>;
export const ACCOUNTS_FILE = 'accounts.json';

/** One entry of accounts.json, for the demo's token tool. */
export interface SampleAccount {
  accountId: string;
  country: string;
  profileIds: string[];
  /** The account's kids profiles (a subset of profileIds). */
  kidsProfileIds: string[];
}

export interface SampleGoldReport {
  csvPath: string;
  outDir: string;
  seed: number;
  asOf: string;
  /** Records per dataset file. */
  counts: Record<GoldDatasetName, number>;
  accounts: number;
  files: { file: string; records: number; bytes: number }[];
  segments: { segmentId: string; size: number; reachableSize: number }[];
  partners: { partnerId: string; name: string; titles: number }[];
  titles: { rows: number; used: number };
  /** CSV rows that could not be used, with their physical line (header = 1). */
  rejected: RejectedRow[];
  /** CSV rows used after repairing a field. */
  repairs: RepairedRow[];
  elapsedMs: number;
}

export type SampleValidation = 'all' | 'sample' | 'none';
const VALIDATION_MODES: readonly SampleValidation[] = ['all', 'sample', 'none'];

export class SampleGoldOptionsError extends Error {
  override readonly name = 'SampleGoldOptionsError';
}

interface ResolvedOptions {
  csvPath: string;
  outDir: string;
  profiles: number;
  seed: number;
  asOf: string;
  asOfDay: number;
  validate: SampleValidation;
}

const resolveOptions = (options: SampleGoldOptions): ResolvedOptions => {
  const profiles = options.profiles ?? DEFAULT_SAMPLE_PROFILES;
  if (!Number.isInteger(profiles) || profiles < 1 || profiles > MAX_SAMPLE_PROFILES) {
    throw new SampleGoldOptionsError(
      `profiles must be an integer from 1 to ${MAX_SAMPLE_PROFILES}, got ${profiles}`,
    );
  }
  const seed = options.seed ?? DEFAULT_SAMPLE_SEED;
  if (!Number.isSafeInteger(seed))
    throw new SampleGoldOptionsError(`seed must be a safe integer, got ${seed}`);
  const asOf = options.asOf ?? todayUtc();
  const asOfDay = parseIsoDate(asOf);
  if (asOfDay === null) throw new SampleGoldOptionsError(`asOf must be a date as YYYY-MM-DD, got "${asOf}"`);
  if (options.csvPath === '') throw new SampleGoldOptionsError('csvPath is required');
  if (options.outDir === '') throw new SampleGoldOptionsError('outDir is required');
  const validate = options.validate ?? 'sample';
  if (!VALIDATION_MODES.includes(validate)) {
    throw new SampleGoldOptionsError(
      `validate must be one of ${VALIDATION_MODES.join(', ')}, got "${validate}"`,
    );
  }
  return { ...options, profiles, seed, asOf, asOfDay, validate };
};

type Validator = (record: unknown) => void;

/**
 * A validator for one dataset. `generated` datasets (many records made by code from validated
 * inputs) are only spot-checked in `sample` mode.
 */
const validatorFor = (dataset: GoldDatasetName, mode: SampleValidation, generated: boolean): Validator => {
  if (mode === 'none') return () => undefined;
  const schema = goldDatasets[dataset].schema;
  const everyRecord = mode === 'all' || !generated;
  let seen = 0;
  return (record) => {
    const position = seen++;
    if (!everyRecord && position >= 100 && position % 50 !== 0) return;
    const result = schema.safeParse(record);
    if (!result.success) {
      const key = goldDatasets[dataset].keyOf(record as never);
      throw new Error(
        `sample ${dataset} record ${key} does not match the gold contract: ${result.error.message}`,
      );
    }
  };
};

/** Plain text writer with back-pressure (accounts.json). */
class TextWriter {
  private readonly stream: WriteStream;
  private failure: Error | undefined = undefined;

  constructor(path: string) {
    this.stream = createWriteStream(path);
    this.stream.on('error', (error) => {
      this.failure = error;
    });
  }

  async write(text: string): Promise<void> {
    this.throwIfFailed();
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    this.throwIfFailed();
    this.stream.end();
    await finished(this.stream);
  }

  async abort(): Promise<void> {
    this.stream.destroy();
    await finished(this.stream).catch(() => undefined);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

/**
 * Builds a complete, deterministic sample gold layer from the Netflix catalogue CSV: the same CSV,
 * seed, asOf and profile count always give byte-identical files. Streams every dataset, so memory
 * stays small even for 100k+ profiles.
 */
export const buildSampleGold = async (options: SampleGoldOptions): Promise<SampleGoldReport> => {
  const started = performance.now();
  const opts = resolveOptions(options);
  const parsed = parseNetflixCsv(await readFile(opts.csvPath));
  if (parsed.titles.length === 0) throw new Error(`${opts.csvPath} has no usable titles`);
  await mkdir(opts.outDir, { recursive: true });

  const partial = (file: string): string => join(opts.outDir, `${file}.partial`);
  const finals: string[] = [];
  const writers: { abort(): Promise<void> }[] = [];
  const openGzip = (dataset: GoldDatasetName): JsonlGzipWriter => {
    finals.push(SAMPLE_GOLD_FILES[dataset]);
    const writer = new JsonlGzipWriter(partial(SAMPLE_GOLD_FILES[dataset]));
    writers.push(writer);
    return writer;
  };
  const openText = (file: string): TextWriter => {
    finals.push(file);
    const writer = new TextWriter(partial(file));
    writers.push(writer);
    return writer;
  };
  try {
    return await writeSampleGold(opts, parsed, started, { partial, finals, openGzip, openText });
  } catch (error) {
    // Leave no half-written files behind (the final names are only used once everything is written).
    await Promise.all(writers.map((writer) => writer.abort()));
    await Promise.all(finals.map((file) => rm(partial(file), { force: true }).catch(() => undefined)));
    throw error;
  }
};

interface OutputFiles {
  partial: (file: string) => string;
  finals: string[];
  openGzip: (dataset: GoldDatasetName) => JsonlGzipWriter;
  openText: (file: string) => TextWriter;
}

const writeSampleGold = async (
  opts: ResolvedOptions,
  parsed: ReturnType<typeof parseNetflixCsv>,
  started: number,
  { partial, finals, openGzip, openText }: OutputFiles,
): Promise<SampleGoldReport> => {
  // Catalogue.
  const catalog = buildSampleCatalog(parsed.titles, { seed: opts.seed, asOf: opts.asOf });
  const catalogWriter = openGzip('catalog');
  const validateCatalog = validatorFor('catalog', opts.validate, false);
  for (const record of catalog.records) {
    validateCatalog(record);
    await catalogWriter.write(record);
  }
  await catalogWriter.close();

  // Profiles and accounts.
  const index = new CatalogIndex(catalog.records, catalog.popularity, SAMPLE_COUNTRIES, opts.asOfDay);
  const generator = new ProfileGenerator(index, { seed: opts.seed });
  const watchCounts = SAMPLE_COUNTRIES.map(() => new Int32Array(index.size));
  const total = opts.profiles;
  const profileAccount = new Int32Array(total);
  const profileOrdinal = new Uint8Array(total);
  const profileCountry = new Uint8Array(total);
  const profileLanguage = new Uint16Array(total);
  const profileConsent = new Uint8Array(total);
  const languages: string[] = [];
  const languageIds = new Map<string, number>();
  const members = SAMPLE_SEGMENTS.map(() => [] as number[]);
  const segmentAt = new Map(SAMPLE_SEGMENTS.map((segment, i) => [segment.segmentId, i]));

  const profilesWriter = openGzip('profiles');
  const validateProfile = validatorFor('profiles', opts.validate, true);
  const accountsWriter = openText(ACCOUNTS_FILE);
  await accountsWriter.write('[');
  let produced = 0;
  let accountIndex = 0;
  while (produced < total) {
    const account = generator.account(accountIndex, total - produced);
    const entry: SampleAccount = {
      accountId: account.accountId,
      country: account.country,
      profileIds: [],
      kidsProfileIds: [],
    };
    for (const profile of account.profiles) {
      const { record } = profile;
      validateProfile(record);
      await profilesWriter.write(record);
      entry.profileIds.push(record.profileId);
      if (record.kids) entry.kidsProfileIds.push(record.profileId);
      const counts = watchCounts[profile.countryIndex]!;
      for (const title of profile.watchedTitles) counts[title]!++;
      for (const title of profile.inProgressTitles) counts[title]!++;
      let language = languageIds.get(record.language);
      if (language === undefined) {
        language = languages.push(record.language) - 1;
        languageIds.set(record.language, language);
      }
      profileAccount[produced] = accountIndex;
      profileOrdinal[produced] = profile.ordinal;
      profileCountry[produced] = profile.countryIndex;
      profileLanguage[produced] = language;
      profileConsent[produced] = record.marketingConsent ? 1 : 0;
      for (const segmentId of record.segments) members[segmentAt.get(segmentId)!]!.push(produced);
      produced++;
    }
    await accountsWriter.write(`${accountIndex === 0 ? '' : ','}\n  ${JSON.stringify(entry)}`);
    accountIndex++;
  }
  await accountsWriter.write('\n]\n');
  await accountsWriter.close();
  await profilesWriter.close();

  // Segments: each definition, then its members in profile order.
  const refreshedAt = isoMidnightOf(opts.asOfDay);
  const segmentsWriter = openGzip('segments');
  const validateDefinition = validatorFor('segments', opts.validate, false);
  const validateMember = validatorFor('segments', opts.validate, true);
  const segmentSizes: SampleGoldReport['segments'] = [];
  for (const [i, segment] of SAMPLE_SEGMENTS.entries()) {
    const profileIndexes = members[i]!;
    let reachableSize = 0;
    for (const p of profileIndexes) reachableSize += profileConsent[p] as number;
    const definition: SegmentDefinitionRecord = {
      type: 'definition',
      segmentId: segment.segmentId,
      name: segment.name,
      description: segment.description,
      definition: segment.definition,
      size: profileIndexes.length,
      reachableSize,
      refreshedAt,
    };
    validateDefinition(definition);
    await segmentsWriter.write(definition);
    segmentSizes.push({ segmentId: segment.segmentId, size: profileIndexes.length, reachableSize });
    for (const p of profileIndexes) {
      const member: SegmentMemberRecord = {
        type: 'member',
        segmentId: segment.segmentId,
        profileId: profileIdOf(profileAccount[p] as number, profileOrdinal[p] as number),
        accountId: accountIdOf(profileAccount[p] as number),
        country: SAMPLE_COUNTRIES[profileCountry[p] as number] as string,
        language: languages[profileLanguage[p] as number] as string,
        marketingConsent: profileConsent[p] === 1,
      };
      validateMember(member);
      await segmentsWriter.write(member);
    }
  }
  await segmentsWriter.close();

  // Popular lists.
  const popularWriter = openGzip('popular');
  const validatePopular = validatorFor('popular', opts.validate, false);
  for (const record of buildPopular(index, watchCounts, opts.seed)) {
    validatePopular(record);
    await popularWriter.write(record);
  }
  await popularWriter.close();

  // Partner metrics.
  const metricsWriter = openGzip('partner_metrics');
  const validateMetric = validatorFor('partner_metrics', opts.validate, true);
  for (const record of partnerMetrics(index, catalog.partners, SAMPLE_MARKETS, opts.seed)) {
    validateMetric(record);
    await metricsWriter.write(record);
  }
  await metricsWriter.close();

  const files: SampleGoldReport['files'] = [];
  const recordsOf: Record<string, number> = {
    [SAMPLE_GOLD_FILES.catalog]: catalogWriter.records,
    [SAMPLE_GOLD_FILES.profiles]: profilesWriter.records,
    [SAMPLE_GOLD_FILES.popular]: popularWriter.records,
    [SAMPLE_GOLD_FILES.segments]: segmentsWriter.records,
    [SAMPLE_GOLD_FILES.partner_metrics]: metricsWriter.records,
    [ACCOUNTS_FILE]: accountIndex,
  };
  for (const file of finals) {
    await rename(partial(file), join(opts.outDir, file));
    files.push({ file, records: recordsOf[file] ?? 0, bytes: (await stat(join(opts.outDir, file))).size });
  }

  return {
    csvPath: opts.csvPath,
    outDir: opts.outDir,
    seed: opts.seed,
    asOf: opts.asOf,
    counts: {
      catalog: catalogWriter.records,
      profiles: profilesWriter.records,
      popular: popularWriter.records,
      segments: segmentsWriter.records,
      partner_metrics: metricsWriter.records,
    },
    accounts: accountIndex,
    files,
    segments: segmentSizes,
    partners: catalog.partners.map(({ partnerId, name, titleIds }) => ({
      partnerId,
      name,
      titles: titleIds.length,
    })),
    titles: { rows: parsed.titles.length + parsed.rejected.length, used: parsed.titles.length },
    rejected: parsed.rejected,
    repairs: parsed.repairs,
    elapsedMs: Math.round(performance.now() - started),
  };
};
