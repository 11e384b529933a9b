import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { dueDays } from './export-scheduler.service.js';

describe(dueDays.name, () => {
  it('exports yesterday once today’s run time has passed, and makes up the catch-up window', () => {
    const daily = { hour: 2, minute: 30 };
    expect(dueDays(new Date('2026-11-27T02:29:59Z'), daily, 0)).toEqual([]);
    expect(dueDays(new Date('2026-11-27T02:30:00Z'), daily, 0)).toEqual(['2026-11-26']);
    expect(dueDays(new Date('2026-11-27T01:00:00Z'), daily, 2)).toEqual(['2026-11-24', '2026-11-25']);
    expect(dueDays(new Date('2026-03-01T12:00:00Z'), daily, 1)).toEqual(['2026-02-27', '2026-02-28']);
  });

  it('names consecutive past days, oldest first, never today, at most catch-up + 1', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2100-01-01T00:00:00Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 60 }),
        (now, hour, minute, catchUp) => {
          const days = dueDays(now, { hour, minute }, catchUp);
          const today = now.toISOString().slice(0, 10);
          expect(days.length).toBeGreaterThanOrEqual(catchUp);
          expect(days.length).toBeLessThanOrEqual(catchUp + 1);
          for (const [i, day] of days.entries()) {
            expect(day < today).toBe(true);
            if (i > 0) expect(Date.parse(day) - Date.parse(days[i - 1]!)).toBe(86_400_000);
          }
        },
      ),
    );
  });
});
