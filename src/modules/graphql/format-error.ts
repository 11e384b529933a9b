import { Logger } from '@nestjs/common';
import type { GraphQLFormattedError } from 'graphql';

/** Codes whose message is written for the client and may be returned as is. */
const clientCodes = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'SNAPSHOT_EXPIRED',
  'CATALOG_NOT_LOADED',
  'SERVICE_UNAVAILABLE',
  'RATE_LIMITED',
  'QUERY_TOO_COMPLEX',
]);

const logger = new Logger('GraphQL');

/**
 * The one place errors leave the service: known client errors keep their code and message (never
 * a stack trace); anything else is logged and becomes a generic INTERNAL_SERVER_ERROR.
 */
export const formatGraphQLError = (
  formatted: GraphQLFormattedError,
  error: unknown,
): GraphQLFormattedError => {
  const code = formatted.extensions?.['code'];
  if (typeof code === 'string' && clientCodes.has(code)) {
    const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
    void _stacktrace;
    return { ...formatted, extensions };
  }
  const original = (error as { originalError?: unknown }).originalError ?? error;
  logger.error(
    `unexpected error in ${formatted.path?.join('.') ?? 'request'}: ${String(original)}`,
    original instanceof Error ? original.stack : undefined,
  );
  return {
    message: 'Internal server error',
    ...(formatted.path === undefined ? {} : { path: formatted.path }),
    ...(formatted.locations === undefined ? {} : { locations: formatted.locations }),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
};
