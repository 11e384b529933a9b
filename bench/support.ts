import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/** Processes the benchmark started, stopped at the end, on Ctrl-C and on errors. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

export interface Started {
  child: ChildProcess;
  pid: number;
  /** What the process wrote so far (stderr and stdout), for error messages. */
  output(): string;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns a process tracked for clean-up; its output is kept (the last 64 kB) for error messages. */
export const start = (command: string, args: string[], options: SpawnOptions = {}): Started => {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`cannot start ${command}`);
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-65_536);
  };
  child.stderr?.on('data', keep);
  if (options.stdio === undefined) child.stdout?.on('data', keep);
  return {
    child,
    pid: child.pid,
    output: () => output,
    stop: async (graceMs = 5_000) => {
      if (hasExited(child)) return;
      child.kill('SIGTERM');
      const stubborn = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await once(child, 'exit');
      clearTimeout(stubborn);
    },
  };
};

/** Stops every process still running (service first: it was started last). */
export const stopAll = async (): Promise<void> => {
  const running = [...children].reverse();
  for (const child of running) {
    if (hasExited(child)) continue;
    child.kill('SIGTERM');
    const stubborn = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await once(child, 'exit');
    clearTimeout(stubborn);
  }
};

/** Resolves with the first stdout line of `started`; rejects when it exits first or after `timeoutMs`. */
export const firstLine = async (started: Started, timeoutMs = 30_000): Promise<string> => {
  const { child } = started;
  if (child.stdout === null) throw new Error('no stdout');
  const lines = createInterface({ input: child.stdout });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code, signal) =>
        reject(new Error(`exited (${code ?? signal}) before it was ready:\n${started.output()}`)),
      );
      timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
    lines.close();
    child.stdout.resume();
  }
};

/** Polls `url` until it answers 2xx; resolves with the milliseconds it took. */
export const waitUntilOk = async (url: string, started: Started, timeoutMs = 120_000): Promise<number> => {
  const since = Date.now();
  for (;;) {
    const response = await fetch(url).catch(() => undefined);
    if (response?.ok) return Date.now() - since;
    await response?.body?.cancel();
    if (hasExited(started.child)) throw new Error(`exited before ${url} was ready:\n${started.output()}`);
    if (Date.now() - since > timeoutMs) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await sleep(50);
  }
};

/** Peak resident set size of a process in MiB (VmHWM), or undefined once it has gone. */
export const peakRssMiB = (pid: number): number | undefined => {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
};

/** Prometheus text format: sample name with labels → value. */
export type Samples = Map<string, number>;

export const scrape = async (url: string): Promise<Samples> => {
  const text = await (await fetch(url)).text();
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
};

/** Sum of the samples named `name` whose labels include every `labels` pair, after minus before. */
export const delta = (
  before: Samples,
  after: Samples,
  name: string,
  labels: Record<string, string> = {},
): number => {
  const sum = (samples: Samples) => {
    let total = 0;
    for (const [key, value] of samples) {
      const brace = key.indexOf('{');
      const sampleName = brace === -1 ? key : key.slice(0, brace);
      if (sampleName !== name) continue;
      const labelText = brace === -1 ? '' : key.slice(brace);
      if (Object.entries(labels).every(([label, wanted]) => labelText.includes(`${label}="${wanted}"`)))
        total += value;
    }
    return total;
  };
  return sum(after) - sum(before);
};

/** Distinct values of `label` among samples named `name`. */
export const labelValues = (samples: Samples, name: string, label: string): string[] => {
  const values = new Set<string>();
  for (const key of samples.keys()) {
    if (!key.startsWith(`${name}{`)) continue;
    const match = new RegExp(`${label}="([^"]*)"`).exec(key);
    if (match?.[1] !== undefined) values.add(match[1]);
  }
  return [...values].sort();
};

/** The machine a run measured, as its report keeps it. */
export interface Machine {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1, 5 and 15 minute load averages: anything else running on the machine skews the figures. */
  loadAverage: { atStart: number[]; atEnd: number[] };
}

/** The 1, 5 and 15 minute load averages, rounded. */
export const loadAverage = (): number[] => loadavg().map((value) => Math.round(value * 100) / 100);

/** This machine, with the load average `atStart` of the run and now. */
export const machine = (atStart: number[]): Machine => ({
  cpuModel: cpus()[0]?.model ?? 'unknown',
  cpus: cpus().length,
  memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  loadAverage: { atStart, atEnd: loadAverage() },
});

/** One line describing `machine` for the generated pages. */
export const machineLine = (machine: Machine): string =>
  `${machine.cpuModel}, ${machine.cpus} CPUs, ${machine.memoryGiB} GiB, Node.js ${machine.node}, ${machine.platform}; load average ${machine.loadAverage.atStart.join(' ')} at the start, ${machine.loadAverage.atEnd.join(' ')} at the end`;
