import { countryCode } from '../../gold/contract/common.schema.js';
import { badArgument } from '../catalog.errors.js';

/** The limits of the catalogue's arguments, stated once for the checks and the schema descriptions. */
export const CATALOG_LIMITS = {
  titlesIds: 100,
  browseFirst: { default: 20, min: 1, max: 100 },
  searchFirst: { default: 20, min: 1, max: 50 },
  searchText: { min: 1, max: 200 },
  castFirst: { default: 10, min: 0, max: 100 },
  genre: { min: 1, max: 100 },
} as const;

const shown = (value: string): string => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);

/** An Int argument with a default (also used for an explicit null) and an inclusive range. */
export const intArgument = (
  argument: string,
  value: number | null | undefined,
  rule: { readonly default: number; readonly min: number; readonly max: number },
): number => {
  const actual = value ?? rule.default;
  if (!Number.isInteger(actual) || actual < rule.min || actual > rule.max) {
    throw badArgument(argument, `must be an integer from ${rule.min} to ${rule.max} (got ${actual})`);
  }
  return actual;
};

export const countryArgument = (argument: string, value: string): string => {
  if (!countryCode.safeParse(value).success) {
    throw badArgument(
      argument,
      `must be an ISO 3166-1 alpha-2 country code in capitals, such as "US" (got ${shown(value)})`,
    );
  }
  return value;
};

/** A string argument whose length (in UTF-16 units, as GraphQL clients count) is within a range. */
export const lengthArgument = (
  argument: string,
  value: string,
  rule: { readonly min: number; readonly max: number },
): string => {
  if (value.length < rule.min || value.length > rule.max) {
    throw badArgument(argument, `must be ${rule.min} to ${rule.max} characters long (got ${value.length})`);
  }
  return value;
};
