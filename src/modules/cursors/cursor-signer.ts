import { createHmac, timingSafeEqual } from 'node:crypto';

const MAX_CURSOR_LENGTH = 4096;
const PART = /^[A-Za-z0-9_-]+$/;

/** A cursor that was not issued by this service with this secret (garbled, truncated, edited, foreign). */
export class CursorSignatureError extends Error {
  constructor() {
    super('is not a cursor this service issued (it may be truncated or edited)');
    this.name = 'CursorSignatureError';
  }
}

/**
 * Seals paging positions into opaque cursors, `<payload>.<signature>` (both base64url): the payload
 * is JSON, the signature an HMAC-SHA256 of it with CURSOR_SECRET. Cursors that hold store positions
 * (Cosmos continuation tokens, snapshot ids) must never be accepted from a client unless this
 * service issued them; every replica sharing the secret accepts them.
 */
export class CursorSigner {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (secret.length < 32) throw new RangeError('the cursor secret must be at least 32 characters');
    this.key = Buffer.from(secret, 'utf8');
  }

  seal(payload: unknown): string {
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /** The payload of a cursor this signer sealed; anything else throws {@link CursorSignatureError}. */
  open(cursor: string): unknown {
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
      throw new CursorSignatureError();
    }
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
    } catch {
      throw new CursorSignatureError();
    }
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
