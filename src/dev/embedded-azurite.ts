import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The well-known development account of Azurite (public, documented; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const HOST = '127.0.0.1';

export interface EmbeddedAzurite {
  /** Connection string of the dev account with an explicit BlobEndpoint. */
  connectionString: string;
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  blobEndpoint: string;
  port: number;
  child: ChildProcess;
  /** SIGTERM (SIGKILL if it has not exited after 5 s) and waits until the process has exited. */
  stop(): Promise<void>;
}

export interface EmbeddedAzuriteOptions {
  /** Port to listen on; by default Azurite binds port 0 and reports the port it got. */
  port?: number;
  /** How long to wait for Azurite to accept connections (default 30 s). */
  timeoutMs?: number;
}

/**
 * tools/azurite is its own package (installed by the root `postinstall`); this file runs from
 * src/dev (tsx, vitest) and from dist/src/dev (node), so the repository root is found by walking up.
 */
const findAzuriteMain = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'tools', 'azurite', 'package.json'))) break;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `tools/azurite not found above ${dirname(fileURLToPath(import.meta.url))}: Azurite lives in its own package there`,
      );
    }
    dir = parent;
  }
  const packageDir = join(dir, 'tools', 'azurite', 'node_modules', 'azurite');
  const manifest = join(packageDir, 'package.json');
  if (!existsSync(manifest)) {
    throw new Error(
      `Azurite is not installed in ${join(dir, 'tools', 'azurite')}: run npm ci (it installs tools/azurite)`,
    );
  }
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> };
  const main = bin?.['azurite-blob'];
  if (main === undefined || !existsSync(resolve(packageDir, main))) {
    throw new Error(`azurite-blob is missing from ${packageDir}: run npm ci (it installs tools/azurite)`);
  }
  return resolve(packageDir, main);
};

/**
 * Loaded into the child before Azurite: its stdin is a pipe from this process, which closes when
 * this process ends however it ends (even SIGKILL), and then the child exits too. Unref'd, so it
 * never keeps the child alive by itself (after a graceful SIGTERM shutdown).
 */
const EXIT_WITH_PARENT = [
  "process.stdin.on('end', () => process.exit(0));",
  "process.stdin.on('error', () => process.exit(0));",
  'process.stdin.resume();',
  'process.stdin.unref();',
].join('');

/** Children still running when this process exits normally are killed at once. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
const killOnExit = (child: ChildProcess) => {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const child of running) child.kill('SIGKILL');
    });
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
};

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

const exited = (child: ChildProcess): Promise<void> =>
  hasExited(child) ? Promise.resolve() : new Promise((done) => child.once('exit', () => done()));

/** Resolves once a TCP connection to the port succeeds, retrying until the deadline. */
const acceptsConnections = async (port: number, deadline: number): Promise<void> => {
  for (;;) {
    const error = await new Promise<Error | undefined>((done) => {
      const socket = connect({ host: HOST, port });
      socket.once('connect', () => {
        socket.destroy();
        done(undefined);
      });
      socket.once('error', (cause) => {
        socket.destroy();
        done(cause);
      });
    });
    if (error === undefined) return;
    if (Date.now() > deadline) throw error;
    await new Promise((wait) => setTimeout(wait, 50));
  }
};

const LISTENING = /successfully listens on https?:\/\/[^\s:]+:(\d+)/;

/**
 * Starts Azurite's blob service (in memory, no telemetry, no access log) as a child process on
 * 127.0.0.1 and resolves once it accepts connections. Without a port it binds port 0 and reads the
 * port it got from its start-up line, so there is no race for a free port.
 */
export const startEmbeddedAzurite = async (
  options: EmbeddedAzuriteOptions = {},
): Promise<EmbeddedAzurite> => {
  const main = findAzuriteMain();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const args = [
    '--import',
    `data:text/javascript,${encodeURIComponent(EXIT_WITH_PARENT)}`,
    main,
    '--inMemoryPersistence',
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--silent',
    '--blobHost',
    HOST,
    '--blobPort',
    String(options.port ?? 0),
  ];
  // Custom accounts would replace the dev account this module hands out.
  const env = { ...process.env };
  delete env.AZURITE_ACCOUNTS;
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  killOnExit(child);

  let output = '';
  const onStderr = (chunk: Buffer) => (output += chunk.toString('utf8'));
  child.stderr.on('data', onStderr);
  const lines = createInterface({ input: child.stdout });
  let timer: NodeJS.Timeout | undefined;
  let port: number;
  try {
    port = await new Promise<number>((resolvePort, reject) => {
      lines.on('line', (line) => {
        output += `${line}\n`;
        const match = LISTENING.exec(line);
        if (match?.[1] !== undefined) resolvePort(Number(match[1]));
      });
      child.once('error', (error) => reject(new Error(`Azurite could not be started: ${error.message}`)));
      child.once('exit', (code, signal) =>
        reject(new Error(`Azurite exited (${code ?? signal}) before it was ready:\n${output.trim()}`)),
      );
      timer = setTimeout(
        () => reject(new Error(`Azurite did not start listening within ${timeoutMs} ms:\n${output.trim()}`)),
        timeoutMs,
      );
    });
    await acceptsConnections(port, deadline).catch((error: Error) => {
      throw new Error(
        `Azurite does not accept connections on ${HOST}:${port}: ${error.message}\n${output.trim()}`,
      );
    });
  } catch (error) {
    child.kill('SIGKILL');
    await exited(child);
    throw error;
  } finally {
    clearTimeout(timer);
    lines.close();
  }
  // Keep draining the pipes so a chatty child never blocks on a full one.
  child.stderr.off('data', onStderr);
  child.stdout.resume();
  child.stderr.resume();

  const blobEndpoint = `http://${HOST}:${port}/${AZURITE_ACCOUNT}`;
  return {
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};` +
      `AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`,
    blobEndpoint,
    port,
    child,
    stop: async () => {
      if (hasExited(child)) return;
      child.kill('SIGTERM');
      const stubborn = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited(child);
      clearTimeout(stubborn);
    },
  };
};
