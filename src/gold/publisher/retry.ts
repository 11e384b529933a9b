import { setTimeout as sleepFor } from 'node:timers/promises';

import { StoreError } from '../../modules/cosmos/cosmos.errors.js';

/** How transient store failures (429, 503, timeouts) are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Backoff before the second attempt; doubles per attempt. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 10_000 };

/** Bulk-operation statuses worth retrying: throttled (429), timed out (408), unavailable (503), retry-with (449). */
export const isTransientStatus = (statusCode: number): boolean =>
  statusCode === 429 || statusCode === 408 || statusCode === 503 || statusCode === 449;

/**
 * The wait before retry number `attempt` (1 = first retry): exponential backoff with full jitter
 * over its upper half, never less than the server's retry-after.
 */
export const backoffDelay = (policy: RetryPolicy, attempt: number, retryAfterMs?: number): number => {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const random = policy.random ?? Math.random;
  const jittered = ceiling / 2 + (random() * ceiling) / 2;
  return Math.max(Math.round(jittered), retryAfterMs ?? 0);
};

export const sleep = (policy: RetryPolicy, ms: number): Promise<void> =>
  (policy.sleep ?? ((delay: number) => sleepFor(delay)))(ms);

/** Runs `action`, retrying transient {@link StoreError}s with backoff; rethrows anything else at once. */
export const withRetry = async <T>(policy: RetryPolicy, action: () => Promise<T>): Promise<T> => {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await action();
    } catch (error) {
      if (!(error instanceof StoreError) || !error.transient || attempt >= policy.maxAttempts) throw error;
      await sleep(policy, backoffDelay(policy, attempt, error.retryAfterMs));
    }
  }
};
