import { connect } from 'node:net';

import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startEmbeddedAzurite } from '../../src/dev/embedded-azurite.js';
import {
  BlobConflictError,
  BlobStoreError,
  ExportBlobStore,
} from '../../src/partner-exports/export-blob.store.js';
import { startTestAzurite, type TestAzurite } from '../support/azurite.js';

const CSV = 'text/csv; charset=utf-8';
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

const refusesConnections = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

let azurite: TestAzurite;
let containerCount = 0;

/** A store on a fresh, created container, and a raw SDK client of that container for assertions. */
const freshStore = async (): Promise<{ store: ExportBlobStore; raw: ContainerClient }> => {
  containerCount += 1;
  const container = `exports-${containerCount}`;
  const store = ExportBlobStore.fromConfig({ connectionString: azurite.connectionString, container });
  await store.ensureContainer();
  const raw = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(container);
  return { store, raw };
};

beforeAll(async () => {
  azurite = await startTestAzurite();
});

afterAll(async () => {
  await azurite?.stop();
});

describe('ExportBlobStore', () => {
  it('creates a blob once, then answers identical for the same bytes without touching it', async () => {
    const { store, raw } = await freshStore();
    const path = 'partner-a/2026-01-01/members.csv';
    const body = bytes('id,name\n1,Ada\n');

    expect(await store.putIfAbsent(path, body, CSV)).toBe('created');
    const before = await raw.getBlobClient(path).getProperties();
    expect(before.contentType).toBe(CSV);
    expect(before.contentLength).toBe(body.byteLength);

    expect(await store.putIfAbsent(path, bytes('id,name\n1,Ada\n'), CSV)).toBe('identical');
    const after = await raw.getBlobClient(path).getProperties();
    expect(after.etag).toBe(before.etag);
    expect(after.lastModified).toEqual(before.lastModified);
    expect(await store.read(path)).toEqual(Buffer.from(body));
  });

  it('refuses other bytes at an existing path and leaves the blob as it was', async () => {
    const { store, raw } = await freshStore();
    const path = 'partner-a/report.csv';
    await store.putIfAbsent(path, bytes('a,b\n1,2\n'), CSV);
    const before = await raw.getBlobClient(path).getProperties();

    // Same length, other bytes; and another length.
    for (const other of ['a,b\n1,3\n', 'a,b\n1,2\n3,4\n', '']) {
      const error = await store.putIfAbsent(path, bytes(other), CSV).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BlobConflictError);
      expect((error as BlobConflictError).path).toBe(path);
    }

    const after = await raw.getBlobClient(path).getProperties();
    expect(after.etag).toBe(before.etag);
    expect((await store.read(path))?.toString('utf8')).toBe('a,b\n1,2\n');
  });

  it('lets exactly one of five concurrent writers of the same bytes create the blob', async () => {
    const { store } = await freshStore();
    const body = new Uint8Array(Buffer.alloc(256 * 1024, 'export row\n'));
    const results = await Promise.all(
      Array.from({ length: 5 }, () => store.putIfAbsent('partner-b/big.csv', body, CSV)),
    );
    expect(results.filter((result) => result === 'created')).toHaveLength(1);
    expect(results.filter((result) => result === 'identical')).toHaveLength(4);
    expect(await store.read('partner-b/big.csv')).toEqual(Buffer.from(body));
  });

  it('lists by prefix sorted by path, reads, and tells whether blobs exist', async () => {
    const { store } = await freshStore();
    await store.putIfAbsent('p/2026-01-02/b.csv', bytes('bb'), CSV);
    await store.putIfAbsent('p/2026-01-01/z.csv', bytes('z'), CSV);
    await store.putIfAbsent('p/2026-01-01/a.csv', bytes('aaa'), CSV);
    await store.putIfAbsent('q/other.csv', bytes('q'), CSV);
    await store.putIfAbsent('p/empty.csv', new Uint8Array(0), CSV);

    expect(await store.list('p/')).toEqual([
      { path: 'p/2026-01-01/a.csv', bytes: 3 },
      { path: 'p/2026-01-01/z.csv', bytes: 1 },
      { path: 'p/2026-01-02/b.csv', bytes: 2 },
      { path: 'p/empty.csv', bytes: 0 },
    ]);
    expect(await store.list('p/2026-01-01/')).toHaveLength(2);
    expect(await store.list('')).toHaveLength(5);
    expect(await store.list('nothing/')).toEqual([]);

    expect(await store.exists('p/2026-01-01/a.csv')).toBe(true);
    expect(await store.exists('p/2026-01-01/missing.csv')).toBe(false);
    expect((await store.read('p/2026-01-02/b.csv'))?.toString('utf8')).toBe('bb');
    expect(await store.read('p/empty.csv')).toEqual(Buffer.alloc(0));
    expect(await store.read('p/missing.csv')).toBeNull();
    expect(await store.putIfAbsent('p/empty.csv', new Uint8Array(0), CSV)).toBe('identical');
  });

  it('creates its container idempotently, also concurrently', async () => {
    const container = 'idempotent';
    const store = ExportBlobStore.fromConfig({ connectionString: azurite.connectionString, container });
    await Promise.all([store.ensureContainer(), store.ensureContainer()]);
    await store.ensureContainer();
    const properties = await BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient(container)
      .getProperties();
    expect(properties.blobPublicAccess).toBeUndefined();
    expect(await store.putIfAbsent('x.csv', bytes('x'), CSV)).toBe('created');
  });

  it('gives URLs of blobs and clear errors without secrets', async () => {
    const store = ExportBlobStore.fromConfig({
      connectionString: azurite.connectionString,
      container: 'never-created',
    });
    expect(store.url('partner a/2026-01-01/members.csv')).toBe(
      `${azurite.blobEndpoint}/never-created/partner%20a/2026-01-01/members.csv`,
    );

    const error = await store.putIfAbsent('a.csv', bytes('a'), CSV).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BlobStoreError);
    expect((error as Error).message).toMatch(
      /^Blob storage: upload never-created\/a\.csv failed: 404 ContainerNotFound.*ensureContainer creates it/,
    );
    await expect(store.list('')).rejects.toThrow(/list never-created/);
    await expect(store.read('a.csv')).rejects.toThrow(BlobStoreError);
    await expect(store.exists('a.csv')).rejects.toThrow(BlobStoreError);

    await expect(store.putIfAbsent('../a.csv', bytes('a'), CSV)).rejects.toThrow(/Invalid blob path/);
    await expect(store.read('/a.csv')).rejects.toThrow(/Invalid blob path/);

    const key = /AccountKey=([^;]+)/.exec(azurite.connectionString)![1]!;
    expect(() =>
      ExportBlobStore.fromConfig({ connectionString: `AccountKey=${key};nonsense`, container: 'c' }),
    ).toThrow(/connection string is not valid/);
    try {
      ExportBlobStore.fromConfig({ connectionString: `AccountKey=${key};nonsense`, container: 'c' });
    } catch (caught) {
      expect(String(caught)).not.toContain(key);
    }
  });
});

describe('embedded Azurite', () => {
  it('stops: the process exits and its port refuses connections; kill() too', async () => {
    const [stopped, killed] = await Promise.all([startEmbeddedAzurite(), startTestAzurite()]);
    expect(await refusesConnections(stopped.port)).toBe(false);

    await stopped.stop();
    expect(stopped.child.exitCode !== null || stopped.child.signalCode !== null).toBe(true);
    expect(await refusesConnections(stopped.port)).toBe(true);
    await stopped.stop(); // harmless twice

    await killed.kill();
    expect(await refusesConnections(killed.port)).toBe(true);
    const store = ExportBlobStore.fromConfig(
      { connectionString: killed.connectionString, container: 'gone' },
      { maxTries: 2, retryDelayMs: 10 },
    );
    await expect(store.putIfAbsent('a.csv', bytes('a'), CSV)).rejects.toThrow(
      /^Blob storage: upload gone\/a\.csv failed: .*ECONNREFUSED/,
    );
  });

  it('reports a server that exits before it is ready, with its output', async () => {
    await expect(startEmbeddedAzurite({ port: azurite.port })).rejects.toThrow(
      /Azurite exited \(1\) before it was ready:[\s\S]*EADDRINUSE/,
    );
  });
});
