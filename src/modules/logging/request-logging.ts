import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

import type { PinoLogger } from './pino-logger.js';
import { activeTraceFields, type TraceFields } from './trace-context.js';
import { pathOf } from './url-path.js';

/** Probes come every few seconds from every prober: at debug, so they do not drown the requests. */
const quietPaths = new Set(['/health/live', '/health/ready']);

/**
 * Fastify's request log lines, one per request once it is answered, written with the request's
 * logger (so with its `reqId`): method, path, status, duration in ms; at debug also the request
 * headers (credentials and cookies redacted). No "incoming request" line. The ids of the span
 * active when the request came in are kept for that line, as the span may be over by then.
 * Fastify's other lines (its error handler's, a 404's) stay as they are.
 */
export class RequestLogController extends LogController {
  private readonly traces = new WeakMap<FastifyRequest, TraceFields>();

  /**
   * @param logger the logger Fastify's request loggers are children of.
   * @param traceFields the active span's ids (the OpenTelemetry API's by default).
   */
  constructor(
    private readonly logger: PinoLogger,
    private readonly traceFields: () => TraceFields | undefined = activeTraceFields,
  ) {
    super();
  }

  override incomingRequest(request: FastifyRequest): void {
    const trace = this.traceFields();
    if (trace !== undefined) this.traces.set(request, trace);
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const path = pathOf(request.url);
    const level = error ? 'error' : quietPaths.has(path) ? 'debug' : 'info';
    if (!this.logger.isLevelEnabled(level)) return;
    request.log[level](
      {
        ...this.traces.get(request),
        method: request.method,
        path,
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 10) / 10,
        ...(error ? { err: error } : {}),
        ...(this.logger.isLevelEnabled('debug') ? { headers: request.headers } : {}),
      },
      error ? 'request errored' : 'request completed',
    );
  }
}
