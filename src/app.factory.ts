import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LogLevel } from '@nestjs/common';

import { AppModule } from './app.module.js';
import type { AppConfig } from './modules/config/app-config.js';
import { registerEdge } from './modules/edge/edge.js';
import { answerClientError } from './modules/limits/client-error.handler.js';

const nestLogLevels: Record<AppConfig['logLevel'], LogLevel[] | false> = {
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
  silent: false,
};

/** Builds the Nest application on Fastify; `main.ts` and the tests both start it this way. */
export const createApp = async (config: AppConfig): Promise<NestFastifyApplication> => {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    new FastifyAdapter({ bodyLimit: config.limits.bodyLimitBytes, clientErrorHandler: answerClientError }),
    { logger: nestLogLevels[config.logLevel], abortOnError: false },
  );
  // Before Nest registers any route (at init), so the origin lock runs ahead of everything else.
  registerEdge(app.getHttpAdapter().getInstance(), config.edge, config.production);
  app.enableShutdownHooks();
  return app;
};
