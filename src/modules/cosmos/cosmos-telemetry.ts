import type { PluginConfig } from '@azure/cosmos';
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';

import { tracer } from '../telemetry/otel.js';

/** What the service learns of every Cosmos operation. */
export interface CosmosOperationOutcome {
  /** `read item`, `query item`, `upsert item`, ... */
  operation: string;
  /** `ok`, `error`, `timeout`, `throttled`. */
  outcome: string;
  statusCode: number | undefined;
  requestCharge: number;
  /** Network requests beyond the first (SDK retries). */
  retries: number;
  durationMs: number;
}

export type CosmosObserver = (outcome: CosmosOperationOutcome) => void;

interface Headerish {
  headers?: Record<string, unknown>;
  code?: number | string;
  statusCode?: number;
}

const chargeOf = (value: Headerish | undefined): number => {
  const charge = Number(value?.headers?.['x-ms-request-charge']);
  return Number.isFinite(charge) ? charge : 0;
};

const attempts = new WeakMap<Span, number>();

/**
 * Cosmos SDK plugins: a client span per operation (`cosmos read item`, ...) carrying the status,
 * the request charge and the number of retries, and one observation per operation for the metrics.
 */
export const cosmosTelemetryPlugins = (observe: CosmosObserver): PluginConfig[] => [
  {
    on: 'operation',
    plugin: async (context, diagnosticNode, next) => {
      const operation =
        `${String(context.operationType ?? 'op').toLowerCase()} ${String(context.resourceType ?? '').toLowerCase()}`.trim();
      const started = performance.now();
      return tracer().startActiveSpan(`cosmos ${operation}`, { kind: SpanKind.CLIENT }, async (span) => {
        span.setAttributes({ 'db.system': 'cosmosdb', 'db.operation.name': operation });
        const finish = (value: Headerish | undefined, outcome: string) => {
          const statusCode = typeof value?.code === 'number' ? value.code : value?.statusCode;
          const requestCharge = chargeOf(value);
          const retries = Math.max(0, (attempts.get(span) ?? 1) - 1);
          span.setAttributes({
            'db.cosmosdb.request_charge': requestCharge,
            'db.cosmosdb.retries': retries,
            ...(statusCode === undefined ? {} : { 'db.response.status_code': statusCode }),
          });
          if (outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
          span.end();
          observe({
            operation,
            outcome,
            statusCode,
            requestCharge,
            retries,
            durationMs: performance.now() - started,
          });
        };
        try {
          const response = await next(context);
          finish(response as Headerish, 'ok');
          return response;
        } catch (error) {
          const failure = error as Headerish & { name?: string };
          const status = typeof failure.code === 'number' ? failure.code : failure.statusCode;
          // A 404 of a point read is an answer (no such document), not a failure of Cosmos.
          const outcome =
            status === 404 || status === 409 || status === 412
              ? 'ok'
              : status === 429
                ? 'throttled'
                : failure.name === 'TimeoutError' || status === 408
                  ? 'timeout'
                  : 'error';
          finish(failure, outcome);
          throw error;
        }
      });
    },
  },
  {
    on: 'request',
    plugin: (context, diagnosticNode, next) => {
      const span = trace.getActiveSpan();
      if (span !== undefined) attempts.set(span, (attempts.get(span) ?? 0) + 1);
      return next(context);
    },
  },
];
