import { deviceClasses, type DeviceClass } from '../contract/common.schema.js';
import type { PopularRecord } from '../contract/popular.schema.js';
import type { CatalogIndex } from './catalog-index.js';
import { hashUnit } from './sample-rng.js';

export const POPULAR_LIMIT = 100;
/** Weight of the catalogue-wide popularity prior, in "views", so thin markets still get full lists. */
const POPULARITY_PRIOR = 2;

/**
 * How much better a title does on a device class than on average: shows and long movies on TV,
 * short movies on phones, kids titles on tablets.
 */
export const deviceFactor = (index: CatalogIndex, title: number, device: DeviceClass): number => {
  const show = index.kind[title] === 1;
  const minutes = index.durationMinutes[title] as number;
  const kidsTitle = (index.level[title] as number) <= 2;
  switch (device) {
    case 'TV':
      return show ? 1.35 : minutes >= 110 ? 1.1 : 1;
    case 'MOBILE':
      return (show ? 0.95 : minutes < 95 ? 1.3 : minutes >= 130 ? 0.75 : 1) * (kidsTitle ? 0.6 : 1);
    case 'TABLET':
      return (kidsTitle ? 1.5 : 1) * (show ? 1.05 : 1);
    case 'WEB':
      return (show ? 0.95 : 1.05) * (kidsTitle ? 0.7 : 1);
  }
};

/**
 * Ranked popular lists per country and device class: the sample's watch counts in that country plus a
 * small catalogue-wide prior, weighted per device with a little per-device noise. Only titles
 * available in the country on the as-of day.
 */
export const buildPopular = (
  index: CatalogIndex,
  watchCounts: readonly Int32Array[],
  seed: number,
  limit = POPULAR_LIMIT,
): PopularRecord[] => {
  const top = index.size === 0 ? 1 : (index.popularity[index.byPopularity[0] as number] as number);
  const records: PopularRecord[] = [];
  index.countries.forEach((country, countryIndex) => {
    const available = index.availableNow[countryIndex]!;
    const counts = watchCounts[countryIndex]!;
    const scores = new Float64Array(index.size);
    deviceClasses.forEach((device, deviceIndex) => {
      let candidates = 0;
      for (let title = 0; title < index.size; title++) {
        if (available[title] !== 1) continue;
        const base =
          (counts[title] as number) + (POPULARITY_PRIOR * (index.popularity[title] as number)) / top;
        const noise = 0.9 + 0.2 * hashUnit(seed, countryIndex, deviceIndex, title);
        scores[candidates++] = base * deviceFactor(index, title, device) * noise;
      }
      if (candidates === 0) return;
      // The limit-th best score (native numeric sort), then only the titles at or above it are ranked.
      const sorted = scores.slice(0, candidates).sort();
      const threshold = sorted[Math.max(0, candidates - limit)] as number;
      const ranked: { title: number; score: number }[] = [];
      for (let title = 0, at = 0; title < index.size; title++) {
        if (available[title] !== 1) continue;
        const score = scores[at++] as number;
        if (score >= threshold) ranked.push({ title, score });
      }
      ranked.sort((a, b) => b.score - a.score || a.title - b.title);
      const titleIds = ranked.slice(0, limit).map(({ title }) => index.titleIds[title] as string);
      records.push({ country, device, titleIds });
    });
  });
  return records;
};
