import { Injectable } from '@nestjs/common';

import { goldId } from '../gold/contract/common.schema.js';
import type { SegmentDefinitionRecord } from '../gold/contract/segments.schema.js';
import { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { CursorSigner } from '../modules/cursors/cursor-signer.js';
import { Counters } from '../modules/telemetry/counters.service.js';
import { SegmentCursorCodec, SegmentCursorError } from './segment-cursor.js';
import { badArgument, snapshotExpired } from './segments.errors.js';
import { SegmentsRepository, type MemberRow } from './segments.repository.js';

/** A segment definition as served: from one snapshot of the segments dataset. */
export interface SegmentView {
  snapshotId: string;
  id: string;
  name: string;
  description: string | null;
  definition: string | null;
  size: number;
  reachableSize: number;
  refreshedAt: Date;
}

/** What a marketing client may know of a member; nothing more personal is ever read. */
export interface MemberView {
  profileId: string;
  accountId: string;
  country: string;
  language: string | null;
}

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export const SEGMENT_LIMITS = {
  segmentsDefault: 50,
  segmentsMax: 100,
  membersDefault: 1000,
  membersMax: 1000,
} as const;

/** Largest Cosmos page asked for while filling one page of members. */
const MAX_FETCH = 2000;
/** Most Cosmos pages read for one page of members (a long run of members without consent ends it early). */
const MAX_FETCHES = 25;
/** Directories (definitions of one snapshot) kept in memory: the active one and a few older ones still paged. */
const DIRECTORIES_KEPT = 4;
/** Membership point reads in flight for one profileSegments request. */
const MEMBERSHIP_CONCURRENCY = 8;

export const FILTERED_MEMBERS_METRIC = 'segment_members_filtered_total';

/**
 * The marketing API over the `segments` gold: segment definitions (kept in memory per snapshot),
 * pages of consented members (single-partition Cosmos queries resumed by signed cursors pinned to
 * the snapshot they began on) and a profile's segments (point reads).
 *
 * Consent is enforced here whatever the gold says: a member document without `marketingConsent:
 * true` is never returned, and each one held back is counted in `segment_members_filtered_total`.
 */
@Injectable()
export class SegmentsService {
  private readonly cursors: SegmentCursorCodec;
  private readonly directories = new Map<string, Promise<SegmentView[]>>();

  constructor(
    private readonly repository: SegmentsRepository,
    private readonly registry: SnapshotRegistry,
    private readonly counters: Counters,
    signer: CursorSigner,
  ) {
    this.cursors = new SegmentCursorCodec(signer);
  }

  /** Segment definitions ordered by id, a page at a time; a cursor keeps the snapshot it began on. */
  async list(first: number | undefined, after: string | undefined): Promise<Page<SegmentView>> {
    const size = pageSize('first', first, SEGMENT_LIMITS.segmentsDefault, SEGMENT_LIMITS.segmentsMax);
    let snapshotId: string | undefined;
    let afterId: string | undefined;
    if (after === undefined) {
      snapshotId = this.registry.get('segments')?.snapshotId;
      if (snapshotId === undefined) return emptyPage();
    } else {
      const position = this.decode(after, 'segments');
      ({ snapshotId, afterSegmentId: afterId } = position);
      if (!(await this.registry.isReadable('segments', snapshotId))) throw snapshotExpired(snapshotId);
    }
    const directory = await this.directory(snapshotId);
    const start = afterId === undefined ? 0 : directory.findIndex((segment) => segment.id > afterId);
    const slice = start < 0 ? [] : directory.slice(start, start + size);
    const pinned = snapshotId;
    const edges = slice.map((node) => ({
      cursor: this.cursors.encode({ kind: 'segments', snapshotId: pinned, afterSegmentId: node.id }),
      node,
    }));
    return {
      edges,
      pageInfo: {
        hasNextPage: start >= 0 && start + size < directory.length,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }

  /** A segment of the active snapshot; null when there is no such segment (or no segments gold yet). */
  async get(id: string): Promise<SegmentView | null> {
    const snapshotId = this.registry.get('segments')?.snapshotId;
    if (snapshotId === undefined || !goldId.safeParse(id).success) return null;
    return (await this.directory(snapshotId)).find((segment) => segment.id === id) ?? null;
  }

  /**
   * A page of the segment's consented members. Without `after` it pages the snapshot `segment` was
   * read from; with it, the snapshot the cursor began on, for as long as that snapshot is listed
   * COMPLETE in the manifest (checked after reading, so a page never comes from a half-pruned one).
   */
  async members(
    segment: SegmentView,
    first: number | undefined,
    after: string | undefined,
  ): Promise<Page<MemberView>> {
    const size = pageSize('first', first, SEGMENT_LIMITS.membersDefault, SEGMENT_LIMITS.membersMax);
    let snapshotId = segment.snapshotId;
    let continuation: string | null = null;
    let skip = 0;
    if (after !== undefined) {
      const position = this.decode(after, 'members');
      if (position.segmentId !== segment.id) {
        throw badArgument(
          'after',
          `is a cursor of segment "${position.segmentId}", not of "${segment.id}"; pass the endCursor of this segment's members`,
        );
      }
      ({ snapshotId, continuation, skip } = position);
    }

    const edges: Page<MemberView>['edges'] = [];
    let filtered = 0;
    let hasNextPage = false;
    /** The next row to examine: a Cosmos page (by its continuation) and how many of its rows are done. */
    let position = { continuation, skip };
    const cursorAt = (at: { continuation: string | null; skip: number }) =>
      this.cursors.encode({ kind: 'members', snapshotId, segmentId: segment.id, ...at });
    fill: for (let fetches = 0; ; fetches += 1) {
      if (fetches === MAX_FETCHES) {
        // Rows without consent only, for a long stretch: hand back what there is and where to go on.
        hasNextPage = true;
        break;
      }
      const want = size - edges.length;
      const page = await this.repository.memberPage(
        snapshotId,
        segment.id,
        Math.min(MAX_FETCH, position.skip + want * 2),
        position.continuation,
      );
      for (let i = position.skip; i < page.rows.length; i += 1) {
        const row = page.rows[i]!;
        if (row.marketingConsent !== true) {
          filtered += 1;
          continue;
        }
        if (edges.length === size) {
          // One consented member past the full page: the next page starts with it.
          hasNextPage = true;
          position = { continuation: position.continuation, skip: i };
          break fill;
        }
        // After the last row of a Cosmos page, resume at the next page rather than re-reading this one.
        const next =
          i + 1 === page.rows.length && page.continuation !== null
            ? { continuation: page.continuation, skip: 0 }
            : { continuation: position.continuation, skip: i + 1 };
        edges.push({ cursor: cursorAt(next), node: toMemberView(row) });
      }
      if (page.continuation === null) break;
      position = { continuation: page.continuation, skip: Math.max(0, position.skip - page.rows.length) };
      if (edges.length === size) {
        // Full, and this Cosmos page is used up: more members may follow (or the next page is empty).
        hasNextPage = true;
        break;
      }
    }

    const endCursor = hasNextPage ? cursorAt(position) : (edges.at(-1)?.cursor ?? null);
    if (!(await this.registry.isReadable('segments', snapshotId))) throw snapshotExpired(snapshotId);
    this.countFiltered('members', filtered);
    return { edges, pageInfo: { hasNextPage, endCursor } };
  }

  /** The active snapshot's segments this profile is a consented member of, ordered by id. */
  async ofProfile(profileId: string): Promise<SegmentView[]> {
    if (!goldId.safeParse(profileId).success) {
      throw badArgument('profileId', 'is not a profile id (letters, digits, "_", "." and "-", at most 128)');
    }
    const snapshotId = this.registry.get('segments')?.snapshotId;
    if (snapshotId === undefined) return [];
    const directory = await this.directory(snapshotId);
    const memberships: (MemberRow | null)[] = new Array<MemberRow | null>(directory.length).fill(null);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < directory.length) {
        const at = next++;
        memberships[at] = await this.repository.member(snapshotId, directory[at]!.id, profileId);
      }
    };
    await Promise.all(Array.from({ length: Math.min(MEMBERSHIP_CONCURRENCY, directory.length) }, worker));
    const refused = memberships.filter((row) => row !== null && row.marketingConsent !== true).length;
    this.countFiltered('profileSegments', refused);
    return directory.filter((_, at) => memberships[at]?.marketingConsent === true);
  }

  private countFiltered(operation: string, count: number): void {
    if (count > 0)
      this.counters.increment(FILTERED_MEMBERS_METRIC, { operation, reason: 'no_consent' }, count);
  }

  private decode<K extends 'members' | 'segments'>(cursor: string, kind: K) {
    try {
      return this.cursors.decode(cursor, kind);
    } catch (error) {
      if (error instanceof SegmentCursorError) {
        throw badArgument(
          'after',
          `${error.message}; pass an endCursor this API returned, or omit it to start over`,
        );
      }
      throw error;
    }
  }

  /** The definitions of a snapshot ordered by id, read once and kept for the next requests. */
  private directory(snapshotId: string): Promise<SegmentView[]> {
    let directory = this.directories.get(snapshotId);
    if (directory === undefined) {
      directory = this.repository.definitions(snapshotId).then((records) => toDirectory(snapshotId, records));
      directory.catch(() => this.directories.delete(snapshotId));
      this.directories.set(snapshotId, directory);
      while (this.directories.size > DIRECTORIES_KEPT) {
        this.directories.delete(this.directories.keys().next().value!);
      }
    }
    return directory;
  }
}

const pageSize = (argument: string, value: number | undefined, fallback: number, max: number): number => {
  const size = value ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > max) {
    throw badArgument(argument, `must be between 1 and ${max} (got ${size})`);
  }
  return size;
};

const emptyPage = <T>(): Page<T> => ({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });

const toMemberView = (row: MemberRow): MemberView => ({
  profileId: row.profileId,
  accountId: row.accountId,
  country: row.country,
  language: row.language ?? null,
});

const toDirectory = (snapshotId: string, records: readonly SegmentDefinitionRecord[]): SegmentView[] =>
  records
    .map((record) => ({
      snapshotId,
      id: record.segmentId,
      name: record.name,
      description: record.description,
      definition: record.definition,
      size: record.size,
      reachableSize: record.reachableSize,
      refreshedAt: new Date(record.refreshedAt),
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
