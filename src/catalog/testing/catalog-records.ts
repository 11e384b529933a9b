import type { CatalogRecord } from '../../gold/contract/catalog.schema.js';

const image = (titleId: string, width: number, height: number) => ({
  url: `https://img.flick.example/${titleId}/${width}x${height}.jpg`,
  width,
  height,
});

/**
 * A valid catalogue record for tests: a movie available everywhere it is listed from 2000 on, with
 * the given fields replaced. Shared by the catalogue's specs and usable by end-to-end tests.
 */
export const catalogRecordOf = (
  fields: Partial<CatalogRecord> & Pick<CatalogRecord, 'titleId'>,
): CatalogRecord => ({
  kind: 'MOVIE',
  name: `Title ${fields.titleId}`,
  synopsis: null,
  genres: [],
  cast: [],
  directors: [],
  originCountries: [],
  releaseYear: 2020,
  maturityRating: 'PG',
  maturityLevel: 2,
  durationMinutes: 90,
  seasonCount: null,
  addedAt: '2021-01-01T00:00:00Z',
  availability: [{ country: 'US', from: '2000-01-01', to: null }],
  artwork: {
    SMALL: image(fields.titleId, 160, 90),
    MEDIUM: image(fields.titleId, 480, 270),
    LARGE: image(fields.titleId, 1280, 720),
  },
  partnerId: null,
  ...fields,
});
