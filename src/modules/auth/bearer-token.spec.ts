import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { AuthError } from './auth.errors.js';
import { bearerTokenOrThrow } from './bearer-token.js';

const codeOf = (authorization: string | undefined): unknown => {
  try {
    bearerTokenOrThrow(authorization === undefined ? {} : { authorization });
    return 'accepted';
  } catch (error) {
    return error instanceof AuthError ? error.extensions['code'] : error;
  }
};

describe(bearerTokenOrThrow.name, () => {
  it('takes the token of a Bearer header, whatever the case of the scheme', () => {
    expect(bearerTokenOrThrow({ authorization: 'Bearer abc.def.ghi' })).toBe('abc.def.ghi');
    expect(bearerTokenOrThrow({ authorization: 'bearer  abc.def-_ghi ' })).toBe('abc.def-_ghi');
  });

  it.each([undefined, '', '   ', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer a b', 'Bearerabc'])(
    'refuses %j as UNAUTHENTICATED',
    (header) => {
      expect(codeOf(header)).toBe('UNAUTHENTICATED');
    },
  );

  it('either returns a token without spaces or refuses as UNAUTHENTICATED', () => {
    fc.assert(
      fc.property(fc.string(), (header) => {
        const code = codeOf(header);
        if (code === 'accepted') expect(bearerTokenOrThrow({ authorization: header })).not.toMatch(/\s/);
        else expect(code).toBe('UNAUTHENTICATED');
      }),
    );
  });
});
