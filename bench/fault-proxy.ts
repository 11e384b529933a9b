import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer, request } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A small HTTPS proxy in front of the embedded Cosmos server, through which the service talks to it
 * during a chaos run, so that faults the server itself cannot produce can be injected:
 *
 * - `forward`: requests go to the server and its answers come back unchanged, except the account
 *   document (`GET /`): the SDK discovers the endpoints to use from its `writableLocations` and
 *   `readableLocations`, which name the server itself; they are rewritten to name the proxy, or the
 *   SDK would go around it after its first call.
 * - `throttle`: every request is answered 429 at once, as Cosmos DB does when the provisioned
 *   request units are used up: `x-ms-retry-after-ms`, substatus 3200 and a Cosmos-style JSON body.
 * - `refuse`: as if the server were gone: open connections are dropped and new ones closed as soon
 *   as they are accepted, so the client sees connection resets.
 *
 * It terminates TLS with the server's own certificate and key, so a client that trusts the server
 * (COSMOS_CA_CERT_FILE) trusts the proxy. When the server does not answer (paused) the proxy waits
 * with it; when it is gone the client's connection is dropped, as the server's own would be.
 */
export type FaultMode = 'forward' | 'throttle' | 'refuse';

export interface FaultProxyCounts {
  forwarded: number;
  throttled: number;
  /** Connections and requests dropped in `refuse` mode. */
  refused: number;
  /** Forwarded requests whose upstream call failed (server gone or reset): the client's connection dropped. */
  upstreamFailures: number;
  /** Forwarded requests the client gave up on before the answer (its timeout); the upstream call is cancelled. */
  abandoned: number;
}

export interface FaultProxy {
  /** `https://127.0.0.1:<port>/`: the COSMOS_ENDPOINT for the service. */
  endpoint: string;
  port: number;
  mode(): FaultMode;
  forward(): void;
  /** Answers 429 with this retry-after until {@link forward}. */
  throttle(retryAfterMs: number): void;
  refuse(): void;
  counts(): FaultProxyCounts;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** The server's endpoint, e.g. `https://127.0.0.1:8081/`. */
  upstream: string;
  /** PEM certificate and key the proxy presents (the server's own). */
  cert: string;
  key: string;
}

const throttledBody = JSON.stringify({
  code: 'TooManyRequests',
  message:
    'Message: {"Errors":["Request rate is large. More Request Units may be needed, so no changes were made. Please retry this request later. Learn more: http://aka.ms/cosmosdb-error-429"]}',
});

const isAccountRead = (incoming: IncomingMessage) =>
  incoming.method === 'GET' && (incoming.url === '/' || incoming.url?.startsWith('/?') === true);

export const startFaultProxy = async (options: FaultProxyOptions): Promise<FaultProxy> => {
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true, ca: options.cert });
  const sockets = new Set<Socket>();
  const counts: FaultProxyCounts = {
    forwarded: 0,
    throttled: 0,
    refused: 0,
    upstreamFailures: 0,
    abandoned: 0,
  };
  let mode: FaultMode = 'forward';
  let retryAfterMs = 0;
  let endpoint = '';

  const dropConnection = (response: ServerResponse) => {
    counts.upstreamFailures += 1;
    response.socket?.destroy();
  };

  const throttle = (incoming: IncomingMessage, response: ServerResponse) => {
    counts.throttled += 1;
    incoming.resume();
    const body = Buffer.from(throttledBody);
    response.writeHead(429, {
      'content-type': 'application/json',
      'content-length': body.length,
      'x-ms-retry-after-ms': String(retryAfterMs),
      'x-ms-substatus': '3200',
      'x-ms-request-charge': '0',
      'x-ms-activity-id': randomUUID(),
    });
    response.end(body);
  };

  const forward = (incoming: IncomingMessage, response: ServerResponse) => {
    counts.forwarded += 1;
    let abandoned = false;
    let dropped = false;
    // Streams may report one failure several times (an error, then writes to the destroyed stream).
    const failed = () => {
      if (abandoned || dropped) return;
      dropped = true;
      dropConnection(response);
    };
    const outgoing = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
        agent,
      },
      (answer) => {
        answer.on('error', failed);
        answer.on('aborted', failed);
        if (!isAccountRead(incoming)) {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.once('end', () => {
          const body = Buffer.from(
            Buffer.concat(chunks)
              .toString('utf8')
              .replaceAll(upstream.origin + '/', endpoint),
          );
          const { 'transfer-encoding': _chunked, ...headers } = answer.headers;
          response.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': body.length });
          response.end(body);
        });
      },
    );
    outgoing.on('error', failed);
    // The client gave up (its timeout): so does the upstream call.
    response.once('close', () => {
      if (response.writableFinished) return;
      abandoned = true;
      counts.abandoned += 1;
      outgoing.destroy();
    });
    // A request cut off by the client (a reset mid-body) must not take the proxy down.
    incoming.on('error', () => outgoing.destroy());
    incoming.pipe(outgoing);
  };

  const server = createServer(
    { cert: options.cert, key: options.key, keepAlive: true },
    (incoming, response) => {
      switch (mode) {
        case 'forward':
          forward(incoming, response);
          return;
        case 'throttle':
          throttle(incoming, response);
          return;
        case 'refuse':
          counts.refused += 1;
          incoming.socket.destroy();
          return;
      }
    },
  );
  server.on('connection', (socket: Socket) => {
    if (mode === 'refuse') {
      counts.refused += 1;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A client dropped mid-handshake (e.g. by `refuse`) is not the proxy's failure.
  server.on('tlsClientError', () => undefined);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, upstream.hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  endpoint = `https://${upstream.hostname}:${port}/`;

  return {
    endpoint,
    port,
    mode: () => mode,
    forward: () => {
      mode = 'forward';
    },
    throttle: (afterMs) => {
      retryAfterMs = afterMs;
      mode = 'throttle';
    },
    refuse: () => {
      mode = 'refuse';
      for (const socket of sockets) socket.destroy();
    },
    counts: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
};
