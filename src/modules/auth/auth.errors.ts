import { GraphQLError } from 'graphql';

/** What the auth layer tells a client; the value is the GraphQL `extensions.code`. */
export const AuthErrorCode = {
  /** No token, or one that does not verify or lacks what its role requires. */
  Unauthenticated: 'UNAUTHENTICATED',
  /** A valid token whose roles do not include one the operation allows. */
  Forbidden: 'FORBIDDEN',
} as const;
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

/** A refusal with a client-safe message: it never contains the token or a claim value. */
export class AuthError extends GraphQLError {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message, { extensions: { code } });
    this.name = 'AuthError';
  }
}

export const unauthenticated = (message: string): AuthError =>
  new AuthError(AuthErrorCode.Unauthenticated, message);

export const forbidden = (message: string): AuthError => new AuthError(AuthErrorCode.Forbidden, message);

/**
 * The signing keys could not be fetched: not the client's fault, so it is not UNAUTHENTICATED (a
 * client would throw its token away); it reaches the client as INTERNAL_SERVER_ERROR and is logged.
 */
export class SigningKeysUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the JSON Web Key Set could not be fetched: ${String(cause)}`, { cause });
    this.name = 'SigningKeysUnavailableError';
  }
}

/** A root field without `@Roles()`/`@AnyRole()`: a defect, refused as INTERNAL_SERVER_ERROR and logged. */
export class UndeclaredRolesError extends Error {
  constructor(field: string, resolver: string) {
    super(`${field} (${resolver}) declares no roles: add @Roles(...) or @AnyRole() to it`);
    this.name = 'UndeclaredRolesError';
  }
}
