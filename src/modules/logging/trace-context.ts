import { isSpanContextValid, trace } from '@opentelemetry/api';

/** The ids every log line written inside an OpenTelemetry span carries. */
export interface TraceFields {
  trace_id: string;
  span_id: string;
}

/**
 * The active span's ids (`trace.getActiveSpan()?.spanContext()`), when there is a valid one: a
 * recorded span, or the caller's (a `traceparent` continued by a non-recording span while tracing
 * is off). Undefined outside any span, and before a context manager is registered.
 */
export const activeTraceFields = (): TraceFields | undefined => {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return undefined;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
};
