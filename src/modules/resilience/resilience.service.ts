import { Logger } from '@nestjs/common';
import type { IDisposable } from 'cockatiel';

import type { ResilienceConfig } from '../config/app-config.js';
import { Deadline } from './deadline.js';
import { DependencyPolicy, type BreakerStateChange, type BreakerStatus } from './dependency-policy.js';
import type { Dependency } from './dependency-failure.js';

export type BreakerStateListener = (change: BreakerStateChange) => void;

/**
 * Every call of the device path to Cosmos or Redis goes through {@link ResilienceService.run}: cut at
 * the dependency's call timeout and the request's deadline, retried on transient failures while the
 * budget allows, behind a circuit breaker and a bulkhead per dependency.
 */
export class ResilienceService {
  private readonly logger = new Logger(ResilienceService.name);
  private readonly listeners = new Set<BreakerStateListener>();
  private readonly policies: Record<Dependency, DependencyPolicy>;

  constructor(private readonly config: ResilienceConfig) {
    const publish = (change: BreakerStateChange) => this.publish(change);
    this.policies = {
      cosmos: new DependencyPolicy('cosmos', config.dependencies.cosmos, config.breaker, publish),
      redis: new DependencyPolicy('redis', config.dependencies.redis, config.breaker, publish),
    };
  }

  /** A deadline of the configured request budget (REQUEST_BUDGET_MS), starting now. */
  requestDeadline(): Deadline {
    return Deadline.after(this.config.requestBudgetMs);
  }

  /**
   * Runs `call`, passing it the signal it must hand to the client (it aborts at the attempt's timeout).
   * Rejects with a `DependencyFailure` when the dependency timed out, was throttled or unavailable,
   * or was not called (breaker open, bulkhead full); any other error of the call leaves unchanged.
   */
  run<T>(dependency: Dependency, deadline: Deadline, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.policies[dependency].run(deadline, call);
  }

  breakerStates(): BreakerStatus[] {
    return Object.values(this.policies).map((policy) => policy.breakerStatus());
  }

  /** Tells `listener` of every breaker state change, of every dependency, until disposed. */
  onBreakerStateChange(listener: BreakerStateListener): IDisposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private publish(change: BreakerStateChange): void {
    const message = `${change.dependency} circuit breaker ${change.previous} → ${change.state}`;
    if (change.state === 'OPEN') {
      const cause = change.cause instanceof Error ? `: ${change.cause.message}` : '';
      this.logger.warn(`${message}${cause}`);
    } else {
      this.logger.log(message);
    }
    // Listeners run inside the call that changed the state; one that throws must not fail that call.
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error(`breaker state listener failed: ${String(error)}`);
      }
    }
  }
}
