import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { CursorSigner } from '../modules/cursors/cursor-signer.js';
import { SegmentCursorCodec, SegmentCursorError, type SegmentCursorPosition } from './segment-cursor.js';

const codec = new SegmentCursorCodec(new CursorSigner('a-test-secret-that-is-long-enough-0123'));
const other = new SegmentCursorCodec(new CursorSigner('another-secret-that-is-long-enough-4567'));

const id = fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/);
const members = fc.record({
  kind: fc.constant('members' as const),
  snapshotId: id,
  segmentId: id,
  continuation: fc.option(fc.string({ minLength: 1, maxLength: 300 }), { nil: null }),
  skip: fc.integer({ min: 0, max: 2000 }),
});
const segments = fc.record({ kind: fc.constant('segments' as const), snapshotId: id, afterSegmentId: id });

describe('SegmentCursorCodec', () => {
  it('gives back every position it encoded', () => {
    fc.assert(
      fc.property(fc.oneof(members, segments), (position: SegmentCursorPosition) => {
        expect(codec.decode(codec.encode(position), position.kind)).toEqual(position);
      }),
    );
  });

  it('refuses every edit, truncation or extension of a cursor', () => {
    fc.assert(
      fc.property(
        members,
        fc.nat(),
        fc.constantFrom(...'ABCabc012_-.='),
        fc.constantFrom('replace', 'truncate', 'append'),
        (position, at, char, edit) => {
          const cursor = codec.encode(position);
          const i = at % cursor.length;
          const edited =
            edit === 'replace'
              ? cursor.slice(0, i) + char + cursor.slice(i + 1)
              : edit === 'truncate'
                ? cursor.slice(0, i)
                : cursor + char;
          fc.pre(edited !== cursor);
          expect(() => codec.decode(edited, 'members')).toThrow(SegmentCursorError);
        },
      ),
    );
  });

  it('refuses cursors signed with another secret and cursors of the other listing', () => {
    fc.assert(
      fc.property(members, segments, (m, s) => {
        expect(() => codec.decode(other.encode(m), 'members')).toThrow(SegmentCursorError);
        expect(() => codec.decode(codec.encode(m), 'segments')).toThrow(/segment members/);
        expect(() => codec.decode(codec.encode(s), 'members')).toThrow(/segment list/);
      }),
    );
  });

  it('refuses garbage with its own error and nothing else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 5000 }), (text) => {
        expect(() => codec.decode(text, 'members')).toThrow(SegmentCursorError);
      }),
    );
  });

  it('needs a secret of at least 32 characters', () => {
    expect(() => new CursorSigner('short')).toThrow(RangeError);
  });
});
