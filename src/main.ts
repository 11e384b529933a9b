import 'reflect-metadata';

import { createApp } from './app.factory.js';
import { handleShutdownSignals } from './health/graceful-shutdown.js';
import { ConfigError, loadConfig, type AppConfig } from './modules/config/app-config.js';
import { startTelemetry } from './modules/telemetry/otel.js';

const configOrExit = (): AppConfig => {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
};

const config = configOrExit();
// OpenTelemetry before the application is built: spans and metrics of everything it does.
const telemetry = await startTelemetry({ metrics: config.operations.metrics }).catch((error: unknown) => {
  process.stderr.write(`METRICS_PORT: cannot serve /metrics (${(error as Error).message})\n`);
  process.exit(1);
});
const app = await createApp(config);
// SIGTERM/SIGINT: drain, close the listener, run the shutdown hooks, exit 0.
handleShutdownSignals(app, {
  graceMs: config.operations.shutdownGraceMs,
  afterClose: () => telemetry.shutdown(),
});
await app.listen({ host: config.http.host, port: config.http.port });
