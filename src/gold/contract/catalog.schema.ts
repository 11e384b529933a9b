import { z } from 'zod';

import { countryCode, goldId, isoDate, isoDateTime, maturityLevel } from './common.schema.js';

export const titleKinds = ['MOVIE', 'SHOW'] as const;

const artworkImage = z.strictObject({
  url: z.url({ protocol: /^https$/ }),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

export const availabilityWindow = z
  .strictObject({
    country: countryCode,
    from: isoDate,
    /** Last day the licence allows (inclusive); null for open-ended. */
    to: isoDate.nullable(),
  })
  .refine((window) => window.to === null || window.to >= window.from, {
    message: '"to" must not be before "from"',
    path: ['to'],
  });

/** One title of the catalogue: a movie (with a duration) or a show (with a season count). */
export const catalogRecord = z
  .strictObject({
    titleId: goldId,
    kind: z.enum(titleKinds),
    name: z.string().min(1).max(500),
    synopsis: z.string().max(5000).nullable(),
    genres: z.array(z.string().min(1).max(100)).max(50),
    cast: z.array(z.string().min(1).max(200)).max(500),
    directors: z.array(z.string().min(1).max(200)).max(100),
    originCountries: z.array(z.string().min(1).max(100)).max(50),
    releaseYear: z.number().int().min(1880).max(2100).nullable(),
    maturityRating: z.string().min(1).max(20).nullable(),
    maturityLevel,
    durationMinutes: z.number().int().positive().max(1000).nullable(),
    seasonCount: z.number().int().positive().max(100).nullable(),
    addedAt: isoDateTime.nullable(),
    availability: z.array(availabilityWindow).max(1000),
    artwork: z.strictObject({ SMALL: artworkImage, MEDIUM: artworkImage, LARGE: artworkImage }),
    partnerId: goldId.nullable(),
  })
  .refine((title) => title.kind !== 'MOVIE' || title.seasonCount === null, {
    message: 'a MOVIE has no seasonCount',
    path: ['seasonCount'],
  })
  .refine((title) => title.kind !== 'SHOW' || title.durationMinutes === null, {
    message: 'a SHOW has no durationMinutes',
    path: ['durationMinutes'],
  });

export type CatalogRecord = z.infer<typeof catalogRecord>;
export type AvailabilityWindow = z.infer<typeof availabilityWindow>;
