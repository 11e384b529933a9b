import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '../config/app-config.js';

const base = {
  COSMOS_ENDPOINT: 'https://localhost:8081/',
  COSMOS_KEY: 'secret-key-value',
  AUTH_ISSUER: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
  AUTH_AUDIENCE: 'api://flick-api',
  AUTH_JWKS_URL: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/discovery/v2.0/keys',
};

describe('resilience settings', () => {
  it('defaults to a 300 ms budget, 150 ms Cosmos calls retried twice, Redis calls at the cache timeout', () => {
    expect(loadConfig(base).resilience).toEqual({
      requestBudgetMs: 300,
      dependencies: {
        cosmos: { timeoutMs: 150, retries: 2, bulkhead: 64 },
        redis: { timeoutMs: 50, retries: 0, bulkhead: 256 },
      },
      breaker: { failureThreshold: 5, halfOpenAfterMs: 2000 },
    });
  });

  it('reads every variable, the Redis timeout from REDIS_COMMAND_TIMEOUT_MS', () => {
    const config = loadConfig({
      ...base,
      REQUEST_BUDGET_MS: '500',
      COSMOS_CALL_TIMEOUT_MS: '200',
      COSMOS_CALL_RETRIES: '1',
      REDIS_CALL_RETRIES: '1',
      REDIS_COMMAND_TIMEOUT_MS: '30',
      BREAKER_FAILURE_THRESHOLD: '10',
      BREAKER_HALF_OPEN_AFTER_MS: '5000',
      BULKHEAD_COSMOS: '32',
      BULKHEAD_REDIS: '128',
    });
    expect(config.resilience).toEqual({
      requestBudgetMs: 500,
      dependencies: {
        cosmos: { timeoutMs: 200, retries: 1, bulkhead: 32 },
        redis: { timeoutMs: 30, retries: 1, bulkhead: 128 },
      },
      breaker: { failureThreshold: 10, halfOpenAfterMs: 5000 },
    });
  });

  it('names each bad value', () => {
    try {
      loadConfig({
        ...base,
        BULKHEAD_COSMOS: '0',
        BREAKER_FAILURE_THRESHOLD: 'many',
        REQUEST_BUDGET_MS: '-1',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((problem) => problem.split(':')[0]).sort()).toEqual([
        'BREAKER_FAILURE_THRESHOLD',
        'BULKHEAD_COSMOS',
        'REQUEST_BUDGET_MS',
      ]);
    }
  });
});
