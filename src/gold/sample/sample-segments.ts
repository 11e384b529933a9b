/** Everything a segment rule may look at; produced by the profile generator. */
export interface ProfileFacts {
  kids: boolean;
  watchedCount: number;
  documentaryCount: number;
  animeCount: number;
  /** Shows among the continue-watching entries. */
  showsInProgress: number;
  /** Days between the last activity and the as-of day; null when the profile never watched anything. */
  lastActiveDaysAgo: number | null;
  /** Days between the account's creation and the as-of day. */
  accountAgeDays: number;
  plan: 'BASIC' | 'STANDARD' | 'PREMIUM';
  accountHasKidsProfile: boolean;
}

export interface SampleSegment {
  segmentId: string;
  name: string;
  description: string;
  /** Human-readable rule, published with the definition. */
  definition: string;
  includes(facts: ProfileFacts): boolean;
}

const ACTIVE_DAYS = 30;

const isActive = (facts: ProfileFacts): boolean =>
  facts.watchedCount > 0 && facts.lastActiveDaysAgo !== null && facts.lastActiveDaysAgo <= ACTIVE_DAYS;

export const SAMPLE_SEGMENTS: readonly SampleSegment[] = [
  {
    segmentId: 'active-viewers',
    name: 'Active viewers',
    description: 'Everyone who watched recently: the broad audience for launches and announcements.',
    definition: `watched at least 1 title AND last activity within the ${ACTIVE_DAYS} days before the refresh`,
    includes: isActive,
  },
  {
    segmentId: 'lapsed-viewers',
    name: 'Lapsed viewers',
    description: 'Win-back audience: profiles with a watch history but no recent activity.',
    definition: `watched at least 1 title AND no activity in the ${ACTIVE_DAYS} days before the refresh`,
    includes: (facts) => facts.watchedCount > 0 && (facts.lastActiveDaysAgo ?? 0) > ACTIVE_DAYS,
  },
  {
    segmentId: 'kids-households',
    name: 'Kids households',
    description: 'Families: every profile of an account that has a kids profile.',
    definition: 'the account has at least 1 kids profile',
    includes: (facts) => facts.accountHasKidsProfile,
  },
  {
    segmentId: 'documentary-fans',
    name: 'Documentary fans',
    description: 'Profiles that keep coming back to documentaries and docuseries.',
    definition:
      'at least 3 watched titles in "Documentaries" or "Docuseries" AND they are at least 20% of the watched titles',
    includes: (facts) => facts.documentaryCount >= 3 && facts.documentaryCount >= 0.2 * facts.watchedCount,
  },
  {
    segmentId: 'new-members',
    name: 'New members',
    description: 'Accounts in their first month: onboarding and first-week nudges.',
    definition: 'account created within the 30 days before the refresh',
    includes: (facts) => facts.accountAgeDays < 30,
  },
  {
    segmentId: 'binge-watchers',
    name: 'Binge watchers',
    description: 'Heavy viewers with long histories or several shows on the go.',
    definition: 'at least 40 watched titles OR at least 3 shows in continue watching',
    includes: (facts) => facts.watchedCount >= 40 || facts.showsInProgress >= 3,
  },
  {
    segmentId: 'high-value',
    name: 'High-value members',
    description: 'Loyal, active members on the premium plan.',
    definition: `PREMIUM plan AND account older than 365 days AND last activity within the ${ACTIVE_DAYS} days before the refresh`,
    includes: (facts) => facts.plan === 'PREMIUM' && facts.accountAgeDays > 365 && isActive(facts),
  },
  {
    segmentId: 'anime-fans',
    name: 'Anime fans',
    description: 'Profiles that watch anime series and features.',
    definition: 'at least 3 watched titles in "Anime Series" or "Anime Features"',
    includes: (facts) => facts.animeCount >= 3,
  },
];

/** Ids of the segments the profile belongs to, in SAMPLE_SEGMENTS order. */
export const segmentsOf = (facts: ProfileFacts): string[] =>
  SAMPLE_SEGMENTS.filter((segment) => segment.includes(facts)).map((segment) => segment.segmentId);
