import { TimeoutError } from '@azure/cosmos';

/** The fields of the SDK's ErrorResponse (typed loosely there) and of Node network errors we read. */
interface CosmosErrorShape {
  code?: number | string;
  statusCode?: number;
  retryAfterInMs?: number;
  retryAfterInMilliseconds?: number;
  cause?: { code?: string };
}

export type StoreErrorKind =
  | 'THROTTLED'
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'NOT_FOUND'
  | 'BAD_REQUEST'
  | 'FORBIDDEN'
  | 'OTHER';

/** A Cosmos failure in the service's own terms; the only Cosmos error type that leaves a repository. */
export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    readonly statusCode: number | undefined,
    /** Server's retry-after for THROTTLED, in milliseconds. */
    readonly retryAfterMs: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }

  /** Worth retrying: throttling, a transiently unavailable service, a timeout. */
  get transient(): boolean {
    return this.kind === 'THROTTLED' || this.kind === 'UNAVAILABLE' || this.kind === 'TIMEOUT';
  }
}

const kindOfStatus = (status: number | undefined): StoreErrorKind => {
  if (status === undefined) return 'OTHER';
  switch (status) {
    case 429:
      return 'THROTTLED';
    case 408:
      return 'TIMEOUT';
    case 409:
      return 'CONFLICT';
    case 412:
      return 'PRECONDITION_FAILED';
    case 404:
      return 'NOT_FOUND';
    case 400:
      return 'BAD_REQUEST';
    case 401:
    case 403:
      return 'FORBIDDEN';
    case 500:
    case 502:
    case 503:
    case 504:
      return 'UNAVAILABLE';
    default:
      return 'OTHER';
  }
};

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

export const toStoreError = (error: unknown, operation: string): StoreError => {
  if (error instanceof StoreError) return error;
  if (error instanceof TimeoutError || (error instanceof Error && error.name === 'AbortError')) {
    return new StoreError('TIMEOUT', `${operation}: timed out`, 408, undefined, { cause: error });
  }
  const response = error as CosmosErrorShape;
  const status = typeof response.code === 'number' ? response.code : response.statusCode;
  const networkCode = typeof response.code === 'string' ? response.code : response.cause?.code;
  if (status === undefined && networkCode !== undefined && networkCodes.has(networkCode)) {
    return new StoreError('UNAVAILABLE', `${operation}: ${networkCode}`, undefined, undefined, {
      cause: error,
    });
  }
  const retryAfter = response.retryAfterInMs ?? response.retryAfterInMilliseconds;
  const firstLine = error instanceof Error ? error.message.split('\n')[0] : String(error);
  const message = firstLine === undefined || firstLine === '' ? `status ${status ?? 'unknown'}` : firstLine;
  return new StoreError(kindOfStatus(status), `${operation}: ${message}`, status, retryAfter, {
    cause: error,
  });
};
