/** What a scrubbed secret is replaced with (the same word pino's `redact` writes). */
export const REDACTED = '[redacted]';

/**
 * `Bearer <token>` (RFC 6750 b64token), the scheme in any case and wherever it starts (after a JSON
 * `\n` too); shorter "tokens" are prose ("a Bearer token").
 */
const bearerToken = /(bearer)\s+[A-Za-z0-9\-._~+/]{16,}=*/gi;

/**
 * Runs of base64url characters joined by dots, at least three parts, taken whole: a token glued to
 * the text around it ("token=eyJ….….…,") is one run, so none of its parts is left behind. The
 * lookbehind makes every run start at its first character (no quadratic retries inside long runs).
 */
const dottedRun = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){2,}/g;

/**
 * Below this, three dotted parts are host names, versions, addresses and file names; a JWT header
 * (`{"alg":"ES256"}` and more) is longer.
 */
const minPartLength = 16;

/**
 * A JWS (or JWE) in compact form: a header of base64url JSON, so starting with `eyJ` (`{"`), then two
 * more parts; or three long base64url parts, whatever they start with.
 */
const looksLikeJwt = (run: string): boolean => {
  const parts = run.split('.');
  for (let i = 0; i + 2 < parts.length; i += 1) {
    const part = parts[i]!;
    const header = part.indexOf('eyJ');
    if (header >= 0 && part.length - header >= minPartLength) return true;
    if (parts.slice(i, i + 3).every((candidate) => candidate.length >= minPartLength)) return true;
  }
  return false;
};

const precededByEscape = (text: string, offset: number): boolean => {
  let backslashes = 0;
  while (text[offset - 1 - backslashes] === '\\') backslashes += 1;
  return backslashes % 2 === 1;
};

const scrub = (text: string, json: boolean): string => {
  if (!text.includes('.') && !/bearer/i.test(text)) return text;
  const withoutBearer = text.replace(bearerToken, `$1 ${REDACTED}`);
  return withoutBearer.replace(dottedRun, (run: string, offset: number) => {
    // In a JSON string `\n` or `\u00e9` may precede the token: keep the escape, or the line breaks.
    const escaped = json && precededByEscape(withoutBearer, offset);
    const escape = escaped ? (/^u[0-9a-fA-F]{4}/.test(run) ? 5 : 1) : 0;
    return looksLikeJwt(run.slice(escape)) ? `${run.slice(0, escape)}${REDACTED}` : run;
  });
};

/** Removes bearer tokens and JWT-looking strings from free text (a log message, a stack trace). */
export const scrubSecrets = (text: string): string => scrub(text, false);

/**
 * {@link scrubSecrets} for a serialized JSON line: escapes before a token are kept, and only token
 * characters are replaced, so the line stays valid JSON.
 */
export const scrubJsonLine = (line: string): string => scrub(line, true);
