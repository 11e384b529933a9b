import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { ConfigError, type CosmosConfig } from '../../modules/config/app-config.js';
import { configVariables, type ConfigVariableName } from '../../modules/config/config.schema.js';

const cosmosEnvSchema = z.object({
  COSMOS_ENDPOINT: configVariables.COSMOS_ENDPOINT.schema,
  COSMOS_KEY: configVariables.COSMOS_KEY.schema,
  COSMOS_DATABASE: configVariables.COSMOS_DATABASE.schema,
  COSMOS_PREFERRED_REGIONS: configVariables.COSMOS_PREFERRED_REGIONS.schema,
  COSMOS_CA_CERT_FILE: configVariables.COSMOS_CA_CERT_FILE.schema,
  COSMOS_MAX_RETRIES: configVariables.COSMOS_MAX_RETRIES.schema,
  COSMOS_MAX_RETRY_WAIT_SECONDS: configVariables.COSMOS_MAX_RETRY_WAIT_SECONDS.schema,
  COSMOS_REQUEST_TIMEOUT_MS: configVariables.COSMOS_REQUEST_TIMEOUT_MS.schema,
});

/**
 * The Cosmos settings of the gold CLI, from the COSMOS_* variables only. `loadConfig` validates
 * every variable of the HTTP service (AUTH_*, ...), which a publishing job has no use for; this
 * parses the COSMOS_* ones with the very same schemas and reports problems the same way
 * ({@link ConfigError} naming each bad variable, never the value of a sensitive one).
 */
export const loadCosmosCliConfig = (source: NodeJS.ProcessEnv): CosmosConfig => {
  const raw = Object.fromEntries(
    Object.keys(cosmosEnvSchema.shape).map((name) => [name, source[name] === '' ? undefined : source[name]]),
  );
  const parsed = cosmosEnvSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]) as ConfigVariableName;
        if (raw[name] === undefined) return `${name}: is required`;
        return configVariables[name].sensitive === true ? `${name}: is invalid` : `${name}: ${issue.message}`;
      }),
    );
  }
  const env = parsed.data;
  let caCertificate: string | undefined;
  if (env.COSMOS_CA_CERT_FILE !== undefined) {
    try {
      caCertificate = readFileSync(env.COSMOS_CA_CERT_FILE, 'utf8');
    } catch (error) {
      throw new ConfigError([
        `COSMOS_CA_CERT_FILE: cannot read ${env.COSMOS_CA_CERT_FILE} (${(error as NodeJS.ErrnoException).code})`,
      ]);
    }
  }
  return {
    endpoint: env.COSMOS_ENDPOINT,
    key: env.COSMOS_KEY,
    database: env.COSMOS_DATABASE,
    preferredRegions: env.COSMOS_PREFERRED_REGIONS,
    caCertificate,
    maxRetries: env.COSMOS_MAX_RETRIES,
    maxRetryWaitSeconds: env.COSMOS_MAX_RETRY_WAIT_SECONDS,
    requestTimeoutMs: env.COSMOS_REQUEST_TIMEOUT_MS,
  };
};
