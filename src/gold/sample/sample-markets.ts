/** The markets of the sample platform: ISO code, relative member share, and the languages spoken there. */
export interface SampleMarket {
  country: string;
  /** Catalogue country name(s) as written in the CSV's `country` column. */
  names: readonly string[];
  /** Relative share of members (and of partner audience). */
  weight: number;
  /** BCP 47 tags with their share among the market's profiles; the first one is the main language. */
  languages: readonly (readonly [tag: string, share: number])[];
}

export const SAMPLE_MARKETS: readonly SampleMarket[] = [
  {
    country: 'US',
    names: ['United States'],
    weight: 30,
    languages: [
      ['en-US', 0.88],
      ['es-US', 0.12],
    ],
  },
  {
    country: 'CA',
    names: ['Canada'],
    weight: 5,
    languages: [
      ['en-CA', 0.78],
      ['fr-CA', 0.22],
    ],
  },
  { country: 'MX', names: ['Mexico'], weight: 6, languages: [['es-MX', 1]] },
  { country: 'BR', names: ['Brazil'], weight: 8, languages: [['pt-BR', 1]] },
  { country: 'AR', names: ['Argentina'], weight: 2, languages: [['es-AR', 1]] },
  { country: 'GB', names: ['United Kingdom'], weight: 7, languages: [['en-GB', 1]] },
  { country: 'IE', names: ['Ireland'], weight: 1, languages: [['en-IE', 1]] },
  { country: 'FR', names: ['France'], weight: 5, languages: [['fr-FR', 1]] },
  { country: 'DE', names: ['Germany', 'West Germany', 'East Germany'], weight: 5, languages: [['de-DE', 1]] },
  { country: 'ES', names: ['Spain'], weight: 4, languages: [['es-ES', 1]] },
  { country: 'IT', names: ['Italy'], weight: 3, languages: [['it-IT', 1]] },
  {
    country: 'NL',
    names: ['Netherlands'],
    weight: 2,
    languages: [
      ['nl-NL', 0.9],
      ['en-GB', 0.1],
    ],
  },
  {
    country: 'SE',
    names: ['Sweden'],
    weight: 1.5,
    languages: [
      ['sv-SE', 0.9],
      ['en-GB', 0.1],
    ],
  },
  { country: 'PL', names: ['Poland'], weight: 2, languages: [['pl-PL', 1]] },
  {
    country: 'IN',
    names: ['India'],
    weight: 6,
    languages: [
      ['en-IN', 0.6],
      ['hi-IN', 0.4],
    ],
  },
  { country: 'JP', names: ['Japan'], weight: 3, languages: [['ja-JP', 1]] },
  { country: 'KR', names: ['South Korea'], weight: 3, languages: [['ko-KR', 1]] },
  { country: 'AU', names: ['Australia'], weight: 3, languages: [['en-AU', 1]] },
  { country: 'NZ', names: ['New Zealand'], weight: 1, languages: [['en-NZ', 1]] },
  { country: 'ZA', names: ['South Africa'], weight: 1.5, languages: [['en-ZA', 1]] },
  { country: 'NG', names: ['Nigeria'], weight: 1, languages: [['en-NG', 1]] },
  { country: 'TR', names: ['Turkey'], weight: 2, languages: [['tr-TR', 1]] },
  {
    country: 'SG',
    names: ['Singapore'],
    weight: 1,
    languages: [
      ['en-SG', 0.85],
      ['zh-SG', 0.15],
    ],
  },
  { country: 'EG', names: ['Egypt'], weight: 1, languages: [['ar-EG', 1]] },
];

export const SAMPLE_COUNTRIES: readonly string[] = SAMPLE_MARKETS.map((market) => market.country);

const countryByName = new Map(
  SAMPLE_MARKETS.flatMap((market) => market.names.map((name) => [name, market.country])),
);

/** ISO code of a catalogue country name when it is one of the sample markets. */
export const marketOfCountryName = (name: string): string | undefined => countryByName.get(name);
