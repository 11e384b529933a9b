import { DependencyFailure } from '../modules/resilience/dependency-failure.js';
import { DegradedReason } from './models/response-meta.model.js';

/** The degraded reason a dependency failure stands for, or undefined for errors that are bugs. */
export const degradedReasonOf = (error: unknown): DegradedReason | undefined => {
  if (!(error instanceof DependencyFailure)) return undefined;
  if (error.dependency === 'redis') return DegradedReason.CACHE_UNAVAILABLE;
  switch (error.reason) {
    case 'TIMEOUT':
      return DegradedReason.TIMEOUT;
    case 'THROTTLED':
      return DegradedReason.STORE_THROTTLED;
    case 'UNAVAILABLE':
    case 'BREAKER_OPEN':
    case 'BULKHEAD_FULL':
      return DegradedReason.STORE_UNAVAILABLE;
  }
};
