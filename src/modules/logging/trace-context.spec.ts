import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from './pino-logger.js';
import { activeTraceFields } from './trace-context.js';

const spanContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
};
const inSpan = <T>(ids: typeof spanContext, fn: () => T): T =>
  context.with(trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext(ids)), fn);

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

afterAll(() => {
  context.disable();
});

describe(activeTraceFields.name, () => {
  it("reads the active span's ids through the OpenTelemetry API, across awaits", async () => {
    expect(activeTraceFields()).toBeUndefined();
    const fields = await inSpan(spanContext, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return activeTraceFields();
    });
    expect(fields).toEqual({ trace_id: spanContext.traceId, span_id: spanContext.spanId });
  });

  it('ignores an invalid span context', () => {
    const invalid = { ...spanContext, traceId: '0'.repeat(32), spanId: '0'.repeat(16) };
    expect(inSpan(invalid, activeTraceFields)).toBeUndefined();
  });

  it('puts them on every line the logger writes inside the span, by default', () => {
    const raw: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line) => void raw.push(line) } });
    logger.info('outside');
    inSpan(spanContext, () => logger.info('inside'));
    const [outside, inside] = raw.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(outside).not.toHaveProperty('trace_id');
    expect(inside).toMatchObject({ trace_id: spanContext.traceId, span_id: spanContext.spanId });
  });
});
