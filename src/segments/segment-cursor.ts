import { z } from 'zod';

import { CursorSignatureError, type CursorSigner } from '../modules/cursors/cursor-signer.js';

/**
 * Cursors of the marketing API, sealed by the {@link CursorSigner}: a small versioned payload naming
 * what is being paged (the segment list or one segment's members), the gold snapshot the job
 * started on and where the next page starts (a Cosmos continuation token, which must never come
 * from a client unsigned).
 */

const CURSOR_VERSION = 1;

/** Where the next page of a segment's members starts, on the snapshot the paging began on. */
export interface MembersPosition {
  readonly kind: 'members';
  readonly snapshotId: string;
  readonly segmentId: string;
  /** Continuation token of the Cosmos page to read next; null: the partition's first page. */
  readonly continuation: string | null;
  /** Documents of that page already handed out (a page may end in the middle of a Cosmos page). */
  readonly skip: number;
}

/** Where the next page of the segment list starts: after this segment id, on this snapshot. */
export interface SegmentsPosition {
  readonly kind: 'segments';
  readonly snapshotId: string;
  readonly afterSegmentId: string;
}

export type SegmentCursorPosition = MembersPosition | SegmentsPosition;

const membersPayload = z.strictObject({
  v: z.literal(CURSOR_VERSION),
  k: z.literal('members'),
  s: z.string().min(1).max(200),
  g: z.string().min(1).max(200),
  c: z.string().min(1).max(2048).nullable(),
  n: z.number().int().min(0).max(100_000),
});
const segmentsPayload = z.strictObject({
  v: z.literal(CURSOR_VERSION),
  k: z.literal('segments'),
  s: z.string().min(1).max(200),
  a: z.string().min(1).max(200),
});
const payload = z.discriminatedUnion('k', [membersPayload, segmentsPayload]);

/** Why a cursor was refused; the message is written for the client. */
export class SegmentCursorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SegmentCursorError';
  }
}

export class SegmentCursorCodec {
  constructor(private readonly signer: CursorSigner) {}

  encode(position: SegmentCursorPosition): string {
    return this.signer.seal(
      position.kind === 'members'
        ? {
            v: CURSOR_VERSION,
            k: position.kind,
            s: position.snapshotId,
            g: position.segmentId,
            c: position.continuation,
            n: position.skip,
          }
        : { v: CURSOR_VERSION, k: position.kind, s: position.snapshotId, a: position.afterSegmentId },
    );
  }

  /**
   * The position a cursor of `kind` holds. Anything not issued by this service with this secret for
   * that kind of listing (garbled, truncated, edited, signed with another secret, a members cursor
   * passed to the segment list) throws a {@link SegmentCursorError}, and nothing else is thrown.
   */
  decode<K extends SegmentCursorPosition['kind']>(
    cursor: string,
    kind: K,
  ): Extract<SegmentCursorPosition, { kind: K }> {
    let opened: unknown;
    try {
      opened = this.signer.open(cursor);
    } catch (error) {
      if (error instanceof CursorSignatureError) throw new SegmentCursorError(error.message);
      throw error;
    }
    const parsed = payload.safeParse(opened);
    if (!parsed.success) throw new SegmentCursorError('is not a cursor of segments or their members');
    const data = parsed.data;
    if (data.k !== kind) {
      throw new SegmentCursorError(
        data.k === 'members'
          ? 'is a cursor of segment members, not of the segment list'
          : 'is a cursor of the segment list, not of segment members',
      );
    }
    const position: SegmentCursorPosition =
      data.k === 'members'
        ? {
            kind: 'members',
            snapshotId: data.s,
            segmentId: data.g,
            continuation: data.c,
            skip: data.n,
          }
        : { kind: 'segments', snapshotId: data.s, afterSegmentId: data.a };
    return position as Extract<SegmentCursorPosition, { kind: K }>;
  }
}
