import type { CacheConfig } from '../../config/app-config.js';

/** The cache settings of a test: the production defaults without Redis, with `overrides`. */
export const testCacheConfig = (overrides: Partial<CacheConfig> = {}): CacheConfig => ({
  redis: { mode: 'none' },
  l1MaxBytes: 64 * 1024 * 1024,
  l1TtlMs: 5000,
  responseMaxBytes: 32 * 1024 * 1024,
  l2TtlSeconds: 300,
  lastGoodTtlSeconds: 86_400,
  commandTimeoutMs: 50,
  progressTtlSeconds: 30 * 86_400,
  progressMaxTitles: 50,
  ...overrides,
});
