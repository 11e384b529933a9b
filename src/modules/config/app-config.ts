import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { z } from 'zod';

import { goldDatasetNames, type GoldDatasetName } from '../../gold/contract/gold-datasets.js';
import { configSchema, configVariables, type ConfigVariableName, type Env } from './config.schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface CosmosConfig {
  endpoint: string;
  key: string | undefined;
  database: string;
  preferredRegions: string[];
  caCertificate: string | undefined;
  maxRetries: number;
  maxRetryWaitSeconds: number;
  requestTimeoutMs: number;
}

/** How bearer tokens are verified (Entra ID in Azure, the development issuer in the demo and tests). */
export interface AuthConfig {
  issuer: string;
  audience: string;
  jwksUrl: string;
}

/** Where the shared (L2) cache and playback progress live; `none`: in process only. */
export type RedisConfig =
  | { mode: 'none' }
  | { mode: 'standalone'; url: string }
  | { mode: 'cluster'; nodes: { host: string; port: number }[]; password?: string; tls: boolean };

export interface CacheConfig {
  redis: RedisConfig;
  l1MaxBytes: number;
  l1TtlMs: number;
  /** Budget of the GraphQL response cache (JSON characters); 0 when it is off. */
  responseMaxBytes: number;
  l2TtlSeconds: number;
  lastGoodTtlSeconds: number;
  commandTimeoutMs: number;
  progressTtlSeconds: number;
  progressMaxTitles: number;
}

/** Time limits, retries and isolation of one dependency's calls on the device path. */
export interface DependencyPolicyConfig {
  /** Longest wait for one attempt (further cut to the request's remaining budget). */
  timeoutMs: number;
  /** Retries after a transient failure. */
  retries: number;
  /** Most concurrent calls. */
  bulkhead: number;
}

export interface ResilienceConfig {
  requestBudgetMs: number;
  dependencies: { cosmos: DependencyPolicyConfig; redis: DependencyPolicyConfig };
  breaker: { failureThreshold: number; halfOpenAfterMs: number };
}

/** Limits of one GraphQL operation, checked before it runs. */
export interface GraphQLLimitsConfig {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
}

/** Who a rate budget applies to: a token's role (by subject), or no valid token (by client address). */
export type RateLimitedClient = 'device' | 'marketing' | 'partner' | 'ops' | 'anonymous';

export interface RateLimitConfig {
  windowMs: number;
  /** Requests per window. */
  budgets: Record<RateLimitedClient, number>;
}

/** What one request may ask of the service. */
export interface LimitsConfig {
  bodyLimitBytes: number;
  graphql: GraphQLLimitsConfig;
  rateLimits: RateLimitConfig;
}

export interface FreshnessPolicy {
  objectiveSeconds: number;
  hardLimitSeconds: number;
}

/** Where the service sits behind Azure Front Door and what the edge may cache. */
export interface EdgeConfig {
  /** The Front Door profile every request must come through (lower case); undefined: no origin lock. */
  frontDoorId: string | undefined;
  /** Cache lifetimes of catalogue answers fetched with GET. */
  catalogCache: { maxAgeSeconds: number; sharedMaxAgeSeconds: number };
}

/** How paging cursors that carry store positions are signed. */
export interface CursorsConfig {
  /** HMAC secret of paging cursors. */
  secret: string;
  /** True when no secret was configured and this process made its own. */
  secretGenerated: boolean;
}

/** Partner exports: where they are written and how the worker and the daily schedule run. */
export interface ExportsConfig {
  /** Undefined: exports are off on this deployment. */
  storage:
    { connectionString: string; container: string } | { accountUrl: string; container: string } | undefined;
  daily: { hour: number; minute: number };
  catchUpDays: number;
  workerConcurrency: number;
  partMaxRows: number;
  pollMs: number;
  leaseMs: number;
}

/** Metrics endpoint, shutdown and the degradation timeline. */
export interface OperationsConfig {
  metrics: { host: string; port: number } | undefined;
  shutdownGraceMs: number;
  episodeQuietMs: number;
  timelineMaxEpisodes: number;
}

export interface AppConfig {
  env: Env['NODE_ENV'];
  production: boolean;
  http: { host: string; port: number };
  logLevel: Env['LOG_LEVEL'];
  cosmos: CosmosConfig;
  auth: AuthConfig;
  limits: LimitsConfig;
  freshness: Record<GoldDatasetName, FreshnessPolicy>;
  manifestRefreshMs: number;
  cache: CacheConfig;
  resilience: ResilienceConfig;
  edge: EdgeConfig;
  cursors: CursorsConfig;
  exports: ExportsConfig;
  operations: OperationsConfig;
}

/** Injection token of the {@link AppConfig} built at boot. */
export const APP_CONFIG = Symbol('APP_CONFIG');

const hour = 3600;
const day = 24 * hour;
const defaultFreshness: Record<GoldDatasetName, FreshnessPolicy> = {
  catalog: { objectiveSeconds: 26 * hour, hardLimitSeconds: 30 * day },
  profiles: { objectiveSeconds: 26 * hour, hardLimitSeconds: 72 * hour },
  popular: { objectiveSeconds: 26 * hour, hardLimitSeconds: 7 * day },
  segments: { objectiveSeconds: 26 * hour, hardLimitSeconds: 7 * day },
  partner_metrics: { objectiveSeconds: 50 * hour, hardLimitSeconds: 7 * day },
};

const readCaFile = (path: string | undefined, problems: string[]): string | undefined => {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`COSMOS_CA_CERT_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code})`);
    return undefined;
  }
};

const buildFreshness = (env: Env, problems: string[]): Record<GoldDatasetName, FreshnessPolicy> => {
  const unknown = (variable: string, map: Record<string, number>) =>
    Object.keys(map)
      .filter((name) => !(goldDatasetNames as readonly string[]).includes(name))
      .forEach((name) =>
        problems.push(
          `${variable}: unknown dataset "${name}" (expected one of ${goldDatasetNames.join(', ')})`,
        ),
      );
  unknown('GOLD_FRESHNESS_OBJECTIVES', env.GOLD_FRESHNESS_OBJECTIVES);
  unknown('GOLD_HARD_LIMITS', env.GOLD_HARD_LIMITS);
  const freshness = Object.fromEntries(
    goldDatasetNames.map((name) => {
      const policy = {
        objectiveSeconds: env.GOLD_FRESHNESS_OBJECTIVES[name] ?? defaultFreshness[name].objectiveSeconds,
        hardLimitSeconds: env.GOLD_HARD_LIMITS[name] ?? defaultFreshness[name].hardLimitSeconds,
      };
      if (policy.hardLimitSeconds < policy.objectiveSeconds) {
        problems.push(`GOLD_HARD_LIMITS: ${name}'s hard limit is shorter than its freshness objective`);
      }
      return [name, policy];
    }),
  );
  return freshness as Record<GoldDatasetName, FreshnessPolicy>;
};

const buildRedis = (env: Env, problems: string[]): RedisConfig => {
  if (env.REDIS_URL !== undefined && env.REDIS_CLUSTER_NODES !== undefined) {
    problems.push('REDIS_URL, REDIS_CLUSTER_NODES: set one of them (standalone or cluster), not both');
  }
  if (env.REDIS_CLUSTER_NODES === undefined) {
    if (env.REDIS_PASSWORD !== undefined) {
      problems.push(
        'REDIS_PASSWORD: applies to REDIS_CLUSTER_NODES only (a standalone password goes in REDIS_URL)',
      );
    }
    if (env.REDIS_TLS) {
      problems.push(
        'REDIS_TLS: applies to REDIS_CLUSTER_NODES only (a standalone Redis over TLS is rediss://)',
      );
    }
  }
  if (env.REDIS_URL !== undefined) return { mode: 'standalone', url: env.REDIS_URL };
  if (env.REDIS_CLUSTER_NODES !== undefined) {
    return {
      mode: 'cluster',
      nodes: env.REDIS_CLUSTER_NODES,
      ...(env.REDIS_PASSWORD === undefined ? {} : { password: env.REDIS_PASSWORD }),
      tls: env.REDIS_TLS,
    };
  }
  return { mode: 'none' };
};

const buildCache = (env: Env, problems: string[]): CacheConfig => ({
  redis: buildRedis(env, problems),
  l1MaxBytes: env.CACHE_L1_MAX_MB * 1024 * 1024,
  l1TtlMs: env.CACHE_L1_TTL_MS,
  responseMaxBytes: env.RESPONSE_CACHE_MAX_MB * 1024 * 1024,
  l2TtlSeconds: env.CACHE_L2_TTL_SECONDS,
  lastGoodTtlSeconds: env.CACHE_LAST_GOOD_TTL_SECONDS,
  commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
  progressTtlSeconds: env.PLAYBACK_PROGRESS_TTL_DAYS * 86_400,
  progressMaxTitles: env.PLAYBACK_PROGRESS_MAX_TITLES,
});

const buildResilience = (env: Env, cache: CacheConfig): ResilienceConfig => ({
  requestBudgetMs: env.REQUEST_BUDGET_MS,
  dependencies: {
    cosmos: {
      timeoutMs: env.COSMOS_CALL_TIMEOUT_MS,
      retries: env.COSMOS_CALL_RETRIES,
      bulkhead: env.BULKHEAD_COSMOS,
    },
    redis: {
      timeoutMs: cache.commandTimeoutMs,
      retries: env.REDIS_CALL_RETRIES,
      bulkhead: env.BULKHEAD_REDIS,
    },
  },
  breaker: {
    failureThreshold: env.BREAKER_FAILURE_THRESHOLD,
    halfOpenAfterMs: env.BREAKER_HALF_OPEN_AFTER_MS,
  },
});

const buildLimits = (env: Env): LimitsConfig => ({
  bodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES,
  graphql: {
    maxDepth: env.GRAPHQL_MAX_DEPTH,
    maxCost: env.GRAPHQL_MAX_COST,
    maxAliases: env.GRAPHQL_MAX_ALIASES,
    maxDirectives: env.GRAPHQL_MAX_DIRECTIVES,
    maxTokens: env.GRAPHQL_MAX_TOKENS,
  },
  rateLimits: {
    windowMs: 60_000,
    budgets: {
      device: env.RATE_LIMIT_DEVICE_PER_MINUTE,
      marketing: env.RATE_LIMIT_MARKETING_PER_MINUTE,
      partner: env.RATE_LIMIT_PARTNER_PER_MINUTE,
      ops: env.RATE_LIMIT_OPS_PER_MINUTE,
      anonymous: env.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
    },
  },
});

const buildExports = (env: Env): ExportsConfig => {
  const [hour, minute] = env.EXPORTS_DAILY_AT.split(':').map(Number) as [number, number];
  const container = env.EXPORTS_CONTAINER;
  return {
    storage:
      env.EXPORTS_STORAGE_CONNECTION_STRING !== undefined
        ? { connectionString: env.EXPORTS_STORAGE_CONNECTION_STRING, container }
        : env.EXPORTS_STORAGE_ACCOUNT_URL !== undefined
          ? { accountUrl: env.EXPORTS_STORAGE_ACCOUNT_URL, container }
          : undefined,
    daily: { hour, minute },
    catchUpDays: env.EXPORTS_CATCH_UP_DAYS,
    workerConcurrency: env.EXPORTS_WORKER_CONCURRENCY,
    partMaxRows: env.EXPORTS_PART_MAX_ROWS,
    pollMs: env.EXPORTS_POLL_MS,
    leaseMs: env.EXPORTS_LEASE_MS,
  };
};

/** Parses the variables of `schema` from `source`, or throws {@link ConfigError} naming each bad one. */
const parseVariables = <S extends z.ZodObject>(schema: S, source: NodeJS.ProcessEnv): z.output<S> => {
  const raw = Object.fromEntries(
    Object.keys(schema.shape).map((name) => {
      const value = source[name];
      return [name, value === '' ? undefined : value];
    }),
  );
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]) as ConfigVariableName;
      if (raw[name] === undefined) return `${name}: is required`;
      return configVariables[name].sensitive ? `${name}: is invalid` : `${name}: ${issue.message}`;
    }),
  );
};

const cosmosSchema = configSchema.pick({
  COSMOS_ENDPOINT: true,
  COSMOS_KEY: true,
  COSMOS_DATABASE: true,
  COSMOS_PREFERRED_REGIONS: true,
  COSMOS_CA_CERT_FILE: true,
  COSMOS_MAX_RETRIES: true,
  COSMOS_MAX_RETRY_WAIT_SECONDS: true,
  COSMOS_REQUEST_TIMEOUT_MS: true,
});

const toCosmosConfig = (env: z.output<typeof cosmosSchema>, problems: string[]): CosmosConfig => ({
  endpoint: env.COSMOS_ENDPOINT,
  key: env.COSMOS_KEY,
  database: env.COSMOS_DATABASE,
  preferredRegions: env.COSMOS_PREFERRED_REGIONS,
  caCertificate: readCaFile(env.COSMOS_CA_CERT_FILE, problems),
  maxRetries: env.COSMOS_MAX_RETRIES,
  maxRetryWaitSeconds: env.COSMOS_MAX_RETRY_WAIT_SECONDS,
  requestTimeoutMs: env.COSMOS_REQUEST_TIMEOUT_MS,
});

/**
 * The COSMOS_* settings alone, for tools that only talk to the store (the gold CLI): a publishing
 * job has no use for the HTTP service's other variables.
 */
export const loadCosmosConfig = (source: NodeJS.ProcessEnv = process.env): CosmosConfig => {
  const problems: string[] = [];
  const cosmos = toCosmosConfig(parseVariables(cosmosSchema, source), problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return cosmos;
};

/**
 * Parses the environment into the typed config. Throws {@link ConfigError} naming every bad or
 * missing variable; values of sensitive variables never appear in the message.
 */
export const loadConfig = (source: NodeJS.ProcessEnv = process.env): AppConfig => {
  const env = parseVariables(configSchema, source);
  const problems: string[] = [];
  const cosmos = toCosmosConfig(env, problems);
  const freshness = buildFreshness(env, problems);
  const cache = buildCache(env, problems);
  if (env.EXPORTS_STORAGE_CONNECTION_STRING !== undefined && env.EXPORTS_STORAGE_ACCOUNT_URL !== undefined) {
    problems.push(
      'EXPORTS_STORAGE_CONNECTION_STRING, EXPORTS_STORAGE_ACCOUNT_URL: set one of them (a connection string or an account URL with managed identity), not both',
    );
  }
  if (env.NODE_ENV === 'production' && env.CURSOR_SECRET === undefined) {
    problems.push(
      'CURSOR_SECRET: is required in production (all replicas must sign paging cursors with the same secret)',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    env: env.NODE_ENV,
    production: env.NODE_ENV === 'production',
    http: { host: env.HOST, port: env.PORT },
    logLevel: env.LOG_LEVEL,
    cosmos,
    auth: { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, jwksUrl: env.AUTH_JWKS_URL },
    limits: buildLimits(env),
    freshness,
    manifestRefreshMs: env.GOLD_MANIFEST_REFRESH_MS,
    cache,
    resilience: buildResilience(env, cache),
    edge: {
      frontDoorId: env.FRONT_DOOR_ID?.toLowerCase(),
      catalogCache: {
        maxAgeSeconds: env.CATALOG_CACHE_MAX_AGE_SECONDS,
        sharedMaxAgeSeconds: env.CATALOG_CACHE_S_MAXAGE_SECONDS,
      },
    },
    exports: buildExports(env),
    operations: {
      metrics: env.METRICS_PORT === 0 ? undefined : { host: env.METRICS_HOST, port: env.METRICS_PORT },
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
      episodeQuietMs: env.DEGRADATION_EPISODE_QUIET_MS,
      timelineMaxEpisodes: env.DEGRADATION_TIMELINE_MAX_EPISODES,
    },
    cursors: {
      secret: env.CURSOR_SECRET ?? randomBytes(32).toString('base64url'),
      secretGenerated: env.CURSOR_SECRET === undefined,
    },
  };
};
