import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  decodeBrowseCursor,
  encodeBrowseCursor,
  filterFingerprint,
  type BrowseFilter,
  type BrowsePosition,
} from './catalog-cursor.js';
import { CatalogError, CatalogErrorCode } from './catalog.errors.js';

const positionArb: fc.Arbitrary<BrowsePosition> = fc.record({
  addedAt: fc.option(fc.integer({ min: -8_640_000_000_000, max: 8_640_000_000_000 }), { nil: null }),
  titleId: fc.stringMatching(/^[A-Za-z0-9_.-]{1,128}$/),
});
const filterArb: fc.Arbitrary<BrowseFilter> = fc.record(
  {
    genre: fc.string({ minLength: 1, maxLength: 100 }),
    kind: fc.constantFrom('MOVIE' as const, 'SHOW' as const),
    availableIn: fc.stringMatching(/^[A-Z]{2}$/),
  },
  { requiredKeys: [] },
);
const base64urlChars = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];

/** Runs `decode` and returns the INVALID_CURSOR error it must throw; any other outcome fails. */
const rejection = (decode: () => unknown): CatalogError => {
  try {
    decode();
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogError);
    expect((error as CatalogError).code).toBe(CatalogErrorCode.INVALID_CURSOR);
    return error as CatalogError;
  }
  throw new Error('the cursor was accepted');
};

describe('browse cursors', () => {
  it('decodes what it encodes, for the same filters', () => {
    fc.assert(
      fc.property(positionArb, filterArb, (position, filter) => {
        const cursor = encodeBrowseCursor(position, filter);
        expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeBrowseCursor(cursor, { ...filter })).toEqual(position);
      }),
    );
  });

  it('treats absent and undefined filters alike', () => {
    const cursor = encodeBrowseCursor({ addedAt: 1, titleId: 's1' }, { genre: undefined });
    expect(decodeBrowseCursor(cursor, {})).toEqual({ addedAt: 1, titleId: 's1' });
    expect(filterFingerprint({ kind: undefined })).toBe(filterFingerprint({}));
  });

  it('rejects a cursor used with other filters, saying so', () => {
    fc.assert(
      fc.property(positionArb, filterArb, filterArb, (position, issuedFor, usedWith) => {
        fc.pre(
          (issuedFor.genre ?? null) !== (usedWith.genre ?? null) ||
            (issuedFor.kind ?? null) !== (usedWith.kind ?? null) ||
            (issuedFor.availableIn ?? null) !== (usedWith.availableIn ?? null),
        );
        const error = rejection(() => decodeBrowseCursor(encodeBrowseCursor(position, issuedFor), usedWith));
        expect(error.message).toContain('"after"');
        expect(error.message).toContain('different filters');
        expect(error.argument).toBe('after');
      }),
    );
  });

  it('rejects a cursor with any one character changed', () => {
    fc.assert(
      fc.property(
        positionArb,
        filterArb,
        fc.nat(),
        fc.constantFrom(...base64urlChars),
        (position, filter, at, replacement) => {
          const cursor = encodeBrowseCursor(position, filter);
          const index = at % cursor.length;
          fc.pre(cursor[index] !== replacement);
          const tampered = cursor.slice(0, index) + replacement + cursor.slice(index + 1);
          rejection(() => decodeBrowseCursor(tampered, filter));
        },
      ),
    );
  });

  it('rejects a truncated or extended cursor', () => {
    fc.assert(
      fc.property(
        positionArb,
        filterArb,
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 4 }),
        (position, filter, cut, extra) => {
          const cursor = encodeBrowseCursor(position, filter);
          rejection(() => decodeBrowseCursor(cursor.slice(0, cut % cursor.length), filter));
          rejection(() => decodeBrowseCursor(cursor + extra, filter));
        },
      ),
    );
  });

  it('rejects any random string without crashing', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.base64String(),
          fc.stringMatching(/^[A-Za-z0-9_-]{0,600}$/),
        ),
        (text) => {
          rejection(() => decodeBrowseCursor(text, {}));
        },
      ),
    );
  });

  it('rejects well-formed base64url JSON that is not a valid cursor', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const cursor = Buffer.from(JSON.stringify(value) ?? 'null', 'utf8').toString('base64url');
        fc.pre(cursor.length > 0);
        rejection(() => decodeBrowseCursor(cursor, {}));
      }),
    );
  });

  it('rejects another version with a message saying so', () => {
    const cursor = Buffer.from(JSON.stringify({ v: 2, k: [1, 's1'] }), 'utf8').toString('base64url');
    expect(rejection(() => decodeBrowseCursor(cursor, {})).message).toContain('unsupported version (2)');
  });
});
