import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  TracerProvider,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';

export const SERVICE_NAME = 'flick-api';
/** Name of the tracer and meter of the service's own instrumentation. */
export const INSTRUMENTATION_SCOPE = 'flick-api';

export interface TelemetryOptions {
  /** Where `/metrics` is served; undefined: no Prometheus endpoint (metrics stay in memory). */
  metrics?: { host: string; port: number } | undefined;
  /** Tests: spans go here, synchronously. Otherwise OTLP when OTEL_EXPORTER_OTLP_* is set. */
  spanExporter?: SpanExporter;
  env?: NodeJS.ProcessEnv;
}

export interface Telemetry {
  /** True when spans are recorded (an exporter is configured); otherwise the API is a no-op. */
  tracing: boolean;
  /** The address `/metrics` listens on, once started. */
  metricsUrl: string | undefined;
  shutdown(): Promise<void>;
}

let started: Telemetry | undefined;

const otlpConfigured = (env: NodeJS.ProcessEnv): boolean =>
  env['OTEL_SDK_DISABLED'] !== 'true' &&
  env['OTEL_TRACES_EXPORTER'] !== 'none' &&
  (env['OTEL_EXPORTER_OTLP_ENDPOINT'] !== undefined ||
    env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] !== undefined);

/**
 * Starts OpenTelemetry for the process, before the application is built: W3C trace context,
 * spans exported over OTLP when the standard `OTEL_EXPORTER_OTLP_*` variables say where (off
 * otherwise, and then the tracing API is a no-op that costs nothing), and metrics served to
 * Prometheus on their own port. Idempotent: a second call returns the first handle.
 */
export const startTelemetry = async (options: TelemetryOptions = {}): Promise<Telemetry> => {
  if (started !== undefined) return started;
  const env = options.env ?? process.env;
  const resource = resourceFromAttributes({
    'service.name': env['OTEL_SERVICE_NAME'] ?? SERVICE_NAME,
    'service.instance.id': `${process.pid}`,
  });

  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());

  let tracerProvider: TracerProvider | undefined;
  const processors: SpanProcessor[] = [];
  if (options.spanExporter !== undefined)
    processors.push(new SimpleSpanProcessor({ exporter: options.spanExporter }));
  else if (otlpConfigured(env))
    processors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter() }));
  if (processors.length > 0) {
    tracerProvider = new TracerProvider({ resource, spanProcessors: processors });
    trace.setGlobalTracerProvider(tracerProvider);
  }

  let prometheus: PrometheusExporter | undefined;
  let metricsUrl: string | undefined;
  if (options.metrics !== undefined) {
    const { host, port } = options.metrics;
    prometheus = await new Promise<PrometheusExporter>((resolve, reject) => {
      const exporter: PrometheusExporter = new PrometheusExporter(
        { host, port, endpoint: '/metrics' },
        (error) => (error ? reject(error) : resolve(exporter)),
      );
    });
    metricsUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics`;
  }
  const meterProvider = new MeterProvider({
    resource,
    readers: prometheus === undefined ? [] : [prometheus],
  });
  metrics.setGlobalMeterProvider(meterProvider);

  started = {
    tracing: tracerProvider !== undefined,
    metricsUrl,
    shutdown: async () => {
      await Promise.allSettled([tracerProvider?.shutdown(), meterProvider.shutdown()]);
    },
  };
  return started;
};

/** The service's tracer (a no-op one until a tracer provider is registered). */
export const tracer = () => trace.getTracer(INSTRUMENTATION_SCOPE);
/** The service's meter (a no-op one until startTelemetry registers a meter provider). */
export const meter = () => metrics.getMeter(INSTRUMENTATION_SCOPE);

let dependencyLatency: ReturnType<ReturnType<typeof meter>['createHistogram']> | undefined;

/** Records how long one call to a dependency took (`flick_dependency_call_duration_seconds`). */
export const recordDependencyLatency = (
  dependency: 'cosmos' | 'redis',
  seconds: number,
  outcome: string,
): void => {
  dependencyLatency ??= meter().createHistogram('flick_dependency_call_duration_seconds', {
    description: 'Time of one call to a dependency (a Cosmos operation with its retries, a Redis call).',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] },
  });
  dependencyLatency.record(seconds, { dependency, outcome });
};
