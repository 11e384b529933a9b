import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SampleAccount } from '../../src/gold/sample/sample-gold.builder.js';
import { waitFor } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { freePort } from '../support/redis.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';

/**
 * SIGTERM under load, against the built service (`node dist/main.js`) as the platform runs it:
 * readiness turns 503 while the process still answers, every request the server started answering
 * completes with 200, the only failures are connections refused or reset before a request was
 * accepted, and the process exits 0 within the grace period.
 */

const DATABASE = 'graceful-shutdown';
const GRACE_MS = 4000;
/** Startup of the hooks and process exit on a loaded CI machine. */
const EXIT_MARGIN_MS = 4000;
const LOOPS = 8;
/** What a client sees when its connection was refused or closed before the server took its request. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

const HOME = `query($profileId: ID!, $device: DeviceClass!) {
  home(profileId: $profileId, device: $device, rows: 4, titlesPerRow: 5) {
    profileId
    rows { id titles { id } }
    meta { source degraded }
  }
}`;

interface LogLine {
  level: string;
  time: string;
  msg: string;
  context?: string;
  [field: string]: unknown;
}

interface Service {
  url: string;
  lines: LogLine[];
  stderr: string[];
  /** The first log line whose message starts with `prefix`, once it is written. */
  line(prefix: string, timeoutMs?: number): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  kill(signal: NodeJS.Signals): void;
}

let cosmos: TestCosmos;
let issuer: TestIssuer;
let gold: TestGold;
let accounts: SampleAccount[];
const children = new Set<Service>();

const startService = async (): Promise<Service> => {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: {
      ...process.env,
      ...cosmos.env,
      ...issuer.env,
      COSMOS_DATABASE: DATABASE,
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      GOLD_MANIFEST_REFRESH_MS: '500',
      // Load, not latency or rate limits, is under test: nothing degrades or is refused on a busy machine.
      REQUEST_BUDGET_MS: '5000',
      COSMOS_CALL_TIMEOUT_MS: '2000',
      RATE_LIMIT_DEVICE_PER_MINUTE: '1000000',
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as LogLine));
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const service: Service = {
    url: `http://127.0.0.1:${port}`,
    lines,
    stderr,
    line: async (prefix, timeoutMs = 20_000) => {
      await waitFor(() => lines.some((line) => line.msg.startsWith(prefix)), timeoutMs, `log "${prefix}"`);
      return lines.find((line) => line.msg.startsWith(prefix))!;
    },
    exited,
    kill: (signal) => child.kill(signal),
  };
  children.add(service);
  void exited.then(() => children.delete(service));
  await waitFor(
    async () => (await fetch(`${service.url}/health/ready`).catch(() => undefined))?.status === 200,
    60_000,
    'readiness',
  );
  return service;
};

const codeOf = (error: unknown): string | undefined => {
  const cause = (error as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code ?? cause?.errors?.[0]?.code ?? (error as { code?: string }).code;
};

interface Outcome {
  /** `answered`: the server started answering (a response came back); `not-accepted`: no response. */
  kind: 'answered' | 'not-accepted';
  startedAt: number;
  endedAt: number;
  status?: number;
  /** The response's Connection header. */
  connection?: string | null;
  problem?: string;
  code?: string;
}

/** One GraphQL `home` request; a response that started must complete with 200 and data, no errors. */
const homeRequest = async (url: string, token: string, profileId: string): Promise<Outcome> => {
  const startedAt = Date.now();
  let response: Response;
  try {
    response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: HOME, variables: { profileId, device: 'TV' } }),
    });
  } catch (error) {
    return { kind: 'not-accepted', startedAt, endedAt: Date.now(), code: codeOf(error) ?? String(error) };
  }
  try {
    const body = (await response.json()) as { data?: { home?: { profileId: string } }; errors?: unknown[] };
    const problem =
      body.errors !== undefined
        ? JSON.stringify(body.errors)
        : body.data?.home?.profileId !== profileId
          ? 'no home page'
          : undefined;
    return {
      kind: 'answered',
      startedAt,
      endedAt: Date.now(),
      status: response.status,
      connection: response.headers.get('connection'),
      ...(problem === undefined ? {} : { problem }),
    };
  } catch (error) {
    return {
      kind: 'answered',
      startedAt,
      endedAt: Date.now(),
      status: response.status,
      problem: String(error),
    };
  }
};

/**
 * A request whose body arrives in two halves: the first before SIGTERM, the second once the
 * listener is closed, so it is in flight (accepted, not answered) across the close.
 */
const splitRequest = (url: string, token: string, profileId: string) => {
  const payload = JSON.stringify({ query: HOME, variables: { profileId, device: 'TV' } });
  const request = httpRequest(`${url}/graphql`, {
    method: 'POST',
    // Asks for keep-alive: the server must answer `Connection: close` all the same.
    agent: new Agent({ keepAlive: true }),
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      authorization: `Bearer ${token}`,
    },
  });
  const response = new Promise<{ status: number; connection: string | undefined; body: string }>(
    (resolve, reject) => {
      request.once('error', reject);
      request.once('response', (incoming) => {
        let body = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (chunk: string) => (body += chunk));
        incoming.once('end', () =>
          resolve({ status: incoming.statusCode!, connection: incoming.headers.connection, body }),
        );
        incoming.once('error', reject);
      });
    },
  );
  const half = Math.floor(payload.length / 2);
  request.write(payload.slice(0, half));
  return { response, finish: () => request.end(payload.slice(half)) };
};

beforeAll(async () => {
  [cosmos, issuer] = await Promise.all([startTestCosmos(), startTestIssuer()]);
  gold = await publishTestGold(cosmos, {
    database: DATABASE,
    profiles: 60,
    datasets: ['catalog', 'profiles', 'popular'],
  });
  accounts = JSON.parse(await readFile(join(gold.dir, 'accounts.json'), 'utf8')) as SampleAccount[];
});

afterAll(async () => {
  for (const service of children) service.kill('SIGKILL');
  await Promise.all([...children].map((service) => service.exited));
  await Promise.all([issuer?.close(), cosmos?.close(), gold?.remove()]);
});

describe('SIGTERM under load', () => {
  it('drains: readiness 503, accepted requests complete, then the process exits 0', async () => {
    const service = await startService();
    const devices = await Promise.all(
      accounts.slice(0, LOOPS).map(async (account) => ({
        profileId: account.profileIds[0]!,
        token: await issuer.tokenFor('device', {
          account_id: account.accountId,
          profile_ids: account.profileIds,
          country: account.country,
        }),
      })),
    );
    expect(devices).toHaveLength(LOOPS);

    let exited = false;
    void service.exited.then(() => (exited = true));
    const outcomes: Outcome[] = [];
    const loops = devices.map(async ({ token, profileId }) => {
      while (!exited) outcomes.push(await homeRequest(service.url, token, profileId));
    });
    // The platform's probes, every 20 ms.
    const probes: { startedAt: number; path: string; status: number; body: string }[] = [];
    const prober = (async () => {
      while (!exited) {
        for (const path of ['/health/ready', '/health/live']) {
          const startedAt = Date.now();
          const response = await fetch(`${service.url}${path}`).catch(() => undefined);
          if (response !== undefined) {
            probes.push({ startedAt, path, status: response.status, body: await response.text() });
          }
        }
        await delay(20);
      }
    })();

    await waitFor(() => outcomes.filter((o) => o.status === 200).length >= 100, 30_000, 'load');
    const split = splitRequest(service.url, devices[0]!.token, devices[0]!.profileId);
    const sigtermAt = Date.now();
    service.kill('SIGTERM');
    const draining = Date.parse((await service.line('SIGTERM received: draining')).time);
    const closing = await service.line('closing the HTTP listener', GRACE_MS + EXIT_MARGIN_MS);
    split.finish();
    const inFlightAcrossClose = await split.response;
    let exit: Awaited<Service['exited']> | undefined;
    void service.exited.then((status) => (exit = status));
    await waitFor(() => exit !== undefined, GRACE_MS + EXIT_MARGIN_MS, 'the exit');
    await Promise.all([...loops, prober]);

    // The process: exit 0 within the grace period (plus hooks), each step logged in order.
    expect(exit, service.stderr.join('\n')).toMatchObject({ code: 0, signal: null });
    expect(exit!.at - sigtermAt).toBeLessThan(GRACE_MS + EXIT_MARGIN_MS);
    const steps = [
      'SIGTERM received: draining',
      'closing the HTTP listener',
      'HTTP server closed',
      'running the shutdown hooks',
      'shutdown complete',
    ].map((prefix) => service.lines.findIndex((line) => line.msg.startsWith(prefix)));
    expect(steps.every((index) => index >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    expect(service.lines.every((line) => line.context !== undefined)).toBe(true);
    const closed = service.lines.find((line) => line.msg.startsWith('HTTP server closed'))!;
    expect(closed.msg).toMatch(/, 0 cut off$/);
    expect(Number(/(\d+) requests in flight/.exec(closing.msg)![1])).toBeGreaterThanOrEqual(1);

    // The request in flight across the close was served, and its connection closed after it.
    expect(inFlightAcrossClose.status).toBe(200);
    expect(inFlightAcrossClose.connection).toBe('close');
    expect(JSON.parse(inFlightAcrossClose.body)).not.toHaveProperty('errors');

    // Every request the server started answering completed with 200 and a home page.
    const answered = outcomes.filter((o) => o.kind === 'answered');
    const broken = answered.filter((o) => o.status !== 200 || o.problem !== undefined);
    expect(broken, JSON.stringify(broken.slice(0, 5))).toEqual([]);
    const answeredWhileDraining = answered.filter((o) => o.startedAt > draining);
    expect(answeredWhileDraining.length).toBeGreaterThan(0);
    // …each telling its client to open its next connection elsewhere.
    expect(answeredWhileDraining.filter((o) => o.connection !== 'close')).toEqual([]);
    // The others never got to the server: refused or reset connections, after the listener closed.
    const notAccepted = outcomes.filter((o) => o.kind === 'not-accepted');
    const closedAt = Date.parse(closing.time);
    expect(notAccepted.filter((o) => !CONNECTION_ERRORS.has(o.code!))).toEqual([]);
    expect(notAccepted.filter((o) => o.endedAt < closedAt)).toEqual([]);

    // Readiness failed at once while the process still answered; liveness did not.
    const afterSigterm = probes.filter((probe) => probe.startedAt > draining);
    const ready = afterSigterm.filter((probe) => probe.path === '/health/ready');
    expect(ready.length).toBeGreaterThan(0);
    expect(ready.every((probe) => probe.status === 503)).toBe(true);
    expect(JSON.parse(ready[0]!.body)).toMatchObject({ ready: false, draining: true });
    expect(afterSigterm.filter((probe) => probe.path === '/health/live').every((p) => p.status === 200)).toBe(
      true,
    );
    expect(afterSigterm.some((probe) => probe.path === '/health/live')).toBe(true);
  }, 120_000);

  it('cuts a request still in flight when the grace period is over, and still exits 0', async () => {
    const service = await startService();
    const token = await issuer.tokenFor('device');
    // Its body never completes.
    const stuck = splitRequest(service.url, token, 'p-test-1');
    const failure = stuck.response.then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code,
    );
    const sentAt = Date.now();
    service.kill('SIGTERM');
    const exit = await service.exited;
    expect(exit, service.stderr.join('\n')).toMatchObject({ code: 0, signal: null });
    expect(exit.at - sentAt).toBeGreaterThanOrEqual(GRACE_MS);
    expect(exit.at - sentAt).toBeLessThan(GRACE_MS + EXIT_MARGIN_MS);
    expect(await failure).toBe('ECONNRESET');
    expect(service.lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        'grace period over: cutting 1 requests still in flight',
        expect.stringMatching(
          /^HTTP server closed \d+ ms after SIGTERM: 0 requests answered while draining, 1 cut off$/,
        ),
      ]),
    );
  }, 120_000);

  it('exits at once on a second signal', async () => {
    const service = await startService();
    const sentAt = Date.now();
    service.kill('SIGTERM');
    await service.line('SIGTERM received: draining');
    service.kill('SIGTERM');
    const exit = await service.exited;
    expect(exit).toMatchObject({ code: 128 + 15, signal: null });
    // Well before the listener would have closed (half the grace period).
    expect(exit.at - sentAt).toBeLessThan(GRACE_MS / 2);
    expect(service.lines.some((line) => line.msg === 'SIGTERM received again: exiting now')).toBe(true);
  }, 120_000);
});
