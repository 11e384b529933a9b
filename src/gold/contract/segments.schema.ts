import { z } from 'zod';

import { countryCode, goldId, isoDateTime, languageCode } from './common.schema.js';

/** A marketing segment's definition. Lives in the segment's partition beside its members. */
export const segmentDefinitionRecord = z.strictObject({
  type: z.literal('definition'),
  segmentId: goldId,
  name: z.string().min(1).max(200),
  description: z.string().max(2000).nullable(),
  /** The human-readable rule the pipeline applied. */
  definition: z.string().max(2000).nullable(),
  size: z.number().int().min(0),
  reachableSize: z.number().int().min(0),
  refreshedAt: isoDateTime,
});

/** One profile in a segment; only members with marketingConsent may ever be served. */
export const segmentMemberRecord = z.strictObject({
  type: z.literal('member'),
  segmentId: goldId,
  profileId: goldId,
  accountId: goldId,
  country: countryCode,
  language: languageCode.nullable(),
  marketingConsent: z.boolean(),
});

export const segmentRecord = z.discriminatedUnion('type', [segmentDefinitionRecord, segmentMemberRecord]);

export type SegmentRecord = z.infer<typeof segmentRecord>;
export type SegmentDefinitionRecord = z.infer<typeof segmentDefinitionRecord>;
export type SegmentMemberRecord = z.infer<typeof segmentMemberRecord>;
