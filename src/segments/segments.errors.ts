import { Logger } from '@nestjs/common';
import { GraphQLError } from 'graphql';

import { StoreError } from '../modules/cosmos/cosmos.errors.js';

const logger = new Logger('Segments');

/** Every way a marketing request can fail on purpose. */
export enum SegmentsErrorCode {
  /** An argument breaks a documented rule (range, cursor). */
  BAD_ARGUMENT = 'BAD_ARGUMENT',
  /** The snapshot a cursor was paging has been pruned. */
  SNAPSHOT_EXPIRED = 'SNAPSHOT_EXPIRED',
  /** The gold store did not answer. */
  UNAVAILABLE = 'UNAVAILABLE',
}

export class SegmentsError extends Error {
  constructor(
    readonly code: SegmentsErrorCode,
    message: string,
    readonly argument?: string,
  ) {
    super(message);
    this.name = 'SegmentsError';
  }
}

export const badArgument = (argument: string, rule: string): SegmentsError =>
  new SegmentsError(SegmentsErrorCode.BAD_ARGUMENT, `Argument "${argument}" ${rule}.`, argument);

export const snapshotExpired = (snapshotId: string): SegmentsError =>
  new SegmentsError(
    SegmentsErrorCode.SNAPSHOT_EXPIRED,
    `The segments snapshot ${snapshotId} this cursor was paging has been pruned; start the listing again without "after" (it will page the active snapshot).`,
    'after',
  );

const toGraphQLError = (error: SegmentsError): GraphQLError => {
  switch (error.code) {
    case SegmentsErrorCode.BAD_ARGUMENT:
      return new GraphQLError(error.message, {
        extensions: {
          code: 'BAD_USER_INPUT',
          ...(error.argument === undefined ? {} : { argument: error.argument }),
        },
      });
    case SegmentsErrorCode.SNAPSHOT_EXPIRED:
      return new GraphQLError(error.message, { extensions: { code: 'SNAPSHOT_EXPIRED' } });
    case SegmentsErrorCode.UNAVAILABLE:
      return new GraphQLError(error.message, { extensions: { code: 'SERVICE_UNAVAILABLE' } });
  }
};

/**
 * Runs `resolve`, turning the feature's failures into GraphQL errors: SegmentsError by its code, a
 * store failure into SERVICE_UNAVAILABLE (the request can be retried as is). Anything else is a bug
 * and stays an internal error.
 */
export const withGraphQLErrors = async <T>(resolve: () => Promise<T>): Promise<T> => {
  try {
    return await resolve();
  } catch (error) {
    if (error instanceof SegmentsError) throw toGraphQLError(error);
    if (error instanceof StoreError) {
      logger.warn(`segments request failed: ${error.message}`);
      throw toGraphQLError(
        new SegmentsError(
          SegmentsErrorCode.UNAVAILABLE,
          'Segments cannot be read right now (the gold store did not answer); retry the same request, cursors stay valid.',
        ),
      );
    }
    throw error;
  }
};
