import { z } from 'zod';

import { countryCode, goldId, isoDate } from './common.schema.js';

/** One partner-owned title's performance on one day, broken down by country. */
export const partnerMetricRecord = z.strictObject({
  partnerId: goldId,
  titleId: goldId,
  day: isoDate,
  byCountry: z
    .array(
      z.strictObject({
        country: countryCode,
        views: z.number().int().min(0),
        hoursViewed: z.number().min(0).finite(),
        completionRate: z.number().min(0).max(1),
      }),
    )
    .max(300),
});

export type PartnerMetricRecord = z.infer<typeof partnerMetricRecord>;
