import { GraphQLError } from 'graphql';

/** Every way a device request can fail on purpose (degradation is not one of them). */
export enum RecommendationsErrorCode {
  /** The profile is not one of the token's account. */
  PROFILE_NOT_OWNED = 'PROFILE_NOT_OWNED',
  /** An argument breaks a documented rule. */
  BAD_ARGUMENT = 'BAD_ARGUMENT',
  /** Playback progress could not be stored (Redis unavailable). */
  PROGRESS_UNAVAILABLE = 'PROGRESS_UNAVAILABLE',
}

export class RecommendationsError extends Error {
  constructor(
    readonly code: RecommendationsErrorCode,
    message: string,
    readonly argument?: string,
  ) {
    super(message);
    this.name = 'RecommendationsError';
  }
}

export const badArgument = (argument: string, rule: string): RecommendationsError =>
  new RecommendationsError(
    RecommendationsErrorCode.BAD_ARGUMENT,
    `Argument "${argument}" ${rule}.`,
    argument,
  );

/** The one place these failures become GraphQL errors. */
export const toGraphQLError = (error: RecommendationsError): GraphQLError => {
  switch (error.code) {
    case RecommendationsErrorCode.PROFILE_NOT_OWNED:
      return new GraphQLError(error.message, { extensions: { code: 'FORBIDDEN' } });
    case RecommendationsErrorCode.BAD_ARGUMENT:
      return new GraphQLError(error.message, {
        extensions: {
          code: 'BAD_USER_INPUT',
          ...(error.argument === undefined ? {} : { argument: error.argument }),
        },
      });
    case RecommendationsErrorCode.PROGRESS_UNAVAILABLE:
      return new GraphQLError(error.message, { extensions: { code: 'SERVICE_UNAVAILABLE' } });
  }
};

/** Runs `resolve`, turning a RecommendationsError into its GraphQL error. */
export const withGraphQLErrors = async <T>(resolve: () => Promise<T>): Promise<T> => {
  try {
    return await resolve();
  } catch (error) {
    throw error instanceof RecommendationsError ? toGraphQLError(error) : error;
  }
};
