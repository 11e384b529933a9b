import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { CursorSigner } from '../modules/cursors/cursor-signer.js';
import { Counters } from '../modules/telemetry/counters.service.js';
import { SegmentsError } from './segments.errors.js';
import type { MemberDocumentsPage, MemberRow, SegmentsRepository } from './segments.repository.js';
import { FILTERED_MEMBERS_METRIC, SegmentsService, type SegmentView } from './segments.service.js';

/**
 * Paging against a fake store that behaves like Cosmos DB: pages of at most maxItemCount rows,
 * sometimes fewer (a page may end early for its own reasons),
 * and continuation tokens that are positions independent of the page size.
 */
const fakeRepository = (rows: readonly MemberRow[], shortPages: readonly number[]) => {
  let call = 0;
  const repository = {
    calls: 0,
    memberPage: (
      _snapshotId: string,
      _segmentId: string,
      maxItemCount: number,
      continuation: string | null,
    ): Promise<MemberDocumentsPage> => {
      repository.calls += 1;
      const start = continuation === null ? 0 : Number(continuation.slice('pos:'.length));
      const cut = shortPages.length === 0 ? maxItemCount : shortPages[call++ % shortPages.length]!;
      const end = Math.min(rows.length, start + Math.min(maxItemCount, cut));
      return Promise.resolve({
        rows: rows.slice(start, end),
        continuation: end < rows.length ? `pos:${end}` : null,
      });
    },
    definitions: () => Promise.resolve([]),
    member: () => Promise.resolve(null),
  };
  return repository;
};

const registry = (readable: () => boolean) =>
  ({
    get: () => ({ dataset: 'segments', snapshotId: 's1', completedAt: '2026-01-01T00:00:00Z' }),
    isReadable: () => Promise.resolve(readable()),
  }) as unknown as SnapshotRegistry;

const config = new CursorSigner('unit-test-secret-unit-test-secret-0000');

const segment: SegmentView = {
  snapshotId: 's1',
  id: 'seg',
  name: 'Segment',
  description: null,
  definition: null,
  size: 0,
  reachableSize: 0,
  refreshedAt: new Date(0),
};

const memberRows = fc.array(fc.boolean(), { maxLength: 300 }).map((consents) =>
  consents.map((consent, i) => ({
    profileId: `p${i}`,
    accountId: `a${i}`,
    country: 'US',
    language: 'en',
    marketingConsent: consent,
  })),
);

describe('SegmentsService.members', () => {
  it('hands out every consented member exactly once, in order, whatever the page sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        memberRows,
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 5 }),
        async (rows, shortPages, sizes) => {
          const repository = fakeRepository(rows, shortPages);
          const counters = new Counters();
          const service = new SegmentsService(
            repository as unknown as SegmentsRepository,
            registry(() => true),
            counters,
            config,
          );
          const served: string[] = [];
          let after: string | undefined;
          for (let page = 0; ; page += 1) {
            const size = sizes[page % sizes.length]!;
            const result = await service.members(segment, size, after);
            expect(result.edges.length).toBeLessThanOrEqual(size);
            served.push(...result.edges.map((edge) => edge.node.profileId));
            if (!result.pageInfo.hasNextPage) break;
            after = result.pageInfo.endCursor!;
            expect(page).toBeLessThan(rows.length + 2);
          }
          const consented = rows.filter((row) => row.marketingConsent).map((row) => row.profileId);
          expect(served).toEqual(consented);
          // Every member without consent is counted once as held back.
          expect(
            counters.value(FILTERED_MEMBERS_METRIC, { operation: 'members', reason: 'no_consent' }),
          ).toBe(rows.length - consented.length);
        },
      ),
    );
  });

  it('resumes from any edge cursor, not only the last one', async () => {
    await fc.assert(
      fc.asyncProperty(memberRows, fc.integer({ min: 1, max: 50 }), fc.nat(), async (rows, size, pick) => {
        const service = new SegmentsService(
          fakeRepository(rows, []) as unknown as SegmentsRepository,
          registry(() => true),
          new Counters(),
          config,
        );
        const first = await service.members(segment, size, undefined);
        fc.pre(first.edges.length > 0);
        const at = pick % first.edges.length;
        const rest = await service.members(segment, 1000, first.edges[at]!.cursor);
        const consented = rows.filter((row) => row.marketingConsent).map((row) => row.profileId);
        expect([...first.edges.slice(0, at + 1), ...rest.edges].map((edge) => edge.node.profileId)).toEqual(
          consented,
        );
      }),
    );
  });

  it('gets through a long run of members without consent, a bounded number of reads at a time', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({
      profileId: `p${i}`,
      accountId: 'a',
      country: 'US',
      language: null,
      marketingConsent: i === 199,
    }));
    const repository = fakeRepository(rows, [1]);
    const service = new SegmentsService(
      repository as unknown as SegmentsRepository,
      registry(() => true),
      new Counters(),
      config,
    );
    const first = await service.members(segment, 10, undefined);
    expect(first.edges).toEqual([]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(repository.calls).toBeLessThanOrEqual(25);
    let page = first;
    const served: string[] = [];
    while (page.pageInfo.hasNextPage) {
      page = await service.members(segment, 10, page.pageInfo.endCursor!);
      served.push(...page.edges.map((edge) => edge.node.profileId));
    }
    expect(served).toEqual(['p199']);
  });

  it('fails with SNAPSHOT_EXPIRED when the snapshot stops being readable', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({
      profileId: `p${i}`,
      accountId: 'a',
      country: 'US',
      language: null,
      marketingConsent: true,
    }));
    let readable = true;
    const service = new SegmentsService(
      fakeRepository(rows, []) as unknown as SegmentsRepository,
      registry(() => readable),
      new Counters(),
      config,
    );
    const page = await service.members(segment, 10, undefined);
    readable = false;
    await expect(service.members(segment, 10, page.pageInfo.endCursor!)).rejects.toMatchObject({
      code: 'SNAPSHOT_EXPIRED',
    });
    await expect(service.members(segment, 10, page.pageInfo.endCursor!)).rejects.toBeInstanceOf(
      SegmentsError,
    );
  });
});
