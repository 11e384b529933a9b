/**
 * The command was refused and nothing was changed: too many bad records, unreadable input, nothing
 * to roll back. The CLI exits 1.
 */
export class GoldRefusedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GoldRefusedError';
  }
}

/**
 * The store is not in the state the operation needs (a snapshot's document count does not match,
 * the manifest changed under the publish, documents were rejected). The CLI exits 3.
 */
export class GoldStoreStateError extends Error {
  constructor(
    readonly operation: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${message}`, options);
    this.name = 'GoldStoreStateError';
  }
}
