import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import type { DevIssuer } from '../src/dev/dev-issuer.js';
import { loadSampleGold, type SampleGoldLoad } from '../src/dev/sample-gold.js';
import type { GoldDatasetName } from '../src/gold/contract/gold-datasets.js';
import {
  ACCOUNTS_FILE,
  SAMPLE_GOLD_FILES,
  type SampleAccount,
} from '../src/gold/sample/sample-gold.builder.js';
import type { CosmosConfig } from '../src/modules/config/app-config.js';
import type { PoolRequest } from './load.js';
import { firstLine, freePort, sleep, start, waitUntilOk, type Started } from './support.js';
import { seededRandom, shuffle, zipfSampler } from './zipf.js';

/**
 * The stack `npm run bench` and `npm run chaos` drive: a throw-away Redis, the embedded Cosmos
 * server as its own process, the sample gold published with the real publisher, a development token
 * issuer, request pools of the fixed mix with real device tokens, and the built service
 * (dist/main.js) in production mode. Every process is started through support.ts, so it is stopped
 * at the end, on Ctrl-C and on errors.
 */

export const say = (message: string): void => void process.stdout.write(`${message}\n`);
/** Seconds since `since` (a Date.now()), to a tenth. */
export const seconds = (since: number): number => Math.round((Date.now() - since) / 100) / 10;

export const DATABASE = 'flick-gold';
/** The datasets the device operations of the mix read. */
export const SERVED_DATASETS: readonly GoldDatasetName[] = ['catalog', 'profiles', 'popular'];
export const ZIPF_S = 1.1;
export const MIX = { home: 0.8, title: 0.1, browse: 0.05, search: 0.05 } as const;
export type Operation = keyof typeof MIX;
export const OPERATIONS = Object.keys(MIX) as Operation[];
export type Pools = Record<Operation, PoolRequest[]>;

export const poolSizes = (short: boolean): Record<Operation, number> =>
  short
    ? { home: 500, title: 200, browse: 100, search: 100 }
    : { home: 5_000, title: 2_000, browse: 500, search: 500 };

const query = (name: string) => readFileSync(join('bench/queries', `${name}.graphql`), 'utf8');
export const QUERIES: Record<Operation, string> = {
  home: query('tv-home'),
  title: query('title'),
  browse: query('browse'),
  search: query('search'),
};

// ---------------------------------------------------------------------------------------------
// Redis

export interface RedisServer {
  url: string;
  port: number;
  readonly process: Started;
  /** SIGKILL, and waits until it has exited: clients see their connections drop. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (nothing is persisted), and awaits readiness. */
  restart(): Promise<void>;
}

const spawnRedis = async (port: number): Promise<Started> => {
  const redis = start('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  const deadline = Date.now() + 10_000;
  while (!redis.output().includes('Ready to accept connections')) {
    if (redis.child.exitCode !== null || redis.child.signalCode !== null)
      throw new Error(`redis-server exited:\n${redis.output()}`);
    if (Date.now() > deadline) throw new Error(`redis-server not ready:\n${redis.output()}`);
    await sleep(20);
  }
  return redis;
};

const killed = async (started: Started): Promise<void> => {
  const { child } = started;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = once(child, 'exit');
  child.kill('SIGKILL');
  await exit;
};

/** A throw-away Redis (nothing persisted) on a free port, which can be killed and restarted there. */
export const startRedisServer = async (): Promise<RedisServer> => {
  const port = await freePort();
  let current = await spawnRedis(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get process() {
      return current;
    },
    kill: () => killed(current),
    restart: async () => {
      await killed(current);
      current = await spawnRedis(port);
    },
  };
};

// ---------------------------------------------------------------------------------------------
// Cosmos

export interface CosmosServer {
  endpoint: string;
  key: string;
  /** PEM of the certificate it presents (the CA its clients trust) and of its private key. */
  caFile: string;
  keyFile: string;
  port: number;
  readonly process: Started;
  /** Settings for a client that talks to it directly (the publisher). */
  config(database?: string): CosmosConfig;
  /** SIGSTOP: connections stay open, nothing answers. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** SIGKILL, and waits until it has exited: its data (in memory) is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same certificate (empty) and awaits readiness. */
  restart(): Promise<void>;
}

interface CosmosReady {
  endpoint: string;
  key: string;
  caFile: string;
}

const spawnCosmos = async (dir: string, port?: number): Promise<{ started: Started; ready: CosmosReady }> => {
  const started = start(
    process.execPath,
    [
      'dist/dev/embedded-cosmos.cli.js',
      '--ca-file',
      join(dir, 'cosmos-ca.pem'),
      '--key-file',
      join(dir, 'cosmos-key.pem'),
      ...(port === undefined ? [] : ['--port', String(port)]),
    ],
    // With an IPC channel the server stops when this process goes away, however it ends.
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  return { started, ready: JSON.parse(await firstLine(started)) as CosmosReady };
};

/**
 * The embedded Cosmos server as its own process (dist/dev/embedded-cosmos.cli.js), its certificate
 * and key kept in `dir`: a restart reuses them, so clients that trust the certificate keep working.
 */
export const startCosmosServer = async (dir: string): Promise<CosmosServer> => {
  let { started, ready } = await spawnCosmos(dir);
  const { endpoint, key, caFile } = ready;
  const port = Number(new URL(endpoint).port);
  let paused = false;
  return {
    endpoint,
    key,
    caFile,
    keyFile: join(dir, 'cosmos-key.pem'),
    port,
    get process() {
      return started;
    },
    config: (database = DATABASE) => ({
      endpoint,
      key,
      database,
      preferredRegions: [],
      caCertificate: readFileSync(caFile, 'utf8'),
      maxRetries: 3,
      maxRetryWaitSeconds: 5,
      requestTimeoutMs: 30_000,
    }),
    pause: () => {
      paused = started.child.kill('SIGSTOP');
    },
    resume: () => {
      if (paused) started.child.kill('SIGCONT');
      paused = false;
    },
    kill: async () => {
      paused = false;
      await killed(started);
    },
    restart: async () => {
      paused = false;
      await killed(started);
      ({ started, ready } = await spawnCosmos(dir, port));
      if (ready.endpoint !== endpoint)
        throw new Error(`restarted Cosmos listens on ${ready.endpoint}, not ${endpoint}`);
    },
  };
};

// ---------------------------------------------------------------------------------------------
// Gold

export interface GoldOptions {
  profiles: number;
  seed: number;
  /** The day the sample is built around (licences, dates): today, so pages have titles. */
  asOf: string;
  outDir: string;
}

const sampleOptions = (options: GoldOptions) => ({
  csvPath: 'data/netflix_titles.csv',
  outDir: options.outDir,
  profiles: options.profiles,
  seed: options.seed,
  asOf: options.asOf,
  datasets: SERVED_DATASETS,
});

/** Builds the sample gold into `outDir` (once per options) and publishes catalog, profiles, popular. */
export const publishSampleGold = async (
  cosmos: CosmosServer,
  options: GoldOptions,
): Promise<{ gold: SampleGoldLoad; publishSeconds: number }> => {
  const started = Date.now();
  const gold = await loadSampleGold(cosmos.config(), sampleOptions(options));
  return { gold, publishSeconds: seconds(started) };
};

/**
 * A pipeline job (the publisher) as its own Node.js process at low CPU priority (nice 10). In
 * production it runs on other machines; here it would otherwise take the CPUs the service, Redis and
 * the load generator need, and measure the machine rather than the service. The Cosmos server that
 * ingests what it writes keeps its normal priority: it also serves the service's reads.
 */
export const startPipelineJob = (args: string[], env?: NodeJS.ProcessEnv): Started =>
  start('nice', ['-n', '10', process.execPath, ...args], env === undefined ? {} : { env });

/** The same as {@link publishSampleGold}, as a {@link startPipelineJob}; the gold is already built into `outDir`. */
export const publishSampleGoldInChild = async (cosmos: CosmosServer, options: GoldOptions): Promise<void> => {
  const script = [
    `import { loadSampleGold } from ${JSON.stringify(new URL('../dist/dev/sample-gold.js', import.meta.url).href)};`,
    `import { readFileSync } from 'node:fs';`,
    `const [cosmos, options] = JSON.parse(process.argv[1]);`,
    `cosmos.caCertificate = readFileSync(cosmos.caFile, 'utf8');`,
    `await loadSampleGold(cosmos, options);`,
  ].join('\n');
  const { caCertificate: _ca, ...config } = cosmos.config();
  await runToCompletion(
    startPipelineJob([
      '--input-type=module',
      '-e',
      script,
      JSON.stringify([{ ...config, caFile: cosmos.caFile }, sampleOptions(options)]),
    ]),
    'republishing the sample gold',
  );
};

/** Resolves when `started` exits 0; rejects with its output otherwise. */
export const runToCompletion = async (started: Started, what: string): Promise<void> => {
  const { child } = started;
  const [code, signal] =
    child.exitCode !== null || child.signalCode !== null
      ? [child.exitCode, child.signalCode]
      : ((await once(child, 'exit')) as [number | null, NodeJS.Signals | null]);
  if (code !== 0) throw new Error(`${what} failed (${code ?? signal}):\n${started.output()}`);
};

export const readAccounts = (outDir: string): SampleAccount[] =>
  JSON.parse(readFileSync(join(outDir, ACCOUNTS_FILE), 'utf8')) as SampleAccount[];

export interface CatalogTitle {
  titleId: string;
  name: string;
  genres: string[];
}

export const readCatalog = (outDir: string): CatalogTitle[] =>
  gunzipSync(readFileSync(join(outDir, SAMPLE_GOLD_FILES.catalog)))
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CatalogTitle);

// ---------------------------------------------------------------------------------------------
// Request pools

/** The request pools: home by Zipf-drawn accounts, the rest over the catalogue. */
export const buildPools = async (
  accounts: SampleAccount[],
  titles: CatalogTitle[],
  issuer: DevIssuer,
  { seed, sizes }: { seed: number; sizes: Record<Operation, number> },
): Promise<Pools> => {
  const random = seededRandom(seed);
  const order = shuffle(
    accounts.map((_, index) => index),
    random,
  );
  const drawRank = zipfSampler(accounts.length, ZIPF_S, random);
  const tokens = new Map<string, string>();
  const tokenOf = async (account: SampleAccount) => {
    let token = tokens.get(account.accountId);
    if (token === undefined) {
      token = await issuer.sign({
        sub: `bench-${account.accountId}`,
        roles: ['device'],
        account_id: account.accountId,
        profile_ids: account.profileIds,
        country: account.country,
      });
      tokens.set(account.accountId, token);
    }
    return token;
  };
  const drawAccount = () => accounts[order[drawRank()]!]!;
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const genres = [...new Set(titles.flatMap((title) => title.genres))].sort();
  const words = [
    ...new Set(
      titles.flatMap((title) =>
        title.name
          .toLowerCase()
          .split(/[^a-z0-9]+/)
          .filter((word) => word.length >= 4),
      ),
    ),
  ].sort();
  const body = (operation: Operation, variables: Record<string, unknown>) =>
    JSON.stringify({ query: QUERIES[operation], variables });

  const pools: Pools = { home: [], title: [], browse: [], search: [] };
  for (let i = 0; i < sizes.home; i += 1) {
    const account = drawAccount();
    pools.home.push({
      body: body('home', { profileId: pick(account.profileIds) }),
      token: await tokenOf(account),
    });
  }
  for (let i = 0; i < sizes.title; i += 1)
    pools.title.push({
      body: body('title', { id: pick(titles).titleId }),
      token: await tokenOf(drawAccount()),
    });
  for (let i = 0; i < sizes.browse; i += 1) {
    const account = drawAccount();
    pools.browse.push({
      body: body('browse', { genre: pick(genres), country: account.country }),
      token: await tokenOf(account),
    });
  }
  for (let i = 0; i < sizes.search; i += 1)
    pools.search.push({ body: body('search', { text: pick(words) }), token: await tokenOf(drawAccount()) });
  return pools;
};

/** One answer of the service per distinct request body (also warms its caches). */
export const capture = async (
  url: string,
  pools: Pools,
): Promise<{ responses: Map<string, string>; failures: number; samples: string[] }> => {
  const distinct = new Map<string, PoolRequest>();
  for (const operation of OPERATIONS)
    for (const request of pools[operation]) distinct.set(request.body, request);
  const queue = [...distinct.values()];
  const responses = new Map<string, string>();
  let failures = 0;
  const samples: string[] = [];
  const worker = async () => {
    for (let request = queue.pop(); request !== undefined; request = queue.pop()) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${request.token}` },
        body: request.body,
      });
      const text = await response.text();
      if (!response.ok || text.includes('"errors"')) {
        failures += 1;
        if (samples.length < 3) samples.push(`${response.status} ${text.slice(0, 300)}`);
      }
      responses.set(request.body, text);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return { responses, failures, samples };
};

// ---------------------------------------------------------------------------------------------
// The service

export interface Service {
  process: Started;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** The GraphQL endpoint. */
  url: string;
  metricsUrl: string;
  /** From spawning it until /health/ready answered 200. */
  readySeconds: number;
}

export interface ServiceOptions {
  redisUrl: string;
  /** Where the service finds Cosmos (the server itself, or a proxy in front of it). */
  cosmos: { endpoint: string; key: string; caFile: string };
  issuer: DevIssuer;
  /** Settings on top of the benchmark's (e.g. shorter cache lifetimes). */
  env?: Record<string, string>;
}

/** dist/main.js in production mode, a device rate limit that never triggers; resolves once ready. */
export const startService = async (options: ServiceOptions): Promise<Service> => {
  const port = await freePort();
  const metricsPort = await freePort();
  const started = Date.now();
  const service = start(process.execPath, ['dist/main.js'], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
      CURSOR_SECRET: randomBytes(32).toString('hex'),
      REDIS_URL: options.redisUrl,
      COSMOS_ENDPOINT: options.cosmos.endpoint,
      COSMOS_KEY: options.cosmos.key,
      COSMOS_CA_CERT_FILE: options.cosmos.caFile,
      COSMOS_DATABASE: DATABASE,
      AUTH_ISSUER: options.issuer.issuer,
      AUTH_AUDIENCE: options.issuer.audience,
      AUTH_JWKS_URL: options.issuer.jwksUrl,
      RATE_LIMIT_DEVICE_PER_MINUTE: '1000000',
      SHUTDOWN_GRACE_MS: '1000',
      ...options.env,
    },
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntilOk(`${base}/health/ready`, service);
  return {
    process: service,
    base,
    url: `${base}/graphql`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    readySeconds: seconds(started),
  };
};
