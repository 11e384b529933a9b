import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { deviceClasses } from '../gold/contract/common.schema.js';
import { resolveRowLimits, ROW_LIMITS, RowLimitError } from './row-limits.js';

describe(resolveRowLimits.name, () => {
  it('gives each device class its defaults when nothing is asked', () => {
    expect(resolveRowLimits('TV')).toEqual({ rows: 8, titlesPerRow: 20 });
    expect(resolveRowLimits('WEB', null, null)).toEqual({ rows: 10, titlesPerRow: 25 });
    expect(resolveRowLimits('TABLET', undefined, 5)).toEqual({ rows: 8, titlesPerRow: 5 });
    expect(resolveRowLimits('MOBILE', 3)).toEqual({ rows: 3, titlesPerRow: 12 });
  });

  it('keeps every default within its maximum', () => {
    for (const device of deviceClasses) {
      const { default: defaults, max } = ROW_LIMITS[device];
      expect(defaults.rows).toBeLessThanOrEqual(max.rows);
      expect(defaults.titlesPerRow).toBeLessThanOrEqual(max.titlesPerRow);
    }
  });

  it('accepts any integer from 1 to the device maximum', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...deviceClasses)
          .chain((device) =>
            fc.tuple(
              fc.constant(device),
              fc.integer({ min: 1, max: ROW_LIMITS[device].max.rows }),
              fc.integer({ min: 1, max: ROW_LIMITS[device].max.titlesPerRow }),
            ),
          ),
        ([device, rows, titlesPerRow]) => {
          expect(resolveRowLimits(device, rows, titlesPerRow)).toEqual({ rows, titlesPerRow });
        },
      ),
    );
  });

  it('rejects anything else with an error naming the argument and the rule', () => {
    const invalid = fc.oneof(
      fc.integer({ max: 0 }),
      fc.integer({ min: 51 }),
      fc.double({ noInteger: true }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...deviceClasses),
        fc.constantFrom('rows' as const, 'titlesPerRow' as const),
        invalid,
        (device, argument, value) => {
          const call = (): unknown =>
            argument === 'rows'
              ? resolveRowLimits(device, value)
              : resolveRowLimits(device, undefined, value);
          expect(call).toThrow(RowLimitError);
          try {
            call();
          } catch (error) {
            expect(error).toMatchObject({ argument, name: 'RowLimitError' });
            expect((error as Error).message).toBe(
              `Argument "${argument}" must be an integer from 1 to ${ROW_LIMITS[device].max[argument]} on ${device} devices, got ${value}.`,
            );
          }
        },
      ),
    );
  });

  it('rejects one past the maximum of each device', () => {
    expect(() => resolveRowLimits('MOBILE', 11)).toThrow(
      'Argument "rows" must be an integer from 1 to 10 on MOBILE devices, got 11.',
    );
    expect(() => resolveRowLimits('TV', 12, 41)).toThrow(
      'Argument "titlesPerRow" must be an integer from 1 to 40',
    );
  });
});
