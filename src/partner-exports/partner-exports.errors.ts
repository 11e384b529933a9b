import { Logger } from '@nestjs/common';
import { GraphQLError } from 'graphql';

import { StoreError } from '../modules/cosmos/cosmos.errors.js';

const logger = new Logger('PartnerExports');

export enum PartnerExportsErrorCode {
  BAD_ARGUMENT = 'BAD_ARGUMENT',
  /** The token names no partner. */
  NOT_A_PARTNER = 'NOT_A_PARTNER',
  /** Exports are off here, no partner metrics are published yet, or the store did not answer. */
  UNAVAILABLE = 'UNAVAILABLE',
}

export class PartnerExportsError extends Error {
  constructor(
    readonly code: PartnerExportsErrorCode,
    message: string,
    readonly argument?: string,
  ) {
    super(message);
    this.name = 'PartnerExportsError';
  }
}

export const badArgument = (argument: string, rule: string): PartnerExportsError =>
  new PartnerExportsError(PartnerExportsErrorCode.BAD_ARGUMENT, `Argument "${argument}" ${rule}.`, argument);

export const unavailable = (message: string): PartnerExportsError =>
  new PartnerExportsError(PartnerExportsErrorCode.UNAVAILABLE, message);

const toGraphQLError = (error: PartnerExportsError): GraphQLError => {
  switch (error.code) {
    case PartnerExportsErrorCode.BAD_ARGUMENT:
      return new GraphQLError(error.message, {
        extensions: {
          code: 'BAD_USER_INPUT',
          ...(error.argument === undefined ? {} : { argument: error.argument }),
        },
      });
    case PartnerExportsErrorCode.NOT_A_PARTNER:
      return new GraphQLError(error.message, { extensions: { code: 'FORBIDDEN' } });
    case PartnerExportsErrorCode.UNAVAILABLE:
      return new GraphQLError(error.message, { extensions: { code: 'SERVICE_UNAVAILABLE' } });
  }
};

/** Maps the feature's failures to GraphQL errors; a store failure becomes a retryable SERVICE_UNAVAILABLE. */
export const withGraphQLErrors = async <T>(resolve: () => Promise<T>): Promise<T> => {
  try {
    return await resolve();
  } catch (error) {
    if (error instanceof PartnerExportsError) throw toGraphQLError(error);
    if (error instanceof StoreError) {
      logger.warn(`partner exports request failed: ${error.message}`);
      throw toGraphQLError(
        unavailable('Exports cannot be read right now (the store did not answer); retry the same request.'),
      );
    }
    throw error;
  }
};
