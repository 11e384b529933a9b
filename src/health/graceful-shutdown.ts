import type { Server } from 'node:http';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';

import { ShutdownState } from './shutdown-state.js';

/**
 * How long the listener stays open after the signal, as a share of the grace period and at most
 * this long: time for the platform to see readiness fail and stop routing new connections here.
 */
const DRAIN_WINDOW_SHARE = 0.5;
const MAX_DRAIN_WINDOW_MS = 5000;
/** Shutdown hooks (timers, Redis, Cosmos clients) get this long after the grace period. */
const HOOKS_TIMEOUT_MS = 5000;
const IDLE_SWEEP_MS = 100;

/**
 * While draining, every HTTP/1 response says `Connection: close`, so that clients open their next
 * connection elsewhere and no keep-alive connection outlives its current request. Registered by
 * `createApp` before any route.
 */
export const closeConnectionsWhileDraining = (fastify: FastifyInstance, state: ShutdownState): void => {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (state.draining && request.raw.httpVersionMajor === 1) void reply.header('connection', 'close');
    done(null, payload);
  });
};

export interface GracefulShutdownOptions {
  /** `config.operations.shutdownGraceMs`: from the signal until connections still open are cut. */
  graceMs: number;
  /** Runs after the shutdown hooks, before the exit (e.g. flushing telemetry). */
  afterClose?: () => Promise<void>;
  signals?: readonly NodeJS.Signals[];
  exit?: (code: number) => void;
}

/**
 * SIGTERM/SIGINT handling of the service process (`main.ts`; tests close their apps themselves):
 *
 * 1. draining at once: readiness answers 503, liveness 200, responses close their connection;
 * 2. after the drain window the listener closes: new connections are refused, idle keep-alive
 *    ones are closed, requests in flight finish;
 * 3. at the end of the grace period, connections with a request still in flight are cut;
 * 4. Nest's shutdown hooks run (`app.close()`), then `afterClose`, then the process exits 0.
 *
 * A second signal exits at once (128 + the signal's number). Call before `listen`, so that every
 * request is counted.
 */
export const handleShutdownSignals = (
  app: NestFastifyApplication,
  options: GracefulShutdownOptions,
): void => {
  const {
    graceMs,
    afterClose,
    signals = ['SIGTERM', 'SIGINT'],
    exit = (code: number) => process.exit(code),
  } = options;
  const logger = new Logger('Shutdown');
  const state = app.get(ShutdownState);
  const server: Server = app.getHttpServer();

  let inFlight = 0;
  let answered = 0;
  let cutOff = 0;
  server.on('request', (_request, response) => {
    inFlight += 1;
    response.once('close', () => {
      inFlight -= 1;
      if (state.draining && response.writableFinished) answered += 1;
    });
  });

  const closeServer = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) resolve();
      // Stops accepting connections and closes the idle ones; resolves once every connection is gone.
      else server.close(() => resolve());
    });

  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    const start = Date.now();
    const elapsed = () => Date.now() - start;
    const drainWindowMs = Math.min(Math.floor(graceMs * DRAIN_WINDOW_SHARE), MAX_DRAIN_WINDOW_MS);
    state.beginDraining(start);
    setTimeout(() => {
      logger.fatal(`shutdown still running ${elapsed()} ms after ${signal}: exiting 1`);
      exit(1);
    }, graceMs + HOOKS_TIMEOUT_MS).unref();
    logger.log(
      `${signal} received: draining (readiness answers 503); the listener closes in ${drainWindowMs} ms, requests in flight have ${graceMs} ms`,
    );

    await sleep(drainWindowMs);
    logger.log(`closing the HTTP listener: new connections are refused; ${inFlight} requests in flight`);
    const closed = closeServer();
    // A connection whose last response went out before draining began says keep-alive: close it
    // once idle rather than wait for the client.
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    let graceOver: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      closed.then(() => true),
      new Promise<false>(
        (resolve) => (graceOver = setTimeout(resolve, Math.max(0, graceMs - elapsed()), false)),
      ),
    ]);
    clearTimeout(graceOver);
    clearInterval(sweep);
    if (!inTime) {
      cutOff = inFlight;
      logger.warn(`grace period over: cutting ${cutOff} requests still in flight`);
      server.closeAllConnections();
      await closed;
    }
    logger.log(
      `HTTP server closed ${elapsed()} ms after ${signal}: ${answered} requests answered while draining, ${cutOff} cut off`,
    );

    logger.log('running the shutdown hooks (timers, Redis, Cosmos clients)');
    await app.close();
    await afterClose?.();
    logger.log(`shutdown complete ${elapsed()} ms after ${signal}: exiting 0`);
  };

  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      logger.warn(`${signal} received again: exiting now`);
      exit(128 + constants.signals[signal]);
      return;
    }
    shuttingDown = true;
    shutdown(signal).then(
      () => exit(0),
      (error: unknown) => {
        logger.error(`shutdown failed: ${String(error)}`, error instanceof Error ? error.stack : undefined);
        exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, onSignal);
};
