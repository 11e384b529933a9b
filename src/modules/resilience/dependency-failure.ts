import type { ResilienceConfig } from '../config/app-config.js';

/** A remote dependency of the device path whose calls go through the resilience policies. */
export type Dependency = keyof ResilienceConfig['dependencies'];

export type DependencyFailureReason =
  'TIMEOUT' | 'THROTTLED' | 'UNAVAILABLE' | 'BREAKER_OPEN' | 'BULKHEAD_FULL';

/**
 * A dependency call that failed for a reason worth degrading over: it timed out, was throttled or
 * unavailable (after the retries the budget allowed), or was not attempted because the breaker is open
 * or the bulkhead full. The last underlying error is the `cause`.
 */
export class DependencyFailure extends Error {
  constructor(
    readonly dependency: Dependency,
    readonly reason: DependencyFailureReason,
    /** Calls actually made (0 when the breaker, the bulkhead or a spent budget stopped the first). */
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    const detail = options.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`${dependency} ${reason} after ${attempts} attempt(s)${detail}`, options);
    this.name = 'DependencyFailure';
  }
}

/** One attempt of a call ran out of time: its own call timeout, or what was left of the request budget. */
export class AttemptTimeoutError extends Error {
  constructor(
    readonly dependency: Dependency,
    readonly afterMs: number,
    /** The request budget, not the dependency's call timeout, set the limit. */
    readonly cutByBudget: boolean,
    options: { cause: unknown },
  ) {
    super(
      `${dependency} call timed out after ${afterMs} ms${cutByBudget ? ' (end of the request budget)' : ''}`,
      options,
    );
    this.name = 'AttemptTimeoutError';
  }
}
