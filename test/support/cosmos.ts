import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { CosmosClient, Database } from '@azure/cosmos';

import { startEmbeddedCosmos } from '../../src/dev/embedded-cosmos.js';
import { createCosmosClient } from '../../src/modules/cosmos/cosmos-client.factory.js';

/** The environment a child process needs to reach the test server (plus COSMOS_DATABASE per test). */
export interface CosmosEnv {
  COSMOS_ENDPOINT: string;
  COSMOS_KEY: string;
  COSMOS_CA_CERT_FILE: string;
  [name: string]: string;
}

export interface TestCosmos {
  env: CosmosEnv;
  /** PEM the server presents; clients trust it as their CA. */
  caCertificate: string;
  /** A client of the server, trusting its certificate like the service does. */
  client: CosmosClient;
  database(name: string): Database;
  close(): Promise<void>;
}

/**
 * Starts the embedded Cosmos server over HTTPS, writes its CA certificate to a temporary PEM file
 * (COSMOS_CA_CERT_FILE) and returns a ready client plus the env vars for child processes.
 */
export const startTestCosmos = async (): Promise<TestCosmos> => {
  const server = await startEmbeddedCosmos();
  const dir = await mkdtemp(join(tmpdir(), 'flick-cosmos-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, server.caCertificate);
  const env: CosmosEnv = {
    COSMOS_ENDPOINT: server.endpoint,
    COSMOS_KEY: server.key,
    COSMOS_CA_CERT_FILE: caFile,
  };
  const client = createCosmosClient({
    endpoint: server.endpoint,
    key: server.key,
    database: 'flick-gold',
    preferredRegions: [],
    caCertificate: server.caCertificate,
    maxRetries: 3,
    maxRetryWaitSeconds: 5,
    requestTimeoutMs: 10_000,
  });
  return {
    env,
    caCertificate: server.caCertificate,
    client,
    database: (name) => client.database(name),
    close: async () => {
      client.dispose();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
};
