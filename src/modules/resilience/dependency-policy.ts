import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  ConsecutiveBreaker,
  TaskCancelledError,
  TimeoutStrategy,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
} from 'cockatiel';

import type { DependencyPolicyConfig, ResilienceConfig } from '../config/app-config.js';
import { StoreError, type StoreErrorKind } from '../cosmos/cosmos.errors.js';
import { BudgetedBackoff } from './budgeted-backoff.js';
import type { Deadline } from './deadline.js';
import {
  AttemptTimeoutError,
  DependencyFailure,
  type Dependency,
  type DependencyFailureReason,
} from './dependency-failure.js';

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN' | 'ISOLATED';

export interface BreakerStatus {
  dependency: Dependency;
  state: BreakerState;
  since: Date;
}

export interface BreakerStateChange extends BreakerStatus {
  previous: BreakerState;
  /** The failure that opened the breaker (state `OPEN` only). */
  cause?: unknown;
}

const breakerStateOf = (state: CircuitState): BreakerState => {
  switch (state) {
    case CircuitState.Closed:
      return 'CLOSED';
    case CircuitState.Open:
      return 'OPEN';
    case CircuitState.HalfOpen:
      return 'HALF_OPEN';
    case CircuitState.Isolated:
      return 'ISOLATED';
  }
};

const reasonOfStoreError = (kind: StoreErrorKind): DependencyFailureReason | undefined => {
  switch (kind) {
    case 'THROTTLED':
      return 'THROTTLED';
    case 'UNAVAILABLE':
      return 'UNAVAILABLE';
    case 'TIMEOUT':
      return 'TIMEOUT';
    case 'CONFLICT':
    case 'PRECONDITION_FAILED':
    case 'NOT_FOUND':
    case 'BAD_REQUEST':
    case 'FORBIDDEN':
    case 'OTHER':
      return undefined;
  }
};

/** Errors the policies themselves raise, as opposed to what the call did. */
const isPolicyError = (error: unknown): boolean =>
  error instanceof BrokenCircuitError ||
  error instanceof BulkheadRejectedError ||
  error instanceof TaskCancelledError;

/** A short queue in front of a full bulkhead: enough to absorb a burst, never a backlog. */
const queueFor = (capacity: number): number => Math.ceil(capacity / 8);

/** An attempt with less time than this cannot reach a remote dependency and answer. */
const minAttemptMs = 10;

/**
 * The policies of one dependency, shared by all requests: a bulkhead, a circuit breaker, and per call
 * a retry within the request's deadline around attempts cut at the call timeout.
 *
 * Order, outermost first: deadline guard → retry → bulkhead → breaker → attempt timeout → call. Every
 * attempt takes a bulkhead slot and is seen by the breaker; a backoff holds no slot. The breaker counts
 * transient failures only. Other errors (a NOT_FOUND, a bug) prove nothing about the dependency's
 * health: they leave the count as it is while closed, and a half-open probe that gets one closes the
 * breaker, since the dependency answered.
 */
export class DependencyPolicy {
  private readonly breaker: CircuitBreakerPolicy;
  private readonly bulkhead: BulkheadPolicy;
  private status: BreakerStatus;

  constructor(
    readonly dependency: Dependency,
    private readonly settings: DependencyPolicyConfig,
    breakerSettings: ResilienceConfig['breaker'],
    onStateChange: (change: BreakerStateChange) => void,
  ) {
    this.status = { dependency, state: 'CLOSED', since: new Date() };
    this.bulkhead = bulkhead(settings.bulkhead, queueFor(settings.bulkhead));
    this.breaker = circuitBreaker(
      handleWhen((error) => this.countsAgainstBreaker(error)),
      {
        halfOpenAfter: breakerSettings.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(breakerSettings.failureThreshold),
      },
    );
    this.breaker.onStateChange((circuitState) => {
      const previous = this.status.state;
      const state = breakerStateOf(circuitState);
      this.status = { dependency, state, since: new Date() };
      const lastFailure = this.breaker.lastFailure;
      const cause =
        state === 'OPEN' && lastFailure !== undefined && 'error' in lastFailure
          ? lastFailure.error
          : undefined;
      onStateChange({ ...this.status, previous, ...(cause === undefined ? {} : { cause }) });
    });
  }

  breakerStatus(): BreakerStatus {
    return { ...this.status };
  }

  /**
   * Runs `call` under the policies. Resolves with its value, rejects with a {@link DependencyFailure}
   * for a timeout, a transient failure (once retries are spent), an open breaker or a full bulkhead, and
   * with the call's own error, unchanged, for anything else.
   */
  async run<T>(deadline: Deadline, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let attempts = 0;
    if (deadline.expired) {
      throw new DependencyFailure(this.dependency, 'TIMEOUT', attempts, {
        cause: new TaskCancelledError('request budget exhausted before the call'),
      });
    }
    const attempt = async ({ signal }: { signal: AbortSignal }): Promise<T> => {
      const limitMs = Math.min(this.settings.timeoutMs, deadline.remainingMs());
      // Reached after waiting in the bulkhead queue or behind a half-open probe past the budget.
      if (signal.aborted || limitMs <= 0) throw new TaskCancelledError('request budget exhausted');
      attempts += 1;
      try {
        return await timeout(limitMs, TimeoutStrategy.Aggressive).execute(
          ({ signal: callSignal }) => call(callSignal),
          signal,
        );
      } catch (error) {
        if (!(error instanceof TaskCancelledError)) throw error;
        throw new AttemptTimeoutError(this.dependency, limitMs, limitMs < this.settings.timeoutMs, {
          cause: error,
        });
      }
    };
    const retries = retry(
      handleWhen((error) => this.isCallFailure(error) && this.breaker.state === CircuitState.Closed),
      {
        maxAttempts: this.settings.retries,
        backoff: new BudgetedBackoff(deadline, Math.min(minAttemptMs, this.settings.timeoutMs)),
      },
    );
    const policies = wrap(retries, this.bulkhead, this.breaker);
    try {
      // The guard bounds what the inner policies do not: a wait in the bulkhead queue or behind a probe.
      return await timeout(deadline.remainingMs(), TimeoutStrategy.Aggressive).execute(
        ({ signal }) => policies.execute(attempt, signal),
        deadline.signal,
      );
    } catch (error) {
      const reason = this.reasonOf(error);
      if (reason === undefined) throw error;
      throw new DependencyFailure(this.dependency, reason, attempts, { cause: error });
    }
  }

  /** The call itself failed in a way that may pass: it timed out, was throttled or unavailable. */
  private isCallFailure(error: unknown): boolean {
    if (isPolicyError(error)) return false;
    if (error instanceof AttemptTimeoutError) return true;
    // ioredis errors say little about their cause; any of them means the cache is not answering.
    if (this.dependency === 'redis') return true;
    return error instanceof StoreError && error.transient;
  }

  /**
   * A timeout set by the end of the request's budget rather than the call timeout is the request's
   * doing, not the dependency's: it does not count while closed. A half-open probe must prove the
   * dependency healthy, so there it counts.
   */
  private countsAgainstBreaker(error: unknown): boolean {
    if (!this.isCallFailure(error)) return false;
    const budgetCut = error instanceof AttemptTimeoutError && error.cutByBudget;
    return !budgetCut || this.breaker.state !== CircuitState.Closed;
  }

  private reasonOf(error: unknown): DependencyFailureReason | undefined {
    if (error instanceof BrokenCircuitError) return 'BREAKER_OPEN';
    if (error instanceof BulkheadRejectedError) return 'BULKHEAD_FULL';
    if (error instanceof TaskCancelledError || error instanceof AttemptTimeoutError) return 'TIMEOUT';
    if (this.dependency === 'redis') return 'UNAVAILABLE';
    return error instanceof StoreError ? reasonOfStoreError(error.kind) : undefined;
  }
}
