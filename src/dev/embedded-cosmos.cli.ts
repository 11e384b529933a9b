import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';

import { startEmbeddedCosmos } from './embedded-cosmos.js';

/**
 * Runs the embedded Cosmos-compatible server as its own process, so the demo, tests and chaos runs
 * can stop, pause (SIGSTOP) or kill it independently of the service. Prints one JSON line
 * `{endpoint, key, caFile, port, pid}` on stdout once it listens.
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'ca-file': { type: 'string' },
    'key-file': { type: 'string' },
  },
});

const caFile = values['ca-file'];
const keyFile = values['key-file'];
if (caFile === undefined) {
  process.stderr.write(
    'usage: embedded-cosmos --ca-file <pem to write or reuse> [--key-file <pem>] [--port N]\n',
  );
  process.exit(2);
}

// Reusing the certificate keeps clients that trust it working across a restart of the server.
const reuse = (() => {
  if (keyFile === undefined) return undefined;
  try {
    return { cert: readFileSync(caFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } catch {
    return undefined;
  }
})();

const cosmos = await startEmbeddedCosmos({
  host: values.host,
  port: Number(values.port),
  ...(reuse === undefined ? {} : { certificate: reuse }),
});
mkdirSync(dirname(caFile), { recursive: true });
writeFileSync(caFile, cosmos.caCertificate);
if (keyFile !== undefined && reuse === undefined) writeFileSync(keyFile, cosmos.privateKey, { mode: 0o600 });

process.stdout.write(
  `${JSON.stringify({ endpoint: cosmos.endpoint, key: cosmos.key, caFile, port: cosmos.port, pid: process.pid })}\n`,
);

const stop = () => void cosmos.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// Started by the demo with an IPC channel: stop when the parent goes away, however it ends.
if (process.send !== undefined) process.once('disconnect', stop);
