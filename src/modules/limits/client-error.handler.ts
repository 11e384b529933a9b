import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

import type { FastifyInstance } from 'fastify';

/** What Node's HTTP parser reports, and how each is answered. */
const refusals: Readonly<Record<string, { status: number; code: string; message: string }>> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'REQUEST_TIMEOUT',
    message: 'The request took too long to arrive.',
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'REQUEST_HEADER_FIELDS_TOO_LARGE',
    message:
      'The request line and headers are larger than this server accepts (a GET query too long for its URL?).',
  },
};
const malformed = { status: 400, code: 'BAD_REQUEST', message: 'The request is not valid HTTP.' };

/**
 * Fastify's `clientErrorHandler`: answers requests that Node's HTTP parser refuses before any route
 * (headers or URL over Node's 16 KiB, malformed HTTP, too slow) the way the GraphQL endpoint answers
 * errors, with `Cache-Control: no-store` (these bypass every hook), then closes the connection as
 * Fastify's own handler does.
 */
export function answerClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal = (error.code === undefined ? undefined : refusals[error.code]) ?? malformed;
  this.log.trace({ err: error }, `client error ${refusal.status}`);
  if (socket.writable) {
    const body = JSON.stringify({
      errors: [{ message: refusal.message, extensions: { code: refusal.code } }],
    });
    socket.write(
      `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        'Cache-Control: no-store\r\n' +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(error);
}
