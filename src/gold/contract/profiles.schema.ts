import { z } from 'zod';

import { countryCode, goldId, isoDateTime, languageCode, maturityLevel } from './common.schema.js';

export const recommendationReasonKinds = [
  'BECAUSE_YOU_WATCHED',
  'GENRE',
  'CAST',
  'DIRECTOR',
  'POPULAR',
] as const;

export const recommendationReason = z
  .strictObject({
    kind: z.enum(recommendationReasonKinds),
    /** The watched title a BECAUSE_YOU_WATCHED, CAST or DIRECTOR reason points at. */
    sourceTitleId: goldId.nullable(),
    /** The genre of a GENRE reason, the person of a CAST or DIRECTOR reason. */
    detail: z.string().min(1).max(200).nullable(),
  })
  .refine((reason) => reason.kind !== 'BECAUSE_YOU_WATCHED' || reason.sourceTitleId !== null, {
    message: 'a BECAUSE_YOU_WATCHED reason needs sourceTitleId',
    path: ['sourceTitleId'],
  });

export const continueWatchingEntry = z
  .strictObject({
    titleId: goldId,
    positionSeconds: z.number().int().min(0),
    durationSeconds: z.number().int().positive(),
    updatedAt: isoDateTime,
  })
  .refine((entry) => entry.positionSeconds <= entry.durationSeconds, {
    message: 'positionSeconds must not exceed durationSeconds',
    path: ['positionSeconds'],
  });

/** One profile's personal gold: who it is, what it watched, and its ranked recommendations. */
export const profileRecord = z.strictObject({
  profileId: goldId,
  accountId: goldId,
  country: countryCode,
  language: languageCode,
  kids: z.boolean(),
  maturityLevel,
  marketingConsent: z.boolean(),
  watched: z.array(goldId).max(5000),
  continueWatching: z.array(continueWatchingEntry).max(200),
  /** Ranked, best first. */
  recommendations: z
    .array(z.strictObject({ titleId: goldId, score: z.number().finite(), reason: recommendationReason }))
    .max(500),
  /** Genres the profile watches most, strongest first. */
  tasteGenres: z.array(z.string().min(1).max(100)).max(20),
  segments: z.array(goldId).max(200),
});

export type ProfileRecord = z.infer<typeof profileRecord>;
export type RecommendationReason = z.infer<typeof recommendationReason>;
