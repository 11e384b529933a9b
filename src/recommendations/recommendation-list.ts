import { createHash } from 'node:crypto';

import type { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import type { CatalogTitle } from '../catalog/catalog-title.js';
import type { ProfileRecord, RecommendationReason } from '../gold/contract/profiles.schema.js';
import { PageFilter, type ServeContext } from './serve-rules.js';

/** One recommendation as served: the title, the model's score and why, in words. */
export interface RankedRecommendation {
  readonly title: CatalogTitle;
  readonly score: number;
  readonly reason: string;
  /** Position in the profile's gold ranking (0 = best), kept across serve-rule filtering: the cursor key. */
  readonly rank: number;
}

/**
 * A reason as the viewer reads it. A reason that names a title uses the catalogue's name for it; one
 * whose title or person is missing falls back to the next most specific wording.
 */
export const reasonText = (reason: RecommendationReason, catalog: CatalogSnapshot): string => {
  const source = reason.sourceTitleId === null ? null : catalog.get(reason.sourceTitleId);
  const becauseWatched = source === null ? 'Recommended for you' : `Because you watched ${source.name}`;
  switch (reason.kind) {
    case 'BECAUSE_YOU_WATCHED':
      return becauseWatched;
    case 'GENRE':
      return reason.detail === null ? 'Recommended for you' : `Because you like ${reason.detail}`;
    case 'CAST':
      return reason.detail === null ? becauseWatched : `With ${reason.detail}`;
    case 'DIRECTOR':
      return reason.detail === null ? becauseWatched : `Directed by ${reason.detail}`;
    case 'POPULAR':
      return 'Popular in your country';
  }
};

/**
 * The profile's recommendations in ranked order after the serve-time rules (in the catalogue,
 * licensed in the country on the day, within the maturity level, not watched, each title once).
 * Empty for a null profile.
 */
export const rankedRecommendations = (
  catalog: CatalogSnapshot,
  context: ServeContext,
  profile: ProfileRecord | null,
): RankedRecommendation[] => {
  if (profile === null) return [];
  const strictest =
    profile.maturityLevel < context.maturityLevel
      ? { ...context, maturityLevel: profile.maturityLevel }
      : context;
  const filter = new PageFilter(catalog, strictest);
  const ranked: RankedRecommendation[] = [];
  profile.recommendations.forEach(({ titleId, score, reason }, rank) => {
    const title = filter.takeId(titleId);
    if (title !== null) ranked.push({ title, score, reason: reasonText(reason, catalog), rank });
  });
  return ranked;
};

/** Why a recommendations page cannot be served as asked; a client error (BAD_USER_INPUT). */
export class RecommendationPageError extends Error {
  override readonly name = 'RecommendationPageError';

  constructor(
    readonly code: 'BAD_ARGUMENT' | 'INVALID_CURSOR',
    /** The GraphQL argument at fault. */
    readonly argument: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where a recommendations page ended. */
export interface RecommendationCursor {
  /** The profiles snapshot the list was ranked in. */
  readonly snapshotId: string;
  /** The gold rank of the last recommendation returned. */
  readonly rank: number;
}

/*
 * Cursors are base64url of a small versioned JSON (snapshot id, gold rank, checksum). The rank is a
 * keyset position in the profile's gold ranking, so paging is exact within a snapshot even when the
 * serve-time rules drop different titles between two pages (a title watched meanwhile, a licence
 * ending at midnight). The checksum only catches corrupted or hand-edited cursors: a forged cursor
 * can only choose where the viewer's own list resumes.
 */
const CURSOR_VERSION = 1;
const MAX_CURSOR_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
export const MAX_RECOMMENDATIONS_PAGE = 100;

const checksum = (snapshotId: string, rank: number): string =>
  createHash('sha256')
    .update(JSON.stringify(['rec', CURSOR_VERSION, snapshotId, rank]))
    .digest('base64url')
    .slice(0, 8);

const serialize = (snapshotId: string, rank: number, check: string): string =>
  Buffer.from(JSON.stringify({ v: CURSOR_VERSION, s: snapshotId, r: rank, c: check }), 'utf8').toString(
    'base64url',
  );

export const encodeRecommendationCursor = ({ snapshotId, rank }: RecommendationCursor): string =>
  serialize(snapshotId, rank, checksum(snapshotId, rank));

const invalidCursor = (argument: string): RecommendationPageError =>
  new RecommendationPageError(
    'INVALID_CURSOR',
    argument,
    `Argument "${argument}" is not a recommendations cursor; pass an endCursor returned by recommendations, or omit it to start over.`,
  );

const isPayload = (value: unknown): value is { v: number; s: string; r: number; c: string } => {
  if (typeof value !== 'object' || value === null) return false;
  const { v, s, r, c } = value as Record<string, unknown>;
  return (
    v === CURSOR_VERSION &&
    typeof s === 'string' &&
    s.length > 0 &&
    Number.isSafeInteger(r) &&
    (r as number) >= 0 &&
    typeof c === 'string'
  );
};

/**
 * Reads a cursor made by {@link encodeRecommendationCursor}. Anything else (not base64url, truncated,
 * edited, another version) throws an INVALID_CURSOR {@link RecommendationPageError}, and nothing else
 * is ever thrown.
 */
export const decodeRecommendationCursor = (cursor: string, argument = 'after'): RecommendationCursor => {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor))
    throw invalidCursor(argument);
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor(argument);
  }
  if (!isPayload(payload)) throw invalidCursor(argument);
  const { s, r, c } = payload;
  // Only the exact spelling encode produces is accepted: the base64 decoder ignores stray bits and
  // JSON.parse extra whitespace, so an edited cursor could otherwise decode to the same data.
  if (c !== checksum(s, r) || serialize(s, r, c) !== cursor) throw invalidCursor(argument);
  return { snapshotId: s, rank: r };
};

export interface RecommendationEdge {
  readonly cursor: string;
  readonly node: RankedRecommendation;
}

export interface RecommendationPage {
  readonly edges: RecommendationEdge[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor: string | null };
  /**
   * The cursor came from another profiles snapshot: the page resumes after the same gold rank in the
   * new ranking, which may repeat or skip titles. Worth a note in the response metadata.
   */
  readonly snapshotChanged: boolean;
}

/**
 * One page of a ranked list for the `recommendations(first, after)` connection. `first` must be an
 * integer from 1 to {@link MAX_RECOMMENDATIONS_PAGE} and `after` a cursor of an earlier page (else a
 * {@link RecommendationPageError}); `snapshotId` is the profiles snapshot `list` was ranked in.
 */
export const recommendationPage = (
  list: readonly RankedRecommendation[],
  { first, after, snapshotId }: { first: number; after?: string | null; snapshotId: string },
): RecommendationPage => {
  if (!Number.isInteger(first) || first < 1 || first > MAX_RECOMMENDATIONS_PAGE) {
    throw new RecommendationPageError(
      'BAD_ARGUMENT',
      'first',
      `Argument "first" must be an integer from 1 to ${MAX_RECOMMENDATIONS_PAGE}, got ${first}.`,
    );
  }
  const position = after === null || after === undefined ? null : decodeRecommendationCursor(after);
  let start = 0;
  if (position !== null) {
    // Ranks increase along the list: the first entry ranked after the cursor.
    let high = list.length;
    while (start < high) {
      const mid = (start + high) >>> 1;
      if ((list[mid] as RankedRecommendation).rank > position.rank) high = mid;
      else start = mid + 1;
    }
  }
  const end = Math.min(list.length, start + first);
  const edges: RecommendationEdge[] = [];
  for (let i = start; i < end; i++) {
    const node = list[i] as RankedRecommendation;
    edges.push({ cursor: encodeRecommendationCursor({ snapshotId, rank: node.rank }), node });
  }
  return {
    edges,
    pageInfo: { hasNextPage: end < list.length, endCursor: edges.at(-1)?.cursor ?? null },
    snapshotChanged: position !== null && position.snapshotId !== snapshotId,
  };
};
