import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { DatasetFreshness, readFreshness } from './freshness.js';

const policy = { objectiveSeconds: 3600, hardLimitSeconds: 7200 };
const now = Date.parse('2026-11-27T12:00:00Z');

describe(readFreshness.name, () => {
  it('is MISSING without a completed snapshot', () => {
    expect(readFreshness(null, policy, now)).toEqual({ status: DatasetFreshness.MISSING, ageSeconds: null });
  });

  it('classifies every age by the objective and the hard limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), (age) => {
        const reading = readFreshness(new Date(now - age * 1000).toISOString(), policy, now);
        expect(reading.ageSeconds).toBe(age);
        const expected =
          age > policy.hardLimitSeconds
            ? DatasetFreshness.EXPIRED
            : age > policy.objectiveSeconds
              ? DatasetFreshness.STALE
              : DatasetFreshness.FRESH;
        expect(reading.status).toBe(expected);
      }),
    );
  });
});
