import type { DeviceClass } from '../gold/contract/common.schema.js';

export interface RowLimits {
  /** Rows on the page. */
  readonly rows: number;
  /** Titles in each row. */
  readonly titlesPerRow: number;
}

export interface DeviceRowLimits {
  /** What a device gets when it does not ask. */
  readonly default: RowLimits;
  /** The most a device may ask for. */
  readonly max: RowLimits;
}

/** Home page size per device class: what fits a screen by default, and a cap on what a client may ask. */
export const ROW_LIMITS: Readonly<Record<DeviceClass, DeviceRowLimits>> = Object.freeze({
  TV: { default: { rows: 8, titlesPerRow: 20 }, max: { rows: 12, titlesPerRow: 40 } },
  WEB: { default: { rows: 10, titlesPerRow: 25 }, max: { rows: 15, titlesPerRow: 50 } },
  TABLET: { default: { rows: 8, titlesPerRow: 20 }, max: { rows: 12, titlesPerRow: 40 } },
  MOBILE: { default: { rows: 6, titlesPerRow: 12 }, max: { rows: 10, titlesPerRow: 25 } },
});

/** A requested row limit outside what the device class allows; a client error (BAD_USER_INPUT). */
export class RowLimitError extends Error {
  override readonly name = 'RowLimitError';

  constructor(
    /** The GraphQL argument at fault: `rows` or `titlesPerRow`. */
    readonly argument: 'rows' | 'titlesPerRow',
    message: string,
  ) {
    super(message);
  }
}

const resolveOne = (
  argument: 'rows' | 'titlesPerRow',
  requested: number | null | undefined,
  device: DeviceClass,
  limits: DeviceRowLimits,
): number => {
  if (requested === null || requested === undefined) return limits.default[argument];
  const max = limits.max[argument];
  if (!Number.isInteger(requested) || requested < 1 || requested > max) {
    throw new RowLimitError(
      argument,
      `Argument "${argument}" must be an integer from 1 to ${max} on ${device} devices, got ${requested}.`,
    );
  }
  return requested;
};

/**
 * The row limits of one home page: the device's defaults where `rows` or `titlesPerRow` is omitted
 * (undefined or null), else the requested values. Throws a {@link RowLimitError} for a value that is
 * not an integer from 1 to the device's maximum.
 */
export const resolveRowLimits = (
  device: DeviceClass,
  rows?: number | null,
  titlesPerRow?: number | null,
): RowLimits => {
  const limits = ROW_LIMITS[device];
  return {
    rows: resolveOne('rows', rows, device, limits),
    titlesPerRow: resolveOne('titlesPerRow', titlesPerRow, device, limits),
  };
};
