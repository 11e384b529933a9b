import { createHash } from 'node:crypto';

import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient, isRestError, type ContainerClient } from '@azure/storage-blob';

/**
 * Where partner export files are written. This is the only module of the service that talks to
 * Blob storage (dependency-cruiser: blob-sdk-only-in-export-blob-store).
 *
 * - `connectionString`: shared key or SAS (Azurite in the demo and the tests).
 * - `accountUrl`: `https://<account>.blob.core.windows.net`, authenticated with
 *   DefaultAzureCredential (managed identity in Azure, developer credentials locally).
 */
export type ExportStorageConfig =
  { connectionString: string; container: string } | { accountUrl: string; container: string };

export interface ExportBlobStoreOptions {
  /** Attempts per request, including the first (default 4). */
  maxTries?: number;
  /** Base delay between attempts, doubled each time (default 500 ms, at most 8 s). */
  retryDelayMs?: number;
}

/** A blob already exists at `path` with other bytes than the ones being written. */
export class BlobConflictError extends Error {
  constructor(readonly path: string) {
    super(`Blob ${path} already exists with different content; it is never overwritten`);
    this.name = 'BlobConflictError';
  }
}

/** A storage request failed; names the operation and the blob, never credentials. */
export class BlobStoreError extends Error {
  constructor(
    readonly operation: string,
    readonly path: string,
    readonly statusCode: number | undefined,
    readonly errorCode: string | undefined,
    hint: string,
    options: { cause: unknown },
  ) {
    super(`Blob storage: ${operation} ${path} failed: ${describe(options.cause)}${hint}`, options);
    this.name = 'BlobStoreError';
  }
}

/** Status and error code of a storage error, and the first line of its message. */
const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const firstLine = error.message.split('\n', 1)[0]?.trim() ?? '';
  if (!isRestError(error)) return `${error.name}: ${firstLine}`;
  const parts = [error.statusCode, storageCode(error)].filter((part) => part !== undefined);
  return `${parts.join(' ')}${parts.length > 0 && firstLine !== '' ? ': ' : ''}${firstLine}`;
};

const storageCode = (error: unknown): string | undefined => {
  if (!isRestError(error)) return undefined;
  const details = error.details as { errorCode?: unknown } | undefined;
  return typeof details?.errorCode === 'string' ? details.errorCode : error.code;
};

const statusOf = (error: unknown): number | undefined => (isRestError(error) ? error.statusCode : undefined);

/** Blob names the service writes: relative, `/`-separated, no empty, `.` or `..` segments. */
const checkPath = (path: string): void => {
  const valid =
    path.length > 0 &&
    path.length <= 1024 &&
    !path.includes('\\') &&
    path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
  if (!valid) throw new Error(`Invalid blob path ${JSON.stringify(path)}`);
};

const equalBytes = async (stream: NodeJS.ReadableStream, body: Uint8Array): Promise<boolean> => {
  let offset = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (offset + bytes.length > body.length) return false;
    if (!Buffer.from(body.buffer, body.byteOffset + offset, bytes.length).equals(bytes)) return false;
    offset += bytes.length;
  }
  return offset === body.length;
};

const collect = async (stream: NodeJS.ReadableStream): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
};

export class ExportBlobStore {
  private constructor(
    private readonly container: ContainerClient,
    readonly containerName: string,
  ) {}

  static fromConfig(config: ExportStorageConfig, options: ExportBlobStoreOptions = {}): ExportBlobStore {
    const retryDelayInMs = options.retryDelayMs ?? 500;
    const pipelineOptions = {
      retryOptions: {
        maxTries: options.maxTries ?? 4,
        retryDelayInMs,
        maxRetryDelayInMs: Math.max(retryDelayInMs, 8_000),
      },
    };
    let service: BlobServiceClient;
    if ('connectionString' in config) {
      try {
        service = BlobServiceClient.fromConnectionString(config.connectionString, pipelineOptions);
      } catch {
        // The SDK's message may quote the connection string; it holds the account key.
        throw new Error('Blob storage: the connection string is not valid');
      }
    } else {
      service = new BlobServiceClient(config.accountUrl, new DefaultAzureCredential(), pipelineOptions);
    }
    return new ExportBlobStore(service.getContainerClient(config.container), config.container);
  }

  /** Creates the container (private: no anonymous access) unless it exists. */
  async ensureContainer(): Promise<void> {
    try {
      await this.container.createIfNotExists();
    } catch (error) {
      throw this.failure('create container', '', error);
    }
  }

  /**
   * Uploads `body` in one request with a no-overwrite condition (If-None-Match: *) and an MD5 the
   * service verifies. When a blob already exists at `path`: 'identical' if its bytes equal `body`
   * (so retrying an export is harmless, also when a retried request had in fact succeeded), else
   * {@link BlobConflictError}. Never overwrites or deletes anything.
   */
  async putIfAbsent(path: string, body: Uint8Array, contentType: string): Promise<'created' | 'identical'> {
    checkPath(path);
    const blob = this.container.getBlockBlobClient(path);
    const md5 = createHash('md5').update(body).digest();
    // A blob deleted or replaced between a conflict and its comparison: upload again, a few times at most.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await blob.upload(body, body.byteLength, {
          conditions: { ifNoneMatch: '*' },
          blobHTTPHeaders: { blobContentType: contentType },
          transactionalContentMD5: md5,
        });
        return 'created';
      } catch (error) {
        const status = statusOf(error);
        // 409 BlobAlreadyExists from Blob storage; 412 ConditionNotMet is what If-None-Match allows.
        if (status !== 409 && status !== 412) throw this.failure('upload', path, error);
        if (status === 409 && storageCode(error) !== 'BlobAlreadyExists') {
          throw this.failure('upload', path, error);
        }
      }
      const same = await this.sameBytes(path, body);
      if (same === true) return 'identical';
      if (same === false) throw new BlobConflictError(path);
    }
    throw new Error(
      `Blob storage: upload ${this.qualified(path)} kept conflicting with a blob that then vanished or changed`,
    );
  }

  /** Whether the blob at `path` holds exactly `body`; undefined when there is no blob. */
  private async sameBytes(path: string, body: Uint8Array): Promise<boolean | undefined> {
    const blob = this.container.getBlobClient(path);
    try {
      const properties = await blob.getProperties();
      if (properties.contentLength !== body.byteLength) return false;
      // Same length: compare the bytes themselves (a stored Content-MD5 is whatever its writer said),
      // pinned to the version just looked at.
      const download = await blob.download(0, undefined, { conditions: { ifMatch: properties.etag } });
      if (download.readableStreamBody === undefined) return body.byteLength === 0;
      return await equalBytes(download.readableStreamBody, body);
    } catch (error) {
      // Gone (404) or replaced since its properties were read (412): try the upload again.
      const status = statusOf(error);
      if ((status === 404 && storageCode(error) !== 'ContainerNotFound') || status === 412) return undefined;
      throw this.failure('compare with existing blob', path, error);
    }
  }

  async exists(path: string): Promise<boolean> {
    checkPath(path);
    try {
      await this.container.getBlobClient(path).getProperties();
      return true;
    } catch (error) {
      if (statusOf(error) === 404 && storageCode(error) !== 'ContainerNotFound') return false;
      throw this.failure('check existence of', path, error);
    }
  }

  /** The blob's bytes, or null when there is no blob at `path`. */
  async read(path: string): Promise<Buffer | null> {
    checkPath(path);
    try {
      const download = await this.container.getBlobClient(path).download();
      return download.readableStreamBody === undefined
        ? Buffer.alloc(0)
        : await collect(download.readableStreamBody);
    } catch (error) {
      if (statusOf(error) === 404 && storageCode(error) !== 'ContainerNotFound') return null;
      throw this.failure('read', path, error);
    }
  }

  /** Blobs whose path starts with `prefix` ('' for all), sorted by path. */
  async list(prefix: string): Promise<{ path: string; bytes: number }[]> {
    const blobs: { path: string; bytes: number }[] = [];
    try {
      for await (const item of this.container.listBlobsFlat({ prefix: prefix === '' ? undefined : prefix })) {
        blobs.push({ path: item.name, bytes: item.properties.contentLength ?? 0 });
      }
    } catch (error) {
      throw this.failure('list', `${prefix}*`, error);
    }
    return blobs.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Full URL of the blob at `path`, without any query (a SAS token is a credential). */
  url(path: string): string {
    checkPath(path);
    const url = new URL(this.container.getBlobClient(path).url);
    url.search = '';
    return url.toString();
  }

  private qualified(path: string): string {
    return path === '' ? this.containerName : `${this.containerName}/${path}`;
  }

  private failure(operation: string, path: string, error: unknown): BlobStoreError {
    const hint =
      storageCode(error) === 'ContainerNotFound'
        ? ` (container ${this.containerName} does not exist; ensureContainer creates it)`
        : '';
    return new BlobStoreError(operation, this.qualified(path), statusOf(error), storageCode(error), hint, {
      cause: error,
    });
  }
}
