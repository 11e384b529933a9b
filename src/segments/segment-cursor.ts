import { createHmac, timingSafeEqual } from 'node:crypto';

import { z } from 'zod';

/**
 * Cursors of the marketing API: `<payload>.<signature>`, both base64url. The payload is a small
 * versioned JSON naming what is being paged (the segment list or one segment's members), the gold
 * snapshot the job started on and where the next page starts; the signature is an HMAC-SHA256 of
 * the payload with SEGMENT_CURSOR_SECRET. A cursor therefore cannot be forged or edited (it holds a
 * Cosmos continuation token, which must never come from a client), and every replica sharing the
 * secret accepts it.
 */

const CURSOR_VERSION = 1;
const MAX_CURSOR_LENGTH = 4096;
const PART = /^[A-Za-z0-9_-]+$/;

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
  private readonly key: Buffer;

  constructor(secret: string) {
    if (secret.length < 32) throw new RangeError('the cursor secret must be at least 32 characters');
    this.key = Buffer.from(secret, 'utf8');
  }

  encode(position: SegmentCursorPosition): string {
    const json =
      position.kind === 'members'
        ? {
            v: CURSOR_VERSION,
            k: position.kind,
            s: position.snapshotId,
            g: position.segmentId,
            c: position.continuation,
            n: position.skip,
          }
        : { v: CURSOR_VERSION, k: position.kind, s: position.snapshotId, a: position.afterSegmentId };
    const body = Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
    return `${body}.${this.sign(body)}`;
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
    const parts = cursor.split('.');
    const [body, signature] = parts;
    if (
      cursor.length > MAX_CURSOR_LENGTH ||
      parts.length !== 2 ||
      body === undefined ||
      signature === undefined ||
      !PART.test(body) ||
      !PART.test(signature) ||
      !this.verify(body, signature)
    ) {
      throw new SegmentCursorError('is not a cursor this service issued (it may be truncated or edited)');
    }
    const parsed = payload.safeParse(parseJson(Buffer.from(body, 'base64url').toString('utf8')));
    if (!parsed.success) throw new SegmentCursorError('is a cursor of an unsupported version');
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

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }

  private verify(body: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(body), 'utf8');
    const actual = Buffer.from(signature, 'utf8');
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};
