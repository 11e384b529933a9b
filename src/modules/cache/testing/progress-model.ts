import fc from 'fast-check';

import type { ProgressEntry } from '../playback-progress.store.js';

/**
 * What a progress store must list after `writes`, worked out the plain way: per title the latest
 * report that is not older than the one before it, then the `max` newest titles, newest first
 * (equal instants by title id in byte order).
 */
export const expectedProgress = (writes: readonly ProgressEntry[], max: number): ProgressEntry[] => {
  const byTitle = new Map<string, ProgressEntry>();
  for (const write of writes) {
    const current = byTitle.get(write.titleId);
    if (current === undefined || Date.parse(write.updatedAt) >= Date.parse(current.updatedAt)) {
      byTitle.set(write.titleId, write);
    }
  }
  return [...byTitle.values()]
    .sort(
      (a, b) =>
        Date.parse(b.updatedAt) - Date.parse(a.updatedAt) ||
        Buffer.compare(Buffer.from(a.titleId), Buffer.from(b.titleId)),
    )
    .slice(0, max);
};

const base = Date.UTC(2026, 2, 15);

/**
 * Reports over a few titles (some non-ASCII, to hold byte order to account) and a few instants,
 * so that the same title, the same instant and out-of-order reports all come up.
 */
export const progressWrites = (maxLength = 60): fc.Arbitrary<ProgressEntry[]> =>
  fc.array(
    fc.record({
      titleId: fc.oneof(
        fc.constantFrom('t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8'),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }),
      ),
      positionSeconds: fc.nat(7200),
      durationSeconds: fc.integer({ min: 1, max: 7200 }),
      updatedAt: fc.nat(30).map((second) => new Date(base + second * 1000).toISOString()),
    }),
    { maxLength },
  );
