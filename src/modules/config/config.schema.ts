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
    int(0, 20).default(3),
    'Retries the Cosmos SDK makes on throttling (429) before the error reaches the service.',
  ),
  COSMOS_MAX_RETRY_WAIT_SECONDS: variable(int(0, 60).default(5), 'Longest total wait of those SDK retries.'),
  COSMOS_REQUEST_TIMEOUT_MS: variable(int(100, 60_000).default(10_000), 'SDK timeout of one Cosmos request.'),
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
} as const;

export type ConfigVariables = typeof configVariables;
export type ConfigVariableName = keyof ConfigVariables;

export const configSchema = z.object(
  Object.fromEntries(Object.entries(configVariables).map(([name, spec]) => [name, spec.schema])) as {
    [K in ConfigVariableName]: ConfigVariables[K]['schema'];
  },
);

export type Env = z.output<typeof configSchema>;
