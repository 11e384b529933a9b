import type { PartnerMetricRecord } from '../contract/partner-metrics.schema.js';
import type { CatalogIndex } from './catalog-index.js';
import { isoDateOf, weekdayOf } from './sample-dates.js';
import type { SampleMarket } from './sample-markets.js';
import { hashLabel, hashUnit } from './sample-rng.js';

export const METRIC_DAYS = 30;
/** Daily views of the most popular title across all markets before weekday/freshness effects. */
const TOP_TITLE_DAILY_VIEWS = 60_000;
/** Sunday … Saturday. */
const WEEKDAY_FACTOR = [1.3, 0.9, 0.85, 0.88, 0.95, 1.15, 1.35];

const round = (value: number, decimals: number): number => {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
};

export interface PartnerTitles {
  partnerId: string;
  titleIds: readonly string[];
}

/**
 * Daily per-country metrics for every partner-owned title over the METRIC_DAYS days ending on the
 * as-of day (inclusive). A country appears on a day only when the title is licensed there that day.
 * Views follow the title's popularity and the market's size, peak at weekends and in the first weeks
 * of a new licence; the noise is a hash of (seed, title, day, country), so records are reproducible.
 */
export function* partnerMetrics(
  index: CatalogIndex,
  partners: readonly PartnerTitles[],
  markets: readonly SampleMarket[],
  seed: number,
): Generator<PartnerMetricRecord> {
  const titleIndexOf = new Map(index.titleIds.map((titleId, i) => [titleId, i]));
  const totalWeight = markets.reduce((sum, market) => sum + market.weight, 0);
  const marketShare = index.countries.map(
    (country) => (markets.find((market) => market.country === country)?.weight ?? 0) / totalWeight,
  );
  const top = index.size === 0 ? 1 : (index.popularity[index.byPopularity[0] as number] as number);
  for (const partner of partners) {
    for (const titleId of partner.titleIds) {
      const title = titleIndexOf.get(titleId);
      if (title === undefined) throw new Error(`partner title ${titleId} is not in the catalogue`);
      const titleHash = hashLabel(titleId);
      const show = index.kind[title] === 1;
      const reach = TOP_TITLE_DAILY_VIEWS * Math.pow((index.popularity[title] as number) / top, 0.7);
      const baseCompletion = (show ? 0.4 : 0.5) + 0.4 * hashUnit(seed, titleHash, 1);
      for (let day = index.asOfDay - METRIC_DAYS + 1; day <= index.asOfDay; day++) {
        const byCountry: PartnerMetricRecord['byCountry'] = [];
        index.countries.forEach((country, countryIndex) => {
          const licensedFrom = index.windowStartOn(title, countryIndex, day);
          if (licensedFrom === null) return;
          const since = day - licensedFrom;
          const freshness = since < 30 ? 1 + 1.5 * Math.exp(-since / 6) : 1;
          const u1 = 1 - hashUnit(seed, titleHash, day, countryIndex, 2);
          const u2 = hashUnit(seed, titleHash, day, countryIndex, 3);
          const noise = Math.exp(0.18 * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
          const expected =
            reach *
            (marketShare[countryIndex] as number) *
            (WEEKDAY_FACTOR[weekdayOf(day)] as number) *
            freshness *
            noise;
          const views = Math.floor(expected + hashUnit(seed, titleHash, day, countryIndex, 4));
          if (views === 0) {
            byCountry.push({ country, views: 0, hoursViewed: 0, completionRate: 0 });
            return;
          }
          const completionRate = round(
            Math.min(
              1,
              Math.max(0, baseCompletion + 0.08 * (hashUnit(seed, titleHash, day, countryIndex, 5) - 0.5)),
            ),
            3,
          );
          const hoursPerView = show
            ? 0.75 * (1 + 2 * completionRate)
            : ((index.durationMinutes[title] as number) / 60) * (0.35 + 0.6 * completionRate);
          byCountry.push({ country, views, hoursViewed: round(views * hoursPerView, 1), completionRate });
        });
        yield { partnerId: partner.partnerId, titleId, day: isoDateOf(day), byCountry };
      }
    }
  }
}
