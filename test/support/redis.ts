import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';

/**
 * Real Redis servers for tests: a standalone instance and a 3-node cluster, each on free ports in
 * a temporary directory, never persisting anything. The Redis on 6379 is never touched.
 */

const HOST = '127.0.0.1';

export interface TestRedis {
  host: string;
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Stops the server (SIGTERM by default) and waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** SIGKILL: the server vanishes without closing its connections cleanly. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (empty: nothing is persisted) and awaits readiness. */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing (a hung Redis). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** A plain client of this server for assertions; closed by `stop`. */
  client(): Redis;
}

export interface TestRedisCluster {
  nodes: { host: string; port: number }[];
  /** SIGKILLs one node: the slots it serves become unreachable. */
  kill(index: number): Promise<void>;
  stop(): Promise<void>;
}

/** Children still running when the worker exits are killed, so a crashed test leaves no servers. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));

/**
 * Spawns `redis-server` and resolves once it logs that it accepts connections; rejects with its
 * output when it exits first (e.g. the port was taken between picking and binding it).
 */
const spawnRedis = async (args: string[], cwd: string): Promise<ChildProcess> => {
  const child = spawn('redis-server', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`redis-server ${args.join(' ')} exited (${code}) before it was ready:\n${output}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
  // Keep draining the pipes so a chatty server never blocks on a full one.
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
};

const serverArgs = (port: number) => [
  '--port',
  String(port),
  '--bind',
  HOST,
  '--save',
  '',
  '--appendonly',
  'no',
];

/** Ports can be taken between picking one and binding it; a few attempts make that harmless. */
const withFreshPorts = async <T>(count: number, start: (ports: number[]) => Promise<T>): Promise<T> => {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const ports: number[] = [];
    while (ports.length < count) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    try {
      return await start(ports);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
};

const run = (command: string, args: string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${command} ${args.join(' ')} failed (${code}):\n${output}`)),
    );
  });

/** Starts a standalone Redis on a free port, in its own temporary directory. */
export const startRedis = async (): Promise<TestRedis> => {
  const dir = await mkdtemp(join(tmpdir(), 'flick-redis-'));
  const { port, child: first } = await withFreshPorts(1, async ([port]) => ({
    port: port!,
    child: await spawnRedis(serverArgs(port!), dir),
  }));
  let child = first;
  let paused = false;
  const clients: Redis[] = [];
  const stopChild = async (signal: NodeJS.Signals) => {
    if (paused) child.kill('SIGCONT');
    paused = false;
    child.kill(signal);
    await exited(child);
  };
  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    stop: async (signal = 'SIGTERM') => {
      for (const client of clients.splice(0)) client.disconnect();
      await stopChild(signal);
      await rm(dir, { recursive: true, force: true });
    },
    kill: () => stopChild('SIGKILL'),
    restart: async () => {
      if (child.exitCode === null && child.signalCode === null) await stopChild('SIGKILL');
      child = await spawnRedis(serverArgs(port), dir);
    },
    pause: () => {
      paused = child.kill('SIGSTOP');
    },
    resume: () => {
      child.kill('SIGCONT');
      paused = false;
    },
    client: () => {
      const client = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
  };
};

const clusterState = async (port: number): Promise<string> => {
  const client = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  try {
    const info = String(await client.cluster('INFO'));
    return /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    client.disconnect();
  }
};

/**
 * Starts three cluster-enabled servers (each with its own data and bus port, all free), joins them
 * with `redis-cli --cluster create` (no replicas) and resolves once every node reports
 * `cluster_state:ok`.
 */
export const startRedisCluster = async (timeoutMs = 30_000): Promise<TestRedisCluster> => {
  const dir = await mkdtemp(join(tmpdir(), 'flick-redis-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = await withFreshPorts(6, async (ports) => {
      const dataPorts = ports.slice(0, 3);
      const started = await Promise.allSettled(
        dataPorts.map((port, index) =>
          spawnRedis(
            [
              ...serverArgs(port),
              '--cluster-enabled',
              'yes',
              '--cluster-port',
              String(ports[3 + index]),
              '--cluster-config-file',
              join(dir, `nodes-${port}.conf`),
              '--cluster-node-timeout',
              '2000',
            ],
            dir,
          ),
        ),
      );
      for (const result of started) if (result.status === 'fulfilled') children.push(result.value);
      const failure = started.find((result) => result.status === 'rejected');
      if (failure !== undefined) {
        for (const child of children.splice(0)) child.kill('SIGKILL');
        throw failure.reason;
      }
      return dataPorts;
    });
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `${HOST}:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const deadline = Date.now() + timeoutMs;
    for (const port of ports) {
      while ((await clusterState(port)) !== 'ok') {
        if (Date.now() > deadline) throw new Error(`cluster node ${port} not ok after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return {
      nodes: ports.map((port) => ({ host: HOST, port })),
      kill: async (index) => {
        const child = children[index];
        if (child === undefined) throw new Error(`no cluster node ${index}`);
        child.kill('SIGKILL');
        await exited(child);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
};
