import { z } from 'zod';

export const GOLD_SCHEMA_VERSION = 1;

/** Ids are used inside Cosmos document ids, which forbid `/ \ ? #`; `:` separates the id parts. */
export const goldId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.-]+$/, 'must contain only letters, digits, "_", "." and "-"');

export const countryCode = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as "US"');
export const languageCode = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'must be a BCP 47 language tag such as "en" or "pt-BR"');
export const isoDate = z.iso.date({ message: 'must be a date as YYYY-MM-DD' });
export const isoDateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' });

export const deviceClasses = ['TV', 'MOBILE', 'WEB', 'TABLET'] as const;
export const deviceClass = z.enum(deviceClasses);
export type DeviceClass = z.infer<typeof deviceClass>;

/** Maturity levels, lowest first: 1 little kids, 2 older kids, 3 teens, 4 adults. */
export const maturityLevel = z.number().int().min(1).max(4);
