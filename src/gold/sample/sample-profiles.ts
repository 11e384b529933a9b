import type { ProfileRecord } from '../contract/profiles.schema.js';
import type { CatalogIndex, WeightedSampler } from './catalog-index.js';
import { isoInstantBefore } from './sample-dates.js';
import { SAMPLE_MARKETS, type SampleMarket } from './sample-markets.js';
import { Recommender, TASTE_GENRES_KEPT, tasteGenresOf } from './sample-recommender.js';
import { SampleRng } from './sample-rng.js';
import { type ProfileFacts, segmentsOf } from './sample-segments.js';

export const MAX_WATCHED = 80;
export const MAX_CONTINUE_WATCHING = 8;
/** Shows have no duration in the catalogue; a continue-watching entry is one ~45 minute episode. */
export const EPISODE_SECONDS = 45 * 60;
/** continueWatching.updatedAt lies within this many days before the as-of day. */
export const CONTINUE_WATCHING_DAYS = 14;

const PROFILES_PER_ACCOUNT_WEIGHTS = [30, 25, 20, 15, 10];
const TASTE_AFFINITY = [0.5, 0.3, 0.2, 0.1];

export interface GeneratedProfile {
  record: ProfileRecord;
  facts: ProfileFacts;
  /** 0-based position of the profile in its account. */
  ordinal: number;
  countryIndex: number;
  /** Title indexes of watched and continue-watching titles (for popularity counts). */
  watchedTitles: readonly number[];
  inProgressTitles: readonly number[];
}

export interface GeneratedAccount {
  accountId: string;
  country: string;
  profiles: GeneratedProfile[];
}

export const accountIdOf = (accountIndex: number): string =>
  `account-${String(accountIndex + 1).padStart(6, '0')}`;
export const profileIdOf = (accountIndex: number, ordinal: number): string =>
  `profile-${String(accountIndex + 1).padStart(6, '0')}-${ordinal + 1}`;

export interface ProfileGeneratorOptions {
  seed: number;
}

/**
 * Generates accounts and their profiles. Account n is generated from its own seeded stream, so it is
 * the same whatever the total number of profiles (only the last account may be cut short).
 */
export class ProfileGenerator {
  private readonly recommender: Recommender;
  private readonly marketIndex: readonly number[];
  private readonly marketWeights: readonly number[];
  private readonly documentaryGenres: ReadonlySet<number>;
  private readonly animeGenres: ReadonlySet<number>;
  /** [level]: genre weights (sum of the popularity of the titles allowed at that level). */
  private readonly genreWeights: readonly (readonly number[])[];

  constructor(
    private readonly index: CatalogIndex,
    private readonly options: ProfileGeneratorOptions,
    private readonly markets: readonly SampleMarket[] = SAMPLE_MARKETS,
  ) {
    this.recommender = new Recommender(index);
    this.marketIndex = markets.map((market) => {
      const country = index.countryIndex.get(market.country);
      if (country === undefined) throw new Error(`market ${market.country} is not in the catalogue index`);
      return country;
    });
    this.marketWeights = markets.map((market) => market.weight);
    const genresNamed = (...names: string[]): Set<number> =>
      new Set(names.map((name) => index.genreNames.indexOf(name)).filter((id) => id >= 0));
    this.documentaryGenres = genresNamed('Documentaries', 'Docuseries');
    this.animeGenres = genresNamed('Anime Series', 'Anime Features');
    this.genreWeights = index.genreSampler.map((samplers) => samplers.map((sampler) => sampler.total));
  }

  account(accountIndex: number, maxProfiles = Infinity): GeneratedAccount {
    const { index } = this;
    const rng = new SampleRng(this.options.seed, 'account', accountIndex);
    const accountId = accountIdOf(accountIndex);
    const profileCount = Math.min(maxProfiles, rng.weightedIndex(PROFILES_PER_ACCOUNT_WEIGHTS) + 1);
    const marketAt = rng.weightedIndex(this.marketWeights);
    const market = this.markets[marketAt] as SampleMarket;
    const countryIndex = this.marketIndex[marketAt] as number;
    const languages = market.languages.map(([tag]) => tag);
    const languageShares = market.languages.map(([, share]) => share);
    const accountLanguage = languages[rng.weightedIndex(languageShares)] as string;
    const isNew = rng.chance(0.07);
    const accountAgeDays = isNew ? rng.int(0, 29) : rng.int(30, 2500);
    const planRoll = rng.float();
    const premiumShare = 0.15 + 0.06 * profileCount;
    const plan = planRoll < premiumShare ? 'PREMIUM' : planRoll < premiumShare + 0.45 ? 'STANDARD' : 'BASIC';
    const accountConsent = rng.chance(0.78);

    const drafts = Array.from({ length: profileCount }, (_, ordinal) => {
      const kids = ordinal > 0 && rng.chance(0.25);
      const maturityLevel = kids ? (rng.chance(0.4) ? 1 : 2) : rng.chance(0.12) ? 3 : 4;
      const marketingConsent = !kids && (rng.chance(0.92) ? accountConsent : !accountConsent);
      const language = rng.chance(0.9)
        ? accountLanguage
        : (languages[rng.weightedIndex(languageShares)] as string);

      let lastActiveDaysAgo: number | null;
      let watchedCount: number;
      if (isNew) {
        const coldStart = rng.chance(0.25);
        lastActiveDaysAgo = coldStart ? null : rng.int(0, accountAgeDays);
        watchedCount = coldStart ? 0 : rng.int(1, 15);
      } else {
        const roll = rng.float();
        const coldStart = roll < 0.015;
        const lapsed = !coldStart && roll < 0.105;
        lastActiveDaysAgo = coldStart ? null : lapsed ? rng.int(31, 540) : Math.floor(rng.float() ** 2 * 31);
        watchedCount = coldStart ? 0 : 1 + Math.floor((MAX_WATCHED - 1) * rng.float() ** 2);
      }

      // Taste: a few genres (weighted by what the maturity level allows) that most watches come from.
      const genreWeights = (this.genreWeights[maturityLevel] as number[]).slice();
      const taste: WeightedSampler[] = [];
      const tasteCount = rng.int(2, 4);
      for (let i = 0; i < tasteCount && genreWeights.some((weight) => weight > 0); i++) {
        const genre = rng.weightedIndex(genreWeights);
        genreWeights[genre] = 0;
        taste.push(index.genreSampler[maturityLevel]![genre]!);
      }
      const affinity = TASTE_AFFINITY.slice(0, taste.length);
      const tasteShare = rng.between(0.55, 0.85);
      const globalSampler = index.levelSampler[maturityLevel]!;
      const seen = new Set<number>();
      const drawInto = (count: number, accept: (title: number) => boolean): number[] => {
        const drawn: number[] = [];
        for (let attempt = 0; drawn.length < count && attempt < count * 30; attempt++) {
          const sampler =
            taste.length > 0 && rng.chance(tasteShare)
              ? (taste[rng.weightedIndex(affinity)] as WeightedSampler)
              : globalSampler;
          const title = sampler.draw(rng.float());
          if (title < 0 || seen.has(title) || !accept(title)) continue;
          seen.add(title);
          drawn.push(title);
        }
        return drawn;
      };

      const everAvailable = index.availableEver[countryIndex]!;
      const availableNow = index.availableNow[countryIndex]!;
      const watched = drawInto(watchedCount, (title) => everAvailable[title] === 1);

      const canContinue =
        watched.length > 0 && lastActiveDaysAgo !== null && lastActiveDaysAgo < CONTINUE_WATCHING_DAYS;
      const inProgressCount = canContinue && !rng.chance(0.15) ? rng.int(1, MAX_CONTINUE_WATCHING) : 0;
      const inProgress = drawInto(inProgressCount, (title) => availableNow[title] === 1);
      const continueWatching = inProgress
        .map((title, i) => {
          const durationSeconds =
            index.kind[title] === 1 ? EPISODE_SECONDS : (index.durationMinutes[title] as number) * 60;
          const daysBack =
            i === 0
              ? (lastActiveDaysAgo as number)
              : rng.int(lastActiveDaysAgo as number, CONTINUE_WATCHING_DAYS - 1);
          return {
            titleId: index.titleIds[title] as string,
            positionSeconds: Math.floor(durationSeconds * rng.between(0.03, 0.95)),
            durationSeconds,
            updatedAt: isoInstantBefore(this.index.asOfDay, daysBack * 86_400 + rng.int(1, 86_400)),
          };
        })
        .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));

      const countIn = (genres: ReadonlySet<number>): number =>
        watched.filter((title) => index.titleGenres[title]!.some((genre) => genres.has(genre))).length;
      return {
        ordinal,
        kids,
        maturityLevel,
        marketingConsent,
        language,
        lastActiveDaysAgo,
        watched,
        inProgress,
        continueWatching,
        documentaryCount: countIn(this.documentaryGenres),
        animeCount: countIn(this.animeGenres),
      };
    });

    const accountHasKidsProfile = drafts.some((draft) => draft.kids);
    const profiles = drafts.map((draft): GeneratedProfile => {
      const facts: ProfileFacts = {
        kids: draft.kids,
        watchedCount: draft.watched.length,
        documentaryCount: draft.documentaryCount,
        animeCount: draft.animeCount,
        showsInProgress: draft.inProgress.filter((title) => index.kind[title] === 1).length,
        lastActiveDaysAgo: draft.lastActiveDaysAgo,
        accountAgeDays,
        plan,
        accountHasKidsProfile,
      };
      const record: ProfileRecord = {
        profileId: profileIdOf(accountIndex, draft.ordinal),
        accountId,
        country: market.country,
        language: draft.language,
        kids: draft.kids,
        maturityLevel: draft.maturityLevel,
        marketingConsent: draft.marketingConsent,
        watched: draft.watched.map((title) => index.titleIds[title] as string),
        continueWatching: draft.continueWatching,
        recommendations: this.recommender.recommend({
          watched: draft.watched,
          maturityLevel: draft.maturityLevel,
          countryIndex,
        }),
        tasteGenres: tasteGenresOf(index, draft.watched, TASTE_GENRES_KEPT).map(
          ({ genre }) => index.genreNames[genre] as string,
        ),
        segments: segmentsOf(facts),
      };
      return {
        record,
        facts,
        ordinal: draft.ordinal,
        countryIndex,
        watchedTitles: draft.watched,
        inProgressTitles: draft.inProgress,
      };
    });
    return { accountId, country: market.country, profiles };
  }
}
