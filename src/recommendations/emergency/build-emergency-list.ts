import { realpathSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import type { CatalogRecord } from '../../gold/contract/catalog.schema.js';
import type { PopularRecord } from '../../gold/contract/popular.schema.js';
import { buildSampleGold, SAMPLE_GOLD_FILES } from '../../gold/sample/sample-gold.builder.js';
import { SAMPLE_MARKETS } from '../../gold/sample/sample-markets.js';

/**
 * Builds `emergency-titles.json`, the popular list bundled with the service for a cold start with
 * neither Redis, Cosmos nor a catalogue (ARCHITECTURE §5, fallback step 5), from the real sample gold:
 *
 *   npx tsx src/recommendations/emergency/build-emergency-list.ts
 *
 * The same inputs always give the same file. Regenerate it only when the sample or the selection
 * changes; emergency-titles.spec.ts checks that the bundled file is what this script makes.
 */

export interface EmergencySource {
  /** Relative to the repository root. */
  readonly csv: string;
  readonly profiles: number;
  readonly seed: number;
  readonly asOf: string;
}

export const EMERGENCY_SOURCE: EmergencySource = {
  csv: 'data/netflix_titles.csv',
  profiles: 10_000,
  seed: 42,
  asOf: '2021-10-01',
};

/** Titles in the bundle, roughly: at least the global top this size, plus each market's own top. */
export const EMERGENCY_SIZE = 60;
/** Each market's own best titles, added first so that regional favourites are not lost to the global list. */
const PER_COUNTRY_MINIMUM = 8;
/**
 * Titles for kids profiles, at most this maturity level and at least this many, so that a kids
 * profile served from the bundle still gets a row: the global list alone is mostly for adults.
 */
const KIDS_MINIMUMS: readonly { maturityLevel: number; titles: number }[] = [
  { maturityLevel: 1, titles: 8 },
  { maturityLevel: 2, titles: 16 },
];

/** The bundled file's shape. */
export interface EmergencyList {
  readonly source: EmergencySource;
  /** Every bundled title, best first across markets. */
  readonly global: string[];
  /** Per country: the bundled titles licensed there without an end date, best first in that country. */
  readonly byCountry: Record<string, string[]>;
  /** The titles' full catalogue records, in `global` order. */
  readonly titles: CatalogRecord[];
}

const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Selects the emergency titles from a catalogue and its popular lists. A country's score for a title
 * is its Borda count over the country's device lists; the global score weighs countries by their
 * member share. Only licences without an end date count, so the bundle stays valid long after it
 * was made; a title appears in a country's list only where it is licensed that way.
 */
export const selectEmergencyList = (
  catalog: readonly CatalogRecord[],
  popular: readonly PopularRecord[],
  source: EmergencySource,
  size = EMERGENCY_SIZE,
): EmergencyList => {
  const records = new Map(catalog.map((record) => [record.titleId, record]));
  const durableIn = (record: CatalogRecord, country: string): boolean =>
    record.availability.some(
      (window) => window.country === country && window.to === null && window.from <= source.asOf,
    );

  const countries = [...new Set(popular.map((list) => list.country))].sort(compareIds);
  const weightOf = new Map(SAMPLE_MARKETS.map((market) => [market.country, market.weight]));
  const countryScores = new Map<string, Map<string, number>>();
  const globalScore = new Map<string, number>();
  for (const list of popular) {
    let scores = countryScores.get(list.country);
    if (scores === undefined) {
      scores = new Map();
      countryScores.set(list.country, scores);
    }
    const weight = weightOf.get(list.country) ?? 1;
    list.titleIds.forEach((titleId, rank) => {
      const record = records.get(titleId);
      if (record === undefined || !durableIn(record, list.country)) return;
      const points = list.titleIds.length - rank;
      scores.set(titleId, (scores.get(titleId) ?? 0) + points);
      globalScore.set(titleId, (globalScore.get(titleId) ?? 0) + weight * points);
    });
  }
  const byGlobal = (a: string, b: string): number =>
    (globalScore.get(b) ?? 0) - (globalScore.get(a) ?? 0) || compareIds(a, b);
  const ranking = [...globalScore.keys()].sort(byGlobal);

  const selected = new Set<string>();
  for (const country of countries) {
    const scores = countryScores.get(country) as Map<string, number>;
    const own = [...scores.keys()].sort(
      (a, b) => (scores.get(b) as number) - (scores.get(a) as number) || byGlobal(a, b),
    );
    for (const titleId of own.slice(0, PER_COUNTRY_MINIMUM)) selected.add(titleId);
  }
  for (const { maturityLevel, titles } of KIDS_MINIMUMS) {
    const forKids = (titleId: string): boolean =>
      (records.get(titleId) as CatalogRecord).maturityLevel <= maturityLevel;
    let count = [...selected].filter(forKids).length;
    for (const titleId of ranking) {
      if (count >= titles) break;
      if (selected.has(titleId) || !forKids(titleId)) continue;
      selected.add(titleId);
      count++;
    }
  }
  for (const titleId of ranking) {
    if (selected.size >= size) break;
    selected.add(titleId);
  }

  const global = ranking.filter((titleId) => selected.has(titleId));
  const byCountry: Record<string, string[]> = {};
  for (const country of countries) {
    const scores = countryScores.get(country) as Map<string, number>;
    byCountry[country] = global
      .filter((titleId) => durableIn(records.get(titleId) as CatalogRecord, country))
      .sort((a, b) => (scores.get(b) ?? 0) - (scores.get(a) ?? 0) || byGlobal(a, b));
  }
  return {
    source,
    global,
    byCountry,
    titles: global.map((titleId) => records.get(titleId) as CatalogRecord),
  };
};

const readJsonLines = async <T>(path: string): Promise<T[]> =>
  gunzipSync(await readFile(path))
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);

const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const EMERGENCY_LIST_PATH = fileURLToPath(new URL('./emergency-titles.json', import.meta.url));

/** The emergency list from a fresh sample gold build, as the exact text of the bundled file. */
export const buildEmergencyListJson = async (source: EmergencySource = EMERGENCY_SOURCE): Promise<string> => {
  const outDir = await mkdtemp(join(tmpdir(), 'emergency-list-'));
  try {
    await buildSampleGold({
      csvPath: join(REPOSITORY_ROOT, source.csv),
      outDir,
      profiles: source.profiles,
      seed: source.seed,
      asOf: source.asOf,
      validate: 'none',
    });
    const catalog = await readJsonLines<CatalogRecord>(join(outDir, SAMPLE_GOLD_FILES.catalog));
    const popular = await readJsonLines<PopularRecord>(join(outDir, SAMPLE_GOLD_FILES.popular));
    const list = selectEmergencyList(catalog, popular, source);
    // Formatted as Prettier would, so that `prettier --check` accepts the generated file as it is.
    const { format, resolveConfig } = await import('prettier');
    const options = (await resolveConfig(EMERGENCY_LIST_PATH)) ?? {};
    return await format(JSON.stringify(list), { ...options, parser: 'json' });
  } finally {
    await rm(outDir, { recursive: true, force: true });
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
  const json = await buildEmergencyListJson();
  await writeFile(EMERGENCY_LIST_PATH, json);
  process.stdout.write(`wrote ${EMERGENCY_LIST_PATH} (${Buffer.byteLength(json)} bytes)\n`);
}
