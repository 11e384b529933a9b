import {
  ExponentialBackoff,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
} from 'cockatiel';

import { StoreError } from '../cosmos/cosmos.errors.js';
import type { Deadline } from './deadline.js';

type RetryContext = IRetryBackoffContext<unknown>;

/** Decorrelated-jitter exponential waits (cockatiel's default generator) sized for a budget of a few hundred ms. */
export const jitteredBackoff: IBackoffFactory<unknown> = new ExponentialBackoff({
  initialDelay: 20,
  maxDelay: 200,
});

/**
 * Waits between retries: the jittered exponential wait, or a throttled call's retry-after when longer.
 * When the wait plus a minimal attempt would not fit in what is left of the deadline, it gives up at
 * once by throwing the last error, which ends the retries with that error.
 */
export class BudgetedBackoff implements IBackoffFactory<RetryContext> {
  constructor(
    private readonly deadline: Deadline,
    /** An attempt with less time than this cannot reach the dependency and answer. */
    private readonly minAttemptMs: number,
    private readonly base: IBackoffFactory<unknown> = jitteredBackoff,
  ) {}

  next(context: RetryContext): IBackoff<RetryContext> {
    return this.step(this.base.next(context), context);
  }

  private step(base: IBackoff<unknown>, context: RetryContext): IBackoff<RetryContext> {
    const error = 'error' in context.result ? context.result.error : undefined;
    const retryAfterMs = error instanceof StoreError ? (error.retryAfterMs ?? 0) : 0;
    const duration = Math.max(base.duration, retryAfterMs);
    // Cockatiel lets a backoff stop the retries by throwing; the caller then sees this error.
    if (duration + this.minAttemptMs > this.deadline.remainingMs()) throw error;
    return { duration, next: (nextContext) => this.step(base.next(nextContext), nextContext) };
  }
}
