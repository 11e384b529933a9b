import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import type { CosmosConfig } from '../../src/modules/config/app-config.js';
import type { CosmosEnv } from './cosmos.js';

/**
 * The embedded Cosmos server as its own process (src/dev/embedded-cosmos.cli.ts), so a test can
 * pause it (SIGSTOP: connections stay open, nothing answers), kill it (connections refused) and
 * restart it on the same port with the same certificate, which the running service keeps trusting.
 * Its data lives in memory: after a kill, whatever the test needs must be published again.
 */
export interface CosmosProcess {
  /** COSMOS_ENDPOINT, COSMOS_KEY and COSMOS_CA_CERT_FILE for the service; stable across restarts. */
  env: CosmosEnv;
  /** PEM the server presents; stable across restarts. */
  caCertificate: string;
  port: number;
  /** Pid of the current server process (changes on restart). */
  readonly pid: number;
  /** The service's Cosmos settings for `database`, e.g. for the publisher. */
  config(database: string): CosmosConfig;
  /** SIGSTOP: a hung server. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** SIGKILL, and waits until the process has exited: connections are refused from then on. */
  kill(): Promise<void>;
  /** Starts the server again on the same port with the same certificate (empty) and awaits readiness. */
  restart(): Promise<void>;
  /** Ends the server (however it is) and removes its files. */
  stop(): Promise<void>;
}

interface Ready {
  endpoint: string;
  key: string;
  caFile: string;
  port: number;
  pid: number;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Servers still running when the worker exits are killed, so a crashed test leaves none behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

const exited = (child: ChildProcess): Promise<void> =>
  hasExited(child) ? Promise.resolve() : once(child, 'exit').then(() => undefined);

/** Spawns the CLI and resolves with its ready line; rejects with its stderr when it exits first. */
const spawnServer = async (
  args: string[],
  timeoutMs = 30_000,
): Promise<{ child: ChildProcess; ready: Ready }> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/dev/embedded-cosmos.cli.ts', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const lines = createInterface({ input: child.stdout });
  let timer: NodeJS.Timeout | undefined;
  try {
    const line = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code, signal) =>
        reject(new Error(`embedded Cosmos exited (${code ?? signal}) before it was ready:\n${stderr}`)),
      );
      timer = setTimeout(
        () => reject(new Error(`embedded Cosmos not ready after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    // Keep draining the pipes so a chatty server never blocks on a full one.
    child.stdout.resume();
    return { child, ready: JSON.parse(line) as Ready };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
    lines.close();
  }
};

/** Starts the embedded Cosmos server as a child process on a free port with a fresh certificate. */
export const startCosmosProcess = async (): Promise<CosmosProcess> => {
  const dir = await mkdtemp(join(tmpdir(), 'flick-cosmos-process-'));
  const caFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'key.pem');
  let server: { child: ChildProcess; ready: Ready };
  try {
    server = await spawnServer(['--ca-file', caFile, '--key-file', keyFile]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const { endpoint, key, port } = server.ready;
  const caCertificate = await readFile(caFile, 'utf8');
  let paused = false;

  const kill = async () => {
    const { child } = server;
    child.kill('SIGKILL');
    paused = false;
    await exited(child);
  };

  return {
    env: { COSMOS_ENDPOINT: endpoint, COSMOS_KEY: key, COSMOS_CA_CERT_FILE: caFile },
    caCertificate,
    port,
    get pid() {
      return server.ready.pid;
    },
    config: (database) => ({
      endpoint,
      key,
      database,
      preferredRegions: [],
      caCertificate,
      maxRetries: 3,
      maxRetryWaitSeconds: 5,
      requestTimeoutMs: 10_000,
    }),
    pause: () => {
      paused = server.child.kill('SIGSTOP');
    },
    resume: () => {
      server.child.kill('SIGCONT');
      paused = false;
    },
    kill,
    restart: async () => {
      if (!hasExited(server.child)) await kill();
      // The key file makes the CLI reuse the certificate instead of writing a new one.
      server = await spawnServer(['--ca-file', caFile, '--key-file', keyFile, '--port', String(port)]);
      if (server.ready.endpoint !== endpoint) {
        throw new Error(`restarted Cosmos listens on ${server.ready.endpoint}, not ${endpoint}`);
      }
    },
    stop: async () => {
      const { child } = server;
      if (!hasExited(child)) {
        if (paused) child.kill('SIGCONT');
        paused = false;
        child.kill('SIGTERM');
        const stubborn = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited(child);
        clearTimeout(stubborn);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
};
