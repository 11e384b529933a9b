import type { GoldDatasetName } from '../gold/contract/gold-datasets.js';
import { DegradedReason } from '../recommendations/models/response-meta.model.js';

/** Not a degraded reason of a response: the circuit breaker of a dependency opened. */
export const BREAKER_OPEN = 'BREAKER_OPEN';

/** The gold datasets each device operation reads: profiles for the personal part, popular for the rest. */
const datasetsOf = (operation: string | undefined): readonly GoldDatasetName[] =>
  operation === 'popular' ? ['popular'] : ['profiles', 'popular'];

const dependencyOfReason = new Map<string, string>([
  [DegradedReason.TIMEOUT, 'cosmos'],
  [DegradedReason.STORE_UNAVAILABLE, 'cosmos'],
  [DegradedReason.STORE_THROTTLED, 'cosmos'],
  [DegradedReason.CACHE_UNAVAILABLE, 'redis'],
  [DegradedReason.NO_PROFILE_DATA, 'gold:profiles'],
]);
const PIPELINE_LAG: string = DegradedReason.PIPELINE_LAG;

/**
 * What a degradation episode is about, from the reason the responses gave (and the operation):
 *
 * - `cosmos` for TIMEOUT, STORE_UNAVAILABLE and STORE_THROTTLED: only Cosmos calls give these
 *   (a Redis failure is always CACHE_UNAVAILABLE, see `degradedReasonOf`);
 * - `redis` for CACHE_UNAVAILABLE;
 * - `gold:profiles` for NO_PROFILE_DATA: the profile has no document in the active profiles
 *   snapshot, or no profiles snapshot is active;
 * - `gold:<datasets>` for PIPELINE_LAG: those the operation reads that are past their freshness
 *   objective when the episode starts (`gold:profiles`, `gold:popular`, `gold:profiles+popular`),
 *   or `gold` when none is any more;
 * - `unknown` for a reason this code does not know.
 *
 * `lagging` says which of the given datasets are stale or expired now.
 */
export const dependencyOf = (
  reason: string,
  operation: string | undefined,
  lagging: (datasets: readonly GoldDatasetName[]) => readonly GoldDatasetName[],
): string => {
  if (reason === PIPELINE_LAG) {
    const late = lagging(datasetsOf(operation));
    return late.length === 0 ? 'gold' : `gold:${late.join('+')}`;
  }
  return dependencyOfReason.get(reason) ?? 'unknown';
};
