import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import type { Container, CosmosClient } from '@azure/cosmos';
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { ResilienceConfig } from '../../src/modules/config/app-config.js';
import { createCosmosClient } from '../../src/modules/cosmos/cosmos-client.factory.js';
import { Deadline } from '../../src/modules/resilience/deadline.js';
import { DependencyFailure } from '../../src/modules/resilience/dependency-failure.js';
import { ResilienceService } from '../../src/modules/resilience/resilience.service.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Ready {
  endpoint: string;
  key: string;
  caFile: string;
  port: number;
  pid: number;
}

/** Starts the embedded Cosmos server as its own process and waits for its `ready` line. */
const startServerProcess = async (caFile: string): Promise<{ child: ChildProcess; ready: Ready }> => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/dev/embedded-cosmos.cli.ts', '--ca-file', caFile],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`embedded Cosmos exited (${String(code)}) before it was ready:\n${stderr}`);
  });
  const [line] = (await Promise.race([once(lines, 'line'), exited])) as [string];
  lines.close();
  // Its exit at the end of the tests is expected.
  exited.catch(() => undefined);
  return { child, ready: JSON.parse(line) as Ready };
};

/** Generous: the assertion is that a run ends near its budget, not how fast timers are. */
const slackMs = 150;
const budgetMs = 300;
const settings: ResilienceConfig = {
  requestBudgetMs: budgetMs,
  dependencies: {
    cosmos: { timeoutMs: 100, retries: 2, bulkhead: 16 },
    redis: { timeoutMs: 50, retries: 0, bulkhead: 16 },
  },
  breaker: { failureThreshold: 3, halfOpenAfterMs: 500 },
};

interface Doc {
  id: string;
  pk: string;
  title: string;
}

let dir: string;
let server: { child: ChildProcess; ready: Ready } | undefined;
let client: CosmosClient | undefined;
let container: Container;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flick-resilience-'));
  server = await startServerProcess(join(dir, 'ca.pem'));
  client = createCosmosClient({
    endpoint: server.ready.endpoint,
    key: server.ready.key,
    database: 'resilience',
    preferredRegions: [],
    caCertificate: await readFile(server.ready.caFile, 'utf8'),
    // The policies under test do the retrying; the SDK's timeout is only a backstop.
    maxRetries: 0,
    maxRetryWaitSeconds: 0,
    requestTimeoutMs: 2_000,
  });
  const { database } = await client.databases.createIfNotExists({ id: 'resilience' });
  ({ container } = await database.containers.createIfNotExists({
    id: 'items',
    partitionKey: { paths: ['/pk'] },
  }));
  await container.items.upsert<Doc>({ id: 'doc-1', pk: 'p-1', title: 'Roma' });
});

afterAll(async () => {
  client?.dispose();
  if (server !== undefined && server.child.exitCode === null) {
    try {
      process.kill(server.ready.pid, 'SIGCONT');
    } catch {
      // Already gone.
    }
    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    const stillRunning = setTimeout(() => server?.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(stillRunning);
  }
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe(`${ResilienceService.name} against a paused Cosmos server`, () => {
  it('fails within the budget, opens the breaker and fails fast, then recovers once the server resumes', async () => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const sut = new ResilienceService(settings);
    const changes: string[] = [];
    sut.onBreakerStateChange(({ previous, state }) => changes.push(`${previous}→${state}`));
    const cosmosState = () => sut.breakerStates().find((status) => status.dependency === 'cosmos')!.state;
    const read = async (): Promise<{ result: Doc | DependencyFailure; elapsedMs: number }> => {
      const start = performance.now();
      using deadline = Deadline.after(budgetMs);
      const result = await sut
        .run('cosmos', deadline, async (signal) => {
          const { resource } = await container.item('doc-1', 'p-1').read<Doc>({ abortSignal: signal });
          if (resource === undefined) throw new Error('doc-1 is missing');
          return resource;
        })
        .catch((error: unknown) => {
          if (error instanceof DependencyFailure) return error;
          throw error;
        });
      return { result, elapsedMs: performance.now() - start };
    };

    expect((await read()).result).toMatchObject({ id: 'doc-1', title: 'Roma' });

    process.kill(server!.ready.pid, 'SIGSTOP');
    let failedRuns = 0;
    while (cosmosState() === 'CLOSED') {
      const { result, elapsedMs } = await read();
      failedRuns += 1;
      expect(result).toBeInstanceOf(DependencyFailure);
      expect((result as DependencyFailure).reason).toBe('TIMEOUT');
      expect(elapsedMs).toBeLessThan(budgetMs + slackMs);
      expect(failedRuns).toBeLessThanOrEqual(settings.breaker.failureThreshold);
    }
    expect(cosmosState()).toBe('OPEN');

    const { result: blocked, elapsedMs: blockedMs } = await read();
    expect(blocked).toBeInstanceOf(DependencyFailure);
    expect((blocked as DependencyFailure).reason).toBe('BREAKER_OPEN');
    expect((blocked as DependencyFailure).attempts).toBe(0);
    expect(blockedMs).toBeLessThan(50);

    process.kill(server!.ready.pid, 'SIGCONT');
    await vi.waitFor(async () => expect((await read()).result).toMatchObject({ id: 'doc-1' }), {
      timeout: 10_000,
      interval: 50,
    });
    expect(cosmosState()).toBe('CLOSED');
    expect(changes[0]).toBe('CLOSED→OPEN');
    expect(changes.slice(-2)).toEqual(['OPEN→HALF_OPEN', 'HALF_OPEN→CLOSED']);
  });
});
