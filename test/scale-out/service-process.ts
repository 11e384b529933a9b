import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

import { waitFor } from '../support/app.js';

/** One line of the service's JSON log (pino). */
export interface LogLine {
  level: string;
  time: string;
  msg: string;
  context?: string;
  [field: string]: unknown;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** The built service (`node dist/main.js`) as its own process, as the platform runs a replica. */
export interface ServiceProcess {
  /** The test's name for it, e.g. `A`. */
  name: string;
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every log line written so far. */
  lines: LogLine[];
  stderr: string[];
  /** The first log line whose message matches `pattern`, once it is written. */
  line(pattern: RegExp, timeoutMs?: number): Promise<LogLine>;
  exited: Promise<ProcessExit>;
  kill(signal: NodeJS.Signals): void;
}

/** Replicas still running when the worker exits are killed, so a crashed test leaves none behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Spawns the service on `port` with `env` (over the test's own environment) and resolves once it
 * is ready and has reached Redis: readiness does not wait for Redis, and what these tests share
 * between replicas lives there.
 */
export const startServiceProcess = async (
  name: string,
  port: number,
  env: Record<string, string>,
): Promise<ServiceProcess> => {
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: { ...process.env, ...env, HOST: '127.0.0.1', PORT: String(port), METRICS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const lines: LogLine[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as LogLine));
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const exited = new Promise<ProcessExit>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, at: Date.now() });
    }),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const service: ServiceProcess = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    lines,
    stderr,
    line: async (pattern, timeoutMs = 20_000) => {
      await waitFor(() => lines.some((line) => pattern.test(line.msg)), timeoutMs, `${name}: log ${pattern}`);
      return lines.find((line) => pattern.test(line.msg))!;
    },
    exited,
    kill: (signal) => child.kill(signal),
  };
  try {
    await waitFor(
      async () => {
        if (gone) throw new Error(`replica ${name} exited while starting:\n${stderr.join('\n')}`);
        return (await fetch(`${service.url}/health/ready`).catch(() => undefined))?.status === 200;
      },
      60_000,
      `replica ${name} to be ready`,
    );
    await service.line(/ready: L1 in process, L2 in Redis$|^Redis answers again/);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return service;
};
