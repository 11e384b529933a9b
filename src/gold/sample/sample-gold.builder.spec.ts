import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CatalogRecord } from '../contract/catalog.schema.js';
import { deviceClasses } from '../contract/common.schema.js';
import { goldDatasetNames, goldDatasets, type GoldDatasetName } from '../contract/gold-datasets.js';
import type { PartnerMetricRecord } from '../contract/partner-metrics.schema.js';
import type { PopularRecord } from '../contract/popular.schema.js';
import type { ProfileRecord } from '../contract/profiles.schema.js';
import type {
  SegmentDefinitionRecord,
  SegmentMemberRecord,
  SegmentRecord,
} from '../contract/segments.schema.js';
import {
  ACCOUNTS_FILE,
  buildSampleGold,
  SAMPLE_GOLD_FILES,
  type SampleAccount,
  type SampleGoldReport,
} from './sample-gold.builder.js';
import { SAMPLE_COUNTRIES } from './sample-markets.js';

const CSV_PATH = fileURLToPath(new URL('../../../data/netflix_titles.csv', import.meta.url));
const AS_OF = '2021-10-01';
const PROFILES = 300;

let workDir: string;
let dirA: string;
let dirB: string;
let dirOtherSeed: string;
let report: SampleGoldReport;
let reportB: SampleGoldReport;

const readLines = async (dir: string, dataset: GoldDatasetName): Promise<unknown[]> =>
  gunzipSync(await readFile(join(dir, SAMPLE_GOLD_FILES[dataset])))
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);

const gold: {
  catalog: CatalogRecord[];
  profiles: ProfileRecord[];
  popular: PopularRecord[];
  segments: SegmentRecord[];
  partner_metrics: PartnerMetricRecord[];
  accounts: SampleAccount[];
} = { catalog: [], profiles: [], popular: [], segments: [], partner_metrics: [], accounts: [] };

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'sample-gold-'));
  dirA = join(workDir, 'a');
  dirB = join(workDir, 'b');
  dirOtherSeed = join(workDir, 'c');
  const options = { csvPath: CSV_PATH, profiles: PROFILES, seed: 42, asOf: AS_OF };
  // Default validation ('sample'): the tests below check every record themselves.
  report = await buildSampleGold({ ...options, outDir: dirA });
  reportB = await buildSampleGold({ ...options, outDir: dirB, validate: 'none' });
  await buildSampleGold({ ...options, outDir: dirOtherSeed, profiles: 50, seed: 7, validate: 'none' });
  gold.catalog = (await readLines(dirA, 'catalog')) as CatalogRecord[];
  gold.profiles = (await readLines(dirA, 'profiles')) as ProfileRecord[];
  gold.popular = (await readLines(dirA, 'popular')) as PopularRecord[];
  gold.segments = (await readLines(dirA, 'segments')) as SegmentRecord[];
  gold.partner_metrics = (await readLines(dirA, 'partner_metrics')) as PartnerMetricRecord[];
  gold.accounts = JSON.parse(await readFile(join(dirA, ACCOUNTS_FILE), 'utf8')) as SampleAccount[];
}, 120_000);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const availableOn = (title: CatalogRecord, country: string, day: string): boolean =>
  title.availability.some((w) => w.country === country && w.from <= day && (w.to === null || day <= w.to));

describe('buildSampleGold from the real catalogue', () => {
  it('writes exactly the expected files', async () => {
    expect((await readdir(dirA)).sort()).toEqual([ACCOUNTS_FILE, ...Object.values(SAMPLE_GOLD_FILES)].sort());
  });

  it('writes records that all match the gold contract, with unique keys', () => {
    for (const dataset of goldDatasetNames) {
      const spec = goldDatasets[dataset];
      const records = gold[dataset];
      expect(records.length, dataset).toBe(report.counts[dataset]);
      const keys = new Set<string>();
      for (const record of records) {
        const parsed = spec.schema.safeParse(record);
        expect(parsed.success, `${dataset}: ${parsed.error?.message}`).toBe(true);
        // Document ids are unique within a partition (the segments' keys repeat across segments).
        keys.add(
          `${spec.partitionKeyOf(record as never, spec.keyOf(record as never))}|${spec.keyOf(record as never)}`,
        );
      }
      expect(keys.size, dataset).toBe(records.length);
    }
  });

  it('uses every row of the real CSV and reports its repairs', () => {
    expect(report.rejected).toEqual([]);
    expect(report.titles).toEqual({ rows: 8807, used: 8807 });
    expect(report.repairs.map((repair) => [repair.line, repair.showId, repair.field])).toEqual([
      [3, 's2', 'director'],
      [5543, 's5542', 'duration'],
      [5796, 's5795', 'duration'],
      [5815, 's5814', 'duration'],
    ]);
    const s5542 = gold.catalog.find((title) => title.titleId === 's5542')!;
    expect(s5542).toMatchObject({ durationMinutes: 74, maturityRating: null, maturityLevel: 4 });
    expect(gold.catalog.find((title) => title.titleId === 's2')!.directors).toEqual([]);
  });

  it('builds a catalogue with artwork, partners and realistic licence windows', () => {
    const s1 = gold.catalog.find((title) => title.titleId === 's1')!;
    expect(s1).toMatchObject({
      kind: 'MOVIE',
      name: 'Dick Johnson Is Dead',
      durationMinutes: 90,
      seasonCount: null,
    });
    expect(s1.addedAt).toBe('2021-09-25T00:00:00Z');
    expect(s1.artwork.LARGE).toEqual({
      url: 'https://img.flick.example/titles/s1/large.jpg',
      width: 1280,
      height: 720,
    });

    const countriesPerTitle = gold.catalog.map(
      (title) => new Set(title.availability.map((w) => w.country)).size,
    );
    expect(countriesPerTitle.filter((n) => n >= 20).length / gold.catalog.length).toBeGreaterThan(0.8);
    expect(new Set(gold.catalog.flatMap((title) => title.availability.map((w) => w.country))).size).toBe(
      SAMPLE_COUNTRIES.length,
    );
    const windows = gold.catalog.flatMap((title) => title.availability);
    const openNow = windows.filter((w) => w.to === null && w.from <= AS_OF).length / windows.length;
    expect(openNow).toBeGreaterThan(0.7);
    expect(windows.some((w) => w.to !== null && w.to < AS_OF)).toBe(true); // expired
    expect(windows.some((w) => w.from > AS_OF)).toBe(true); // starts later
    expect(countriesPerTitle.filter((n) => n < SAMPLE_COUNTRIES.length).length).toBeGreaterThan(100); // gaps

    const partnerTitles = new Map<string, number>();
    for (const title of gold.catalog) {
      if (title.partnerId !== null)
        partnerTitles.set(title.partnerId, (partnerTitles.get(title.partnerId) ?? 0) + 1);
    }
    expect(partnerTitles.size).toBeGreaterThanOrEqual(5);
    for (const count of partnerTitles.values()) {
      expect(count).toBeGreaterThanOrEqual(40);
      expect(count).toBeLessThanOrEqual(150);
    }
  });

  it('never recommends watched titles or titles above the maturity level, nor continue-watching above it', () => {
    const titleById = new Map(gold.catalog.map((title) => [title.titleId, title]));
    const kids = gold.profiles.filter((profile) => profile.kids);
    expect(kids.length).toBeGreaterThan(10);
    const violations: string[] = [];
    for (const profile of gold.profiles) {
      const watched = new Set(profile.watched);
      for (const rec of profile.recommendations) {
        if (watched.has(rec.titleId))
          violations.push(`${profile.profileId} is recommended watched ${rec.titleId}`);
        if (titleById.get(rec.titleId)!.maturityLevel > profile.maturityLevel) {
          violations.push(
            `${profile.profileId} (level ${profile.maturityLevel}) is recommended ${rec.titleId}`,
          );
        }
      }
      for (const entry of profile.continueWatching) {
        if (titleById.get(entry.titleId)!.maturityLevel > profile.maturityLevel) {
          violations.push(`${profile.profileId} (level ${profile.maturityLevel}) continues ${entry.titleId}`);
        }
      }
      if (profile.kids && profile.maturityLevel > 2)
        violations.push(`kids profile ${profile.profileId} is not a kids level`);
    }
    expect(violations).toEqual([]);
    expect(kids.flatMap((profile) => profile.recommendations).length).toBeGreaterThan(0);
  });

  it('lists only titles available in the country at asOf in the popular lists, for every country and device', () => {
    const titleById = new Map(gold.catalog.map((title) => [title.titleId, title]));
    const keys = gold.popular.map((record) => `${record.country}:${record.device}`).sort();
    expect(keys).toEqual(
      SAMPLE_COUNTRIES.flatMap((country) => deviceClasses.map((device) => `${country}:${device}`)).sort(),
    );
    for (const record of gold.popular) {
      expect(record.titleIds.length).toBe(100);
      expect(new Set(record.titleIds).size).toBe(record.titleIds.length);
      for (const titleId of record.titleIds)
        expect(availableOn(titleById.get(titleId)!, record.country, AS_OF)).toBe(true);
    }
    const us = (device: string) =>
      gold.popular.find((r) => r.country === 'US' && r.device === device)!.titleIds;
    expect(us('TV')).not.toEqual(us('MOBILE')); // device-specific variation
  });

  it('writes segments whose sizes match their members, and profiles that agree with membership', () => {
    const definitions = gold.segments.filter((r): r is SegmentDefinitionRecord => r.type === 'definition');
    const members = gold.segments.filter((r): r is SegmentMemberRecord => r.type === 'member');
    expect(definitions.length).toBeGreaterThanOrEqual(6);
    const profileById = new Map(gold.profiles.map((profile) => [profile.profileId, profile]));
    for (const definition of definitions) {
      const own = members.filter((member) => member.segmentId === definition.segmentId);
      expect(definition.size, definition.segmentId).toBe(own.length);
      expect(definition.reachableSize, definition.segmentId).toBe(
        own.filter((m) => m.marketingConsent).length,
      );
      expect(definition.refreshedAt).toBe(`${AS_OF}T00:00:00Z`);
      expect(definition.definition).toBeTruthy();
    }
    for (const member of members) {
      const profile = profileById.get(member.profileId)!;
      expect(member).toEqual({
        type: 'member',
        segmentId: member.segmentId,
        profileId: profile.profileId,
        accountId: profile.accountId,
        country: profile.country,
        language: profile.language,
        marketingConsent: profile.marketingConsent,
      });
      expect(profile.segments).toContain(member.segmentId);
    }
    const membership = gold.profiles.reduce((sum, profile) => sum + profile.segments.length, 0);
    expect(membership).toBe(members.length);
    expect(members.some((member) => !member.marketingConsent)).toBe(true);
    expect(Math.max(...definitions.map((d) => d.size))).toBeGreaterThanOrEqual(0.8 * PROFILES);
    expect(report.segments).toEqual(
      definitions.map((d) => ({ segmentId: d.segmentId, size: d.size, reachableSize: d.reachableSize })),
    );
  });

  it('writes 30 days of partner metrics per partner title, only for licensed countries', () => {
    const titleById = new Map(gold.catalog.map((title) => [title.titleId, title]));
    const partnerTitles = gold.catalog.filter((title) => title.partnerId !== null);
    expect(gold.partner_metrics.length).toBe(partnerTitles.length * 30);
    const days = [...new Set(gold.partner_metrics.map((record) => record.day))].sort();
    expect(days).toHaveLength(30);
    expect(days[0]).toBe('2021-09-02');
    expect(days[29]).toBe(AS_OF);
    const violations = gold.partner_metrics.filter((record) => {
      const title = titleById.get(record.titleId)!;
      const expected = SAMPLE_COUNTRIES.filter((country) => availableOn(title, country, record.day));
      return (
        record.partnerId !== title.partnerId ||
        record.byCountry.map((entry) => entry.country).join() !== expected.join()
      );
    });
    expect(violations).toEqual([]);
    expect(gold.partner_metrics.some((record) => record.byCountry.length > 20)).toBe(true);
    // More popular titles get more views; weekends beat weekdays.
    const views = (predicate: (r: PartnerMetricRecord) => boolean) =>
      gold.partner_metrics
        .filter(predicate)
        .reduce((sum, r) => sum + r.byCountry.reduce((s, c) => s + c.views, 0), 0);
    const weekend = views((r) => [0, 6].includes(new Date(`${r.day}T00:00:00Z`).getUTCDay())) / 8;
    const weekday = views((r) => [2, 3].includes(new Date(`${r.day}T00:00:00Z`).getUTCDay())) / 8;
    expect(weekend).toBeGreaterThan(weekday);
    const totals = new Map<string, number>();
    for (const r of gold.partner_metrics)
      totals.set(r.titleId, (totals.get(r.titleId) ?? 0) + r.byCountry.reduce((s, c) => s + c.views, 0));
    expect(Math.max(...totals.values())).toBeGreaterThan(
      10 * Math.min(...[...totals.values()].filter((v) => v > 0)),
    );
  });

  it('writes accounts.json covering every profile once', () => {
    expect(gold.accounts.length).toBe(report.accounts);
    const ids = gold.accounts.flatMap((account) => account.profileIds);
    expect(ids.sort()).toEqual(gold.profiles.map((profile) => profile.profileId).sort());
    const profileById = new Map(gold.profiles.map((profile) => [profile.profileId, profile]));
    for (const account of gold.accounts) {
      expect(account.profileIds.every((id) => profileById.get(id)!.accountId === account.accountId)).toBe(
        true,
      );
      expect(account.profileIds.every((id) => profileById.get(id)!.country === account.country)).toBe(true);
      expect(account.kidsProfileIds).toEqual(account.profileIds.filter((id) => profileById.get(id)!.kids));
    }
  });

  it('is byte-identical for the same seed, asOf and profile count', async () => {
    for (const file of [...Object.values(SAMPLE_GOLD_FILES), ACCOUNTS_FILE]) {
      const a = await readFile(join(dirA, file));
      const b = await readFile(join(dirB, file));
      expect(a.equals(b), file).toBe(true);
    }
    expect({ ...reportB, outDir: '', elapsedMs: 0 }).toEqual({ ...report, outDir: '', elapsedMs: 0 });
  });

  it('gives different profiles for a different seed', async () => {
    const other = (await readLines(dirOtherSeed, 'profiles')) as ProfileRecord[];
    expect(other).toHaveLength(50);
    const first = gold.profiles.slice(0, 50);
    expect(other.map((p) => p.watched)).not.toEqual(first.map((p) => p.watched));
    expect(other.filter((p, i) => JSON.stringify(p) === JSON.stringify(first[i])).length).toBeLessThan(5);
  });
});

describe('buildSampleGold failures', () => {
  it('removes its partial files when writing fails and never creates the final files', async () => {
    const outDir = join(workDir, 'broken');
    // A directory where the profiles file should go makes that write fail half-way through the build.
    await mkdir(join(outDir, `${SAMPLE_GOLD_FILES.profiles}.partial`), { recursive: true });
    await expect(
      buildSampleGold({ csvPath: CSV_PATH, outDir, profiles: 10, asOf: AS_OF, validate: 'none' }),
    ).rejects.toThrow(/EISDIR/);
    expect(await readdir(outDir)).toEqual([`${SAMPLE_GOLD_FILES.profiles}.partial`]);
  });

  it('rejects bad options before writing anything', async () => {
    const outDir = join(tmpdir(), 'sample-gold-never-written');
    await expect(buildSampleGold({ csvPath: CSV_PATH, outDir, profiles: 0 })).rejects.toThrow(/profiles/);
    await expect(buildSampleGold({ csvPath: CSV_PATH, outDir, asOf: '2021-02-30' })).rejects.toThrow(/asOf/);
    await expect(buildSampleGold({ csvPath: CSV_PATH, outDir, seed: 1.5 })).rejects.toThrow(/seed/);
    await expect(readdir(outDir)).rejects.toThrow();
  });
});
