import { GraphQLError } from 'graphql';

/** Every way a catalogue request can fail on purpose. */
export enum CatalogErrorCode {
  /** An argument breaks a documented rule (range, format, length). */
  BAD_ARGUMENT = 'BAD_ARGUMENT',
  /** A browse cursor that is malformed, tampered with or issued for other filters. */
  INVALID_CURSOR = 'INVALID_CURSOR',
  /** No catalogue snapshot has been loaded into memory yet (the service is starting). */
  CATALOG_NOT_LOADED = 'CATALOG_NOT_LOADED',
}

/** A catalogue failure in the feature's own terms; the message is written for the client. */
export class CatalogError extends Error {
  constructor(
    readonly code: CatalogErrorCode,
    message: string,
    /** The GraphQL argument at fault, for BAD_ARGUMENT and INVALID_CURSOR. */
    readonly argument?: string,
  ) {
    super(message);
    this.name = 'CatalogError';
  }
}

export const badArgument = (argument: string, rule: string): CatalogError =>
  new CatalogError(CatalogErrorCode.BAD_ARGUMENT, `Argument "${argument}" ${rule}.`, argument);

/** The one place catalogue failures become GraphQL errors. */
export const toGraphQLError = (error: CatalogError): GraphQLError => {
  switch (error.code) {
    case CatalogErrorCode.BAD_ARGUMENT:
    case CatalogErrorCode.INVALID_CURSOR:
      return new GraphQLError(error.message, {
        extensions: {
          code: 'BAD_USER_INPUT',
          ...(error.argument === undefined ? {} : { argument: error.argument }),
        },
      });
    case CatalogErrorCode.CATALOG_NOT_LOADED:
      return new GraphQLError(error.message, { extensions: { code: 'CATALOG_NOT_LOADED' } });
  }
};

/** Runs `resolve`, throwing a CatalogError as its GraphQL error (for resolvers Nest filters skip). */
export const withGraphQLErrors = <T>(resolve: () => T): T => {
  try {
    return resolve();
  } catch (error) {
    throw error instanceof CatalogError ? toGraphQLError(error) : error;
  }
};
