import type { AddressInfo } from 'node:net';
import type { Server } from 'node:https';

import { createHttpsServer } from '@vercel/cosmosdb-server';
import { generate } from 'selfsigned';

import { scopeRequestsToPartitions } from './embedded-cosmos-partitions.js';

/** The public, documented key of the Cosmos DB emulator; the embedded server accepts any key. */
export const EMBEDDED_COSMOS_KEY =
  'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

export interface EmbeddedCosmos {
  endpoint: string;
  key: string;
  /** PEM of the certificate the server presents; pass it as the client's CA. */
  caCertificate: string;
  /** PEM of the server's private key (to restart it later with the same certificate). */
  privateKey: string;
  port: number;
  close(): Promise<void>;
}

export interface EmbeddedCosmosOptions {
  host?: string;
  port?: number;
  /** Reuse a certificate (e.g. across restarts of the same server in a test). */
  certificate?: { cert: string; key: string };
}

export const generateCertificate = async (): Promise<{ cert: string; key: string }> => {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 30 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
};

/**
 * Starts `@vercel/cosmosdb-server` in this process over HTTPS with a freshly generated certificate.
 * Its shipped certificate has expired, and without keep-alive every SDK request opens a connection.
 * Queries are scoped to the partition key of the request, as in Cosmos DB (the library scans the
 * whole container): see embedded-cosmos-partitions.ts.
 */
export const startEmbeddedCosmos = async (options: EmbeddedCosmosOptions = {}): Promise<EmbeddedCosmos> => {
  const host = options.host ?? '127.0.0.1';
  const certificate = options.certificate ?? (await generateCertificate());
  const server: Server = createHttpsServer({ cert: certificate.cert, key: certificate.key, keepAlive: true });
  scopeRequestsToPartitions(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `https://${host}:${port}/`,
    key: EMBEDDED_COSMOS_KEY,
    caCertificate: certificate.cert,
    privateKey: certificate.key,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
