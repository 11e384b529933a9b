import { z } from 'zod';

/** One environment variable: how it is parsed, what it is for, whether it may be printed. */
interface Variable<T extends z.ZodType> {
  schema: T;
  description: string;
  sensitive?: boolean;
}

const variable = <T extends z.ZodType>(schema: T, description: string, sensitive = false): Variable<T> => ({
  schema,
  description,
  sensitive,
});

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  )
  .pipe(z.array(z.string()));
const url = z.url({ protocol: /^https?$/ });

/** `host:port,host:port` (IPv6 hosts in brackets) → [{ host, port }]. */
const hostPortList = list.transform((items, ctx) => {
  const nodes: { host: string; port: number }[] = [];
  for (const item of items) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(item);
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not host:port` });
      return z.NEVER;
    }
    nodes.push({ host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port });
  }
  if (nodes.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'names no node' });
    return z.NEVER;
  }
  return nodes;
});

const durationUnits = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
/** `90s`, `15m`, `26h`, `3d` → seconds. */
export const parseDurationSeconds = (value: string): number | undefined => {
  const match = /^(\d+)([smhd])$/.exec(value.trim());
  if (match === null) return undefined;
  return Number(match[1]) * durationUnits[match[2] as keyof typeof durationUnits];
};

/** `catalog=26h,profiles=30h` → { catalog: 93600, profiles: 108000 }. */
const durationMap = z.string().transform((value, ctx) => {
  const result: Record<string, number> = {};
  for (const entry of value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const [key, duration] = entry.split('=');
    const seconds = duration === undefined ? undefined : parseDurationSeconds(duration);
    if (key === undefined || key.trim() === '' || seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not name=duration (e.g. profiles=26h)` });
      return z.NEVER;
    }
    result[key.trim()] = seconds;
  }
  return result;
});

export const configVariables = {
  NODE_ENV: variable(
    z.enum(['development', 'test', 'production']).default('development'),
    'Runtime mode. `production` turns introspection and error details off.',
  ),
  HOST: variable(z.string().min(1).default('0.0.0.0'), 'Address the HTTP server listens on.'),
  PORT: variable(int(0, 65535).default(3000), 'Port the HTTP server listens on (0 picks a free port).'),
  LOG_LEVEL: variable(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    'Minimum log level.',
  ),
  COSMOS_ENDPOINT: variable(
    url,
    'Cosmos DB account endpoint, e.g. `https://flick.documents.azure.com:443/`.',
  ),
  COSMOS_KEY: variable(
    z.string().min(1).optional(),
    'Cosmos DB account key. When unset the service authenticates with Entra ID (DefaultAzureCredential: managed identity, workload identity, Azure CLI).',
    true,
  ),
  COSMOS_DATABASE: variable(
    z.string().min(1).default('flick-gold'),
    'Database that holds the gold containers.',
  ),
  COSMOS_PREFERRED_REGIONS: variable(
    list.default([]),
    'Comma-separated Azure regions to read from, nearest first (e.g. `West Europe,North Europe`).',
  ),
  COSMOS_CA_CERT_FILE: variable(
    z.string().min(1).optional(),
    'PEM file of an extra CA to trust for the Cosmos endpoint (the embedded server of the demo and tests).',
  ),
  COSMOS_MAX_RETRIES: variable(
    int(0, 20).default(0),
    "Retries the Cosmos SDK itself makes on throttling (429). Off by default: the service's own policy (COSMOS_CALL_RETRIES) retries within the request budget, and the publisher has its own.",
  ),
  COSMOS_MAX_RETRY_WAIT_SECONDS: variable(int(0, 60).default(5), 'Longest total wait of those SDK retries.'),
  COSMOS_REQUEST_TIMEOUT_MS: variable(int(100, 60_000).default(10_000), 'SDK timeout of one Cosmos request.'),
  REQUEST_BUDGET_MS: variable(
    int(10, 60_000).default(300),
    'Time budget of one device request for all its dependency calls, retries included; past it the request is served from the next step of the fallback chain.',
  ),
  COSMOS_CALL_TIMEOUT_MS: variable(
    int(1, 60_000).default(150),
    "Longest wait for one attempt of a Cosmos call on the device path, further cut to what is left of the request budget (`COSMOS_REQUEST_TIMEOUT_MS` stays the SDK's own backstop).",
  ),
  COSMOS_CALL_RETRIES: variable(
    int(0, 10).default(2),
    'Retries of a Cosmos call after a transient failure (429, 503, timeout), with jittered exponential backoff and never past the request budget.',
  ),
  REDIS_CALL_RETRIES: variable(
    int(0, 10).default(0),
    'Retries of a Redis call after a failure or timeout. None by default: the cache is skipped instead.',
  ),
  BREAKER_FAILURE_THRESHOLD: variable(
    int(1, 1000).default(5),
    'Consecutive transient failures of a dependency (Cosmos or Redis) that open its circuit breaker; while open, calls fail at once.',
  ),
  BREAKER_HALF_OPEN_AFTER_MS: variable(
    int(10, 600_000).default(2000),
    'How long an open breaker waits before letting one probe call through; the probe closes it on success or opens it again.',
  ),
  BULKHEAD_COSMOS: variable(
    int(1, 100_000).default(64),
    'Most concurrent Cosmos calls per process; a few more wait in a short queue, the rest are turned away at once.',
  ),
  BULKHEAD_REDIS: variable(
    int(1, 100_000).default(256),
    'Most concurrent Redis calls per process; a few more wait in a short queue, the rest are turned away at once.',
  ),
  AUTH_ISSUER: variable(
    z.string().min(1),
    'Issuer (`iss`) every bearer token must carry. Entra ID v2 access tokens (app registration with `accessTokenAcceptedVersion: 2`): `https://login.microsoftonline.com/<tenant-id>/v2.0`.',
  ),
  AUTH_AUDIENCE: variable(
    z.string().min(1),
    "Audience (`aud`) every bearer token must carry. Entra ID v2 access tokens carry the API's application (client) id; the development issuer uses `api://flick-api`.",
  ),
  AUTH_JWKS_URL: variable(
    url,
    'JSON Web Key Set that token signatures are checked against, e.g. `https://login.microsoftonline.com/<tenant-id>/discovery/v2.0/keys`. Fetched at start, then every 10 minutes and when a token names an unknown key; the last good set is kept while it is unreachable.',
  ),
  HTTP_BODY_LIMIT_BYTES: variable(
    int(1024, 16 * 1024 * 1024).default(64 * 1024),
    'Largest request body accepted; a larger one is refused with 413 before it is parsed. A GraphQL operation with its variables needs a few KiB.',
  ),
  GRAPHQL_MAX_DEPTH: variable(
    int(1, 100).default(10),
    'Deepest selection nesting of a GraphQL operation (fragments count as inline selections); the deepest query of the schema is 6. Deeper operations are refused before execution with GRAPHQL_VALIDATION_FAILED.',
  ),
  GRAPHQL_MAX_COST: variable(
    int(1, 10_000_000).default(25_000),
    'Highest estimated cost of a GraphQL operation (graphql-armor: 1 per scalar, 2 per object, x1.5 per level, times a literal `first`); a full TV home page costs about 360, a page of 100 recommendations with full titles about 12,000. Costlier operations are refused before execution with GRAPHQL_VALIDATION_FAILED.',
  ),
  GRAPHQL_MAX_ALIASES: variable(
    int(0, 1000).default(15),
    'Most aliases in a GraphQL operation (`__typename` aliases excepted). More are refused before execution with GRAPHQL_VALIDATION_FAILED.',
  ),
  GRAPHQL_MAX_DIRECTIVES: variable(
    int(0, 1000).default(50),
    'Most directives (`@include`, `@skip`) in a GraphQL operation. More are refused before execution with GRAPHQL_VALIDATION_FAILED.',
  ),
  GRAPHQL_MAX_TOKENS: variable(
    int(10, 100_000).default(1000),
    'Most lexical tokens in a GraphQL document; parsing stops past it with GRAPHQL_PARSE_FAILED. The largest query of the apps, and the introspection query, hold under 200.',
  ),
  RATE_LIMIT_DEVICE_PER_MINUTE: variable(
    int(1, 1_000_000).default(600),
    'GraphQL requests a device token may make per minute, counted per token subject across all replicas (in Redis when configured); past it the answer is 429 with Retry-After. A token with several roles gets the largest budget of its roles.',
  ),
  RATE_LIMIT_MARKETING_PER_MINUTE: variable(
    int(1, 1_000_000).default(1200),
    'GraphQL requests a marketing token (by its subject) may make per minute.',
  ),
  RATE_LIMIT_PARTNER_PER_MINUTE: variable(
    int(1, 1_000_000).default(120),
    'GraphQL requests a partner token (by its subject) may make per minute.',
  ),
  RATE_LIMIT_OPS_PER_MINUTE: variable(
    int(1, 1_000_000).default(600),
    'GraphQL requests an ops token (by its subject) may make per minute.',
  ),
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: variable(
    int(1, 1_000_000).default(60),
    'GraphQL requests without a valid token may make per minute, counted per client address.',
  ),
  GOLD_MANIFEST_REFRESH_MS: variable(
    int(100, 300_000).default(5000),
    'How often the active snapshot of every dataset is re-read from the manifests.',
  ),
  GOLD_FRESHNESS_OBJECTIVES: variable(
    durationMap.default({}),
    'Per-dataset freshness objectives overriding the defaults (catalog 26h, profiles 26h, popular 26h, segments 26h, partner_metrics 50h), e.g. `profiles=8h`. Past it, responses are marked stale.',
  ),
  GOLD_HARD_LIMITS: variable(
    durationMap.default({}),
    'Per-dataset hard limits overriding the defaults (catalog 30d, profiles 72h, popular 7d, segments 7d, partner_metrics 7d). Past it, personal data is not used.',
  ),
  REDIS_URL: variable(
    z.url({ protocol: /^rediss?$/ }).optional(),
    'Standalone Redis for the shared (L2) cache and playback progress, e.g. `rediss://:<password>@flick.redis.cache.windows.net:6380`. Not together with `REDIS_CLUSTER_NODES`. Without either the service runs with its in-process cache only and keeps playback progress in process memory.',
    true,
  ),
  REDIS_CLUSTER_NODES: variable(
    hostPortList.optional(),
    'Comma-separated `host:port` seed nodes of a Redis Cluster (e.g. Azure Cache for Redis with clustering), used instead of `REDIS_URL`.',
  ),
  REDIS_PASSWORD: variable(
    z.string().min(1).optional(),
    'Password of the Redis Cluster (an Azure Cache for Redis access key). A standalone Redis takes it from `REDIS_URL`.',
    true,
  ),
  REDIS_TLS: variable(
    z.stringbool().default(false),
    'Connect to the Redis Cluster over TLS (Azure Cache for Redis: port 6380 or 10000). A standalone Redis uses TLS when `REDIS_URL` is `rediss://`.',
  ),
  REDIS_COMMAND_TIMEOUT_MS: variable(
    int(1, 10_000).default(50),
    'Longest wait for one Redis command; a slower answer is treated as a cache miss (or, for playback progress, as Redis being unavailable).',
  ),
  CACHE_L1_MAX_MB: variable(
    int(1, 65_536).default(64),
    'Memory budget of the in-process cache, measured as the size of the serialized values (fresh and last-good copies).',
  ),
  CACHE_L1_TTL_MS: variable(
    int(1, 3_600_000).default(5000),
    'How long a value stays fresh in the in-process cache.',
  ),
  RESPONSE_CACHE_MAX_MB: variable(
    int(0, 65_536).default(32),
    'Memory budget of the GraphQL response cache: answers of repeated identical home and catalogue requests, kept per catalogue and gold snapshot, day and (home) playback progress, sent without executing the query again; 0 turns it off.',
  ),
  CACHE_L2_TTL_SECONDS: variable(int(1, 7 * 86_400).default(300), 'How long a value stays fresh in Redis.'),
  CACHE_LAST_GOOD_TTL_SECONDS: variable(
    int(1, 30 * 86_400).default(86_400),
    'How long the last good copy of a value is kept (in process and in Redis) to serve when its source fails.',
  ),
  PLAYBACK_PROGRESS_TTL_DAYS: variable(
    int(1, 3650).default(30),
    "How long a profile's playback progress is kept after its last report.",
  ),
  PLAYBACK_PROGRESS_MAX_TITLES: variable(
    int(1, 1000).default(50),
    'Most titles whose playback progress is kept per profile; the least recently watched are dropped.',
  ),
  FRONT_DOOR_ID: variable(
    z.guid().optional(),
    'Id of the Azure Front Door profile in front of the service (its `X-Azure-FDID`, "Front Door ID" in the portal). When set, every request without that header value is refused with 403 and the client address is taken from `X-Azure-ClientIP` (else `X-Forwarded-For`); unset (local runs), requests are accepted from anywhere and the client address is the socket\'s.',
  ),
  CURSOR_SECRET: variable(
    z.string().min(32, 'must be at least 32 characters').optional(),
    'Secret that signs the paging cursors of the marketing and partner APIs (HMAC-SHA256), at least 32 characters. Every replica needs the same one; changing it invalidates the cursors of jobs in flight. Required in production; elsewhere, when unset, each process makes a random one (its cursors then work on that process only).',
    true,
  ),
  EXPORTS_STORAGE_CONNECTION_STRING: variable(
    z.string().min(1).optional(),
    'Connection string of the Blob storage account partner exports are written to (Azurite in the demo and tests). Not together with `EXPORTS_STORAGE_ACCOUNT_URL`. Without either, partner exports are off: requests for them get SERVICE_UNAVAILABLE.',
    true,
  ),
  EXPORTS_STORAGE_ACCOUNT_URL: variable(
    url.optional(),
    'Blob endpoint of the exports storage account in Azure, e.g. `https://flickexports.blob.core.windows.net`; the service signs in with its managed identity (DefaultAzureCredential), which needs the Storage Blob Data Contributor role.',
  ),
  EXPORTS_CONTAINER: variable(
    z
      .string()
      .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid blob container name')
      .default('exports'),
    'Blob container of the export folders (`partner=<id>/dataset=<name>/snapshot=<gold snapshot>/...`); Azure Data Share shares it with the partners.',
  ),
  EXPORTS_DAILY_AT: variable(
    z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (UTC)')
      .default('02:00'),
    "Time of day (UTC) of each partner's daily export of the previous day's title performance. Runs once across all replicas.",
  ),
  EXPORTS_CATCH_UP_DAYS: variable(
    int(0, 60).default(7),
    'Days the daily schedule looks back for runs it missed (the service was down at the scheduled time) and makes up.',
  ),
  EXPORTS_WORKER_CONCURRENCY: variable(
    int(0, 16).default(2),
    'Exports one process writes at a time; 0 stops this replica from writing exports (it still takes requests).',
  ),
  EXPORTS_PART_MAX_ROWS: variable(
    int(1, 10_000_000).default(250_000),
    'Most rows per part file of an export; bounds the memory an export takes.',
  ),
  EXPORTS_POLL_MS: variable(
    int(50, 600_000).default(5000),
    'How often a replica looks for queued exports, and whether a daily export is due.',
  ),
  EXPORTS_LEASE_MS: variable(
    int(500, 3_600_000).default(60_000),
    'How long a running export stays with the replica writing it without a heartbeat; after that (the replica died) another one picks it up and completes it.',
  ),
  METRICS_PORT: variable(
    int(0, 65535).default(9464),
    'Port of the Prometheus endpoint (`GET /metrics`), apart from the API so that Front Door never exposes it; 0 turns it off.',
  ),
  METRICS_HOST: variable(z.string().min(1).default('0.0.0.0'), 'Address the Prometheus endpoint listens on.'),
  SHUTDOWN_GRACE_MS: variable(
    int(0, 600_000).default(10_000),
    'On SIGTERM: readiness turns 503 at once, and requests in flight get this long to finish before connections are closed and the process exits.',
  ),
  DEGRADATION_EPISODE_QUIET_MS: variable(
    int(1000, 3_600_000).default(30_000),
    'A degradation episode (degraded responses for one reason) ends when no response has been degraded for that reason for this long.',
  ),
  DEGRADATION_TIMELINE_MAX_EPISODES: variable(
    int(10, 100_000).default(500),
    'Episodes the degradation timeline keeps (in Redis, shared by all replicas); the oldest are dropped.',
  ),
  CATALOG_CACHE_MAX_AGE_SECONDS: variable(
    int(0, 86_400).default(60),
    'How long a device may reuse a catalogue answer fetched with GET (`Cache-Control: max-age`).',
  ),
  CATALOG_CACHE_S_MAXAGE_SECONDS: variable(
    int(0, 86_400).default(300),
    'How long Front Door may serve a catalogue answer fetched with GET from its cache (`Cache-Control: s-maxage`).',
  ),
} as const;

export type ConfigVariables = typeof configVariables;
export type ConfigVariableName = keyof ConfigVariables;

export const configSchema = z.object(
  Object.fromEntries(Object.entries(configVariables).map(([name, spec]) => [name, spec.schema])) as {
    [K in ConfigVariableName]: ConfigVariables[K]['schema'];
  },
);

export type Env = z.output<typeof configSchema>;
