import { createHash } from 'node:crypto';

import { z } from 'zod';

import type { TitleKindName } from './catalog-title.js';
import { CatalogError, CatalogErrorCode } from './catalog.errors.js';

/**
 * Browse cursors: base64url of a small versioned JSON holding the keyset position (the sort key of
 * the last title seen: addedAt, then title id) and a fingerprint of the filters it was issued for.
 * Being a position rather than an offset, a cursor keeps working when a new catalogue snapshot adds
 * or removes titles: paging continues after the same sort key.
 *
 * The embedded checksum catches corrupted, truncated or hand-edited cursors. It is not a signature:
 * a forged cursor can only choose where a public listing starts, and an unkeyed checksum keeps
 * cursors valid across replicas and restarts without sharing a secret.
 */

export interface BrowseFilter {
  readonly genre?: string | undefined;
  readonly kind?: TitleKindName | undefined;
  /** ISO 3166-1 alpha-2 country code. */
  readonly availableIn?: string | undefined;
}

/** Where a page ends: the browse sort key of its last title. */
export interface BrowsePosition {
  /** `addedAt` in epoch milliseconds; null sorts after every date. */
  readonly addedAt: number | null;
  readonly titleId: string;
}

const CURSOR_VERSION = 1;
const MAX_CURSOR_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const versioned = z.object({ v: z.number() });
const payloadV1 = z.strictObject({
  v: z.literal(CURSOR_VERSION),
  a: z.number().int().nullable(),
  t: z.string().min(1).max(128),
  f: z.string().length(11),
  c: z.string().length(8),
});

const digest = (value: unknown, length: number): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, length);

/** Stable short hash of the filters; the same filters always give the same fingerprint. */
export const filterFingerprint = (filter: BrowseFilter): string =>
  digest([filter.genre ?? null, filter.kind ?? null, filter.availableIn ?? null], 11);

const checksum = (v: number, a: number | null, t: string, f: string): string => digest([v, a, t, f], 8);

const serialize = (payload: z.infer<typeof payloadV1>): string =>
  Buffer.from(
    JSON.stringify({ v: payload.v, a: payload.a, t: payload.t, f: payload.f, c: payload.c }),
    'utf8',
  ).toString('base64url');

export const encodeBrowseCursor = (position: BrowsePosition, filter: BrowseFilter): string => {
  const f = filterFingerprint(filter);
  const c = checksum(CURSOR_VERSION, position.addedAt, position.titleId, f);
  return serialize({ v: CURSOR_VERSION, a: position.addedAt, t: position.titleId, f, c });
};

const invalidCursor = (argument: string, problem: string): CatalogError =>
  new CatalogError(CatalogErrorCode.INVALID_CURSOR, `Argument "${argument}" ${problem}.`, argument);

const notACursor = (argument: string): CatalogError =>
  invalidCursor(
    argument,
    'is not a browse cursor; pass an endCursor returned by browse, or omit it to start over',
  );

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

/**
 * Reads a cursor issued by {@link encodeBrowseCursor} for the same filters. Anything else (not
 * base64url, truncated, tampered with, another version, other filters) throws an INVALID_CURSOR
 * CatalogError; nothing else is ever thrown.
 */
export const decodeBrowseCursor = (
  cursor: string,
  filter: BrowseFilter,
  argument = 'after',
): BrowsePosition => {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor))
    throw notACursor(argument);
  const json = parseJson(Buffer.from(cursor, 'base64url').toString('utf8'));
  const version = versioned.safeParse(json);
  if (!version.success) throw notACursor(argument);
  if (version.data.v !== CURSOR_VERSION) {
    throw invalidCursor(
      argument,
      `is a cursor of an unsupported version (${version.data.v}); omit it to start over`,
    );
  }
  const payload = payloadV1.safeParse(json);
  if (!payload.success) throw notACursor(argument);
  const { v, a, t, f, c } = payload.data;
  // Only the exact spelling encode produces is accepted: Node's base64 decoder ignores stray bits
  // and JSON.parse trailing whitespace, so an edited cursor could otherwise decode to the same data.
  if (checksum(v, a, t, f) !== c || serialize(payload.data) !== cursor) throw notACursor(argument);
  if (f !== filterFingerprint(filter)) {
    throw invalidCursor(
      argument,
      'was issued for different filters; keep genre, kind and availableIn unchanged while paging, or omit it to start over',
    );
  }
  return { addedAt: a, titleId: t };
};
