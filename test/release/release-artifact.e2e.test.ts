import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { utcDay } from '../../src/catalog/catalog-title.js';
import type { SampleAccount } from '../../src/gold/sample/sample-gold.builder.js';
import { waitFor } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { freePort, startRedis, type TestRedis } from '../support/redis.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';

/**
 * The release artifact (scripts/build-release.sh, the Dockerfile's /app without Docker) built from
 * this checkout, started as the container starts it (`NODE_ENV=production node dist/main.js`) against
 * Redis and the embedded Cosmos server, and queried over HTTP as a device and an operator would.
 */
const DATABASE = 'release-artifact';
const HOME = `query($profileId: ID!) {
  home(profileId: $profileId, device: TV) { profileId rows { id titles { id name } } meta { source degraded } }
}`;

let releaseDir: string;
let cosmos: TestCosmos;
let redis: TestRedis;
let issuer: TestIssuer;
let gold: TestGold;
let service: ChildProcess;
let exited: Promise<number | null>;
let url: string;
let metricsUrl: string;
let output = '';

beforeAll(async () => {
  releaseDir = await mkdtemp(join(tmpdir(), 'flick-release-'));
  await promisify(execFile)('bash', ['scripts/build-release.sh', releaseDir], {
    maxBuffer: 16 * 1024 * 1024,
  });
  [cosmos, redis, issuer] = await Promise.all([startTestCosmos(), startRedis(), startTestIssuer()]);
  gold = await publishTestGold(cosmos, {
    database: DATABASE,
    profiles: 40,
    asOf: utcDay(),
    datasets: ['catalog', 'profiles', 'popular'],
  });
  const [port, metricsPort] = [await freePort(), await freePort()];
  url = `http://127.0.0.1:${port}`;
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  // Only what a container gets: no inherited development settings.
  service = spawn(process.execPath, ['dist/main.js'], {
    cwd: releaseDir,
    env: {
      PATH: process.env['PATH'] ?? '',
      ...cosmos.env,
      ...issuer.env,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(metricsPort),
      COSMOS_DATABASE: DATABASE,
      REDIS_URL: redis.url,
      CURSOR_SECRET: 'release-test-cursor-secret-of-at-least-32-characters',
      SHUTDOWN_GRACE_MS: '2000',
      REQUEST_BUDGET_MS: '5000',
      COSMOS_CALL_TIMEOUT_MS: '2000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  service.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  exited = new Promise((resolve) => service.once('exit', (code) => resolve(code)));
  await waitFor(
    async () => (await fetch(`${url}/health/ready`).catch(() => undefined))?.ok === true,
    60_000,
    'readiness of the release artifact',
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n${output}`);
  });
}, 300_000);

afterAll(async () => {
  if (service?.exitCode === null) service.kill('SIGKILL');
  await Promise.all([issuer?.close(), cosmos?.close(), redis?.stop(), gold?.remove()]);
  if (releaseDir !== undefined) await rm(releaseDir, { recursive: true, force: true });
});

describe('release artifact', () => {
  it('holds the built service and production dependencies only', async () => {
    expect(readdirSync(releaseDir).sort()).toEqual(['dist', 'node_modules', 'package.json']);
    expect(existsSync(join(releaseDir, 'dist/main.js'))).toBe(true);
    expect(existsSync(join(releaseDir, 'dist/dev')), 'development tools stay out').toBe(false);
    // The lock file marks every package only development needs: none of them ships, all others do.
    const lock = JSON.parse(await readFile('package-lock.json', 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
    };
    const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
    const shipped = (path: string) => existsSync(join(releaseDir, path));
    const devOnly = entries.filter(([, entry]) => entry.dev === true).map(([path]) => path);
    const needed = entries
      .filter(([, entry]) => entry.dev !== true && entry.optional !== true && entry.devOptional !== true)
      .map(([path]) => path);
    expect(devOnly.length).toBeGreaterThan(100);
    expect(devOnly.filter(shipped), 'development-only packages shipped').toEqual([]);
    expect(
      needed.filter((path) => !shipped(path)),
      'production packages missing',
    ).toEqual([]);
  });

  it('answers health, metrics and a device home page', async () => {
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    expect(await (await fetch(metricsUrl)).text()).toContain('flick_');
    const accounts = JSON.parse(await readFile(join(gold.dir, 'accounts.json'), 'utf8')) as SampleAccount[];
    const account = accounts[0]!;
    const token = await issuer.tokenFor('device', {
      account_id: account.accountId,
      profile_ids: account.profileIds,
      country: account.country,
    });
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: HOME, variables: { profileId: account.profileIds[0] } }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      data?: { home: { rows: { titles: unknown[] }[]; meta: { source: string; degraded: boolean } } };
      errors?: unknown;
    };
    expect(body.errors).toBeUndefined();
    expect(body.data?.home.meta).toEqual({ source: 'PERSONALIZED', degraded: false });
    expect(body.data?.home.rows.length).toBeGreaterThan(0);
    // Production: no introspection for anyone.
    const introspection = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
    });
    expect(await introspection.text()).toContain('errors');
  });

  it('stops cleanly on SIGTERM', async () => {
    service.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
