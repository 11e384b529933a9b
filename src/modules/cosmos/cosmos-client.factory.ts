import { Agent } from 'node:https';

import { CosmosClient } from '@azure/cosmos';
import { DefaultAzureCredential } from '@azure/identity';

import type { CosmosConfig } from '../config/app-config.js';
import { cosmosTelemetryPlugins, type CosmosObserver } from './cosmos-telemetry.js';

/**
 * Builds the Cosmos client from config: account key when one is given, otherwise Entra ID through
 * DefaultAzureCredential. An extra CA (the embedded server's) is trusted through the agent; TLS
 * verification itself is never turned off. With an observer (the service), every operation is traced
 * and measured.
 */
export const createCosmosClient = (config: CosmosConfig, observer?: CosmosObserver): CosmosClient => {
  const agent = new Agent({
    keepAlive: true,
    ...(config.caCertificate === undefined ? {} : { ca: config.caCertificate }),
  });
  return new CosmosClient({
    endpoint: config.endpoint,
    ...(config.key === undefined ? { aadCredentials: new DefaultAzureCredential() } : { key: config.key }),
    agent,
    ...(observer === undefined ? {} : { plugins: cosmosTelemetryPlugins(observer) }),
    connectionPolicy: {
      preferredLocations: config.preferredRegions,
      requestTimeout: config.requestTimeoutMs,
      retryOptions: {
        maxRetryAttemptCount: config.maxRetries,
        fixedRetryIntervalInMilliseconds: 0,
        maxWaitTimeInSeconds: config.maxRetryWaitSeconds,
      },
    },
  });
};
