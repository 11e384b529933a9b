import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

import { tracer } from './otel.js';

const spans = new WeakMap<FastifyRequest, Span>();

/**
 * The root span of every HTTP request (continuing a W3C `traceparent` from Front Door or the
 * client), made the active context for the request's handler: GraphQL, Redis and Cosmos spans of
 * the request are its descendants. Free when tracing is off (the no-op tracer).
 */
export const traceHttpRequests = (fastify: FastifyInstance): void => {
  fastify.addHook('onRequest', (request, _reply, done) => {
    const parent = propagation.extract(context.active(), request.headers);
    const span = tracer().startSpan(
      `${request.method} ${request.routeOptions.url ?? 'unknown route'}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?')[0] ?? '',
          ...(request.routeOptions.url === undefined ? {} : { 'http.route': request.routeOptions.url }),
        },
      },
      parent,
    );
    spans.set(request, span);
    context.with(trace.setSpan(parent, span), done);
  });
  // Body parsing runs in stream callbacks outside that context: enter it again for the handler.
  fastify.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request);
    if (span === undefined) return done();
    context.with(trace.setSpan(context.active(), span), done);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const span = spans.get(request);
    if (span !== undefined) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      spans.delete(request);
    }
    done();
  });
};
