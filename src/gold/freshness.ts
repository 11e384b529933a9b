import type { FreshnessPolicy } from '../modules/config/app-config.js';

export enum DatasetFreshness {
  FRESH = 'FRESH',
  STALE = 'STALE',
  EXPIRED = 'EXPIRED',
  MISSING = 'MISSING',
}

export interface FreshnessReading {
  status: DatasetFreshness;
  ageSeconds: number | null;
}

/** A dataset's age and status: stale past its objective, expired past its hard limit. */
export const readFreshness = (
  completedAt: string | null,
  policy: FreshnessPolicy,
  now: number = Date.now(),
): FreshnessReading => {
  if (completedAt === null) return { status: DatasetFreshness.MISSING, ageSeconds: null };
  const ageSeconds = Math.max(0, Math.floor((now - Date.parse(completedAt)) / 1000));
  if (ageSeconds > policy.hardLimitSeconds) return { status: DatasetFreshness.EXPIRED, ageSeconds };
  if (ageSeconds > policy.objectiveSeconds) return { status: DatasetFreshness.STALE, ageSeconds };
  return { status: DatasetFreshness.FRESH, ageSeconds };
};
