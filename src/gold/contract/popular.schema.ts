import { z } from 'zod';

import { countryCode, deviceClass, goldId } from './common.schema.js';

/** The most popular titles for one country and device class, ranked, most popular first. */
export const popularRecord = z.strictObject({
  country: countryCode,
  device: deviceClass,
  titleIds: z.array(goldId).min(1).max(500),
});

export type PopularRecord = z.infer<typeof popularRecord>;
