/** Why a Redis call did not answer. */
export type RedisFailureKind =
  /** No answer within the command timeout. */
  | 'TIMEOUT'
  /** Not connected, connection lost, or the call failed. */
  | 'ERROR'
  /** Not tried: Redis failed moments ago and is left alone for a short cool-down. */
  | 'SKIPPED';

/** A Redis call that did not answer; internal to the cache module. */
export class RedisUnavailableError extends Error {
  constructor(
    readonly op: string,
    readonly kind: RedisFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`redis ${op}: ${message}`, options);
    this.name = 'RedisUnavailableError';
  }
}

/**
 * Playback progress could not be read or written because Redis did not answer. Callers decide:
 * a progress report fails with an error, the home page goes on without the extra progress.
 */
export class ProgressStoreUnavailableError extends Error {
  constructor(operation: 'record' | 'list', options?: { cause?: unknown }) {
    super(`playback progress ${operation}: Redis is unavailable`, options);
    this.name = 'ProgressStoreUnavailableError';
  }
}
