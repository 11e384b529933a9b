import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';

import { AppModule } from './app.module.js';
import { closeConnectionsWhileDraining } from './health/graceful-shutdown.js';
import { ShutdownState } from './health/shutdown-state.js';
import type { AppConfig } from './modules/config/app-config.js';
import { registerEdge } from './modules/edge/edge.js';
import { traceHttpRequests } from './modules/telemetry/http-tracing.js';
import { answerClientError } from './modules/limits/client-error.handler.js';
import { createLogger } from './modules/logging/pino-logger.js';
import { PinoLoggerService } from './modules/logging/pino-logger.service.js';
import { RequestLogController } from './modules/logging/request-logging.js';

export interface CreateAppOptions {
  /** Where the JSON log lines go (tests capture them); stdout by default. */
  logDestination?: DestinationStream;
}

/** Builds the Nest application on Fastify; `main.ts` and the tests both start it this way. */
export const createApp = async (
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> => {
  const logger = createLogger({
    level: config.logLevel,
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    new FastifyAdapter({
      bodyLimit: config.limits.bodyLimitBytes,
      clientErrorHandler: answerClientError,
      loggerInstance: logger.child({ context: 'HTTP' }),
      // One line per request, once it is answered.
      logController: new RequestLogController(logger),
      // Shutdown (see health/graceful-shutdown.ts): a request that reaches the server while it
      // closes is served, not refused, and its connection closed after it; idle ones are closed.
      return503OnClosing: false,
      forceCloseConnections: 'idle',
    }),
    { logger: new PinoLoggerService(logger), abortOnError: false },
  );
  // Before Nest registers any route (at init), so the origin lock runs ahead of everything else.
  const fastify = app.getHttpAdapter().getInstance();
  traceHttpRequests(fastify);
  registerEdge(fastify, config.edge, config.production);
  closeConnectionsWhileDraining(fastify, app.get(ShutdownState));
  return app;
};
