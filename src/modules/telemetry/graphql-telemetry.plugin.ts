import type { ApolloServerPlugin } from '@apollo/server';
import { SpanKind, SpanStatusCode, type Histogram, type Span } from '@opentelemetry/api';
import { Kind } from 'graphql';

import { meter, tracer } from './otel.js';

/** Codes of errors the client caused; anything else counts as an error of the service. */
const CLIENT_CODES = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'RATE_LIMITED',
  'QUERY_TOO_COMPLEX',
  'SNAPSHOT_EXPIRED',
]);

/**
 * One span per GraphQL operation (under the HTTP request's span), and per operation the counter
 * `flick_graphql_operations{operation, outcome}` and the latency histogram
 * `flick_graphql_operation_duration_seconds{operation}`. The operation label is the root field
 * (`home`, `search`, ...), a small fixed set, never the client's operation name.
 */
export const graphQLTelemetryPlugin = (): ApolloServerPlugin => {
  let operations: ReturnType<ReturnType<typeof meter>['createCounter']> | undefined;
  let durations: Histogram | undefined;
  return {
    requestDidStart() {
      operations ??= meter().createCounter('flick_graphql_operations', {
        description: 'GraphQL operations by root field and outcome (ok, client_error, error).',
      });
      durations ??= meter().createHistogram('flick_graphql_operation_duration_seconds', {
        description: 'Time to answer a GraphQL operation, by root field.',
        unit: 's',
        advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] },
      });
      const started = performance.now();
      const span: Span = tracer().startSpan('graphql.request', { kind: SpanKind.INTERNAL });
      let field = 'unknown';
      return Promise.resolve({
        didResolveOperation({ operation, operationName }) {
          const selection = operation?.selectionSet.selections.find((node) => node.kind === Kind.FIELD);
          field = selection?.kind === Kind.FIELD ? selection.name.value : 'unknown';
          span.updateName(`graphql.${operation?.operation ?? 'operation'} ${field}`);
          span.setAttributes({
            'graphql.operation.type': operation?.operation ?? 'unknown',
            'graphql.operation.name': operationName ?? '',
            'graphql.root_field': field,
          });
          return Promise.resolve();
        },
        willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          const codes = errors.map((error) => {
            const code = error.extensions?.['code'];
            return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
          });
          const outcome =
            codes.length === 0
              ? 'ok'
              : codes.every((code) => CLIENT_CODES.has(code))
                ? 'client_error'
                : 'error';
          if (outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(',') });
          if (codes.length > 0) span.setAttribute('graphql.error_codes', codes.join(','));
          span.end();
          operations!.add(1, { operation: field, outcome });
          durations!.record((performance.now() - started) / 1000, { operation: field });
          return Promise.resolve();
        },
      });
    },
  };
};
