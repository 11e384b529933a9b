import { readFileSync } from 'node:fs';

import Fastify from 'fastify';

/**
 * The ceiling: a bare Fastify process answering the benchmark's GraphQL requests with the very bytes
 * the service answered them with, captured earlier (`--responses <file>`: `[[requestBody, responseBody], ...]`).
 * It parses the JSON body and looks the answer up; no GraphQL, no token check, no cache, no Cosmos. It
 * is serving cached bytes: an upper bound for any Node.js process on this machine, not a plain-code
 * reimplementation. Prints `{"port": N}` once it listens.
 */
const argument = (name: string): string | undefined => {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
};
const file = argument('--responses');
if (file === undefined) {
  process.stderr.write('usage: ceiling --responses <file> [--port N]\n');
  process.exit(2);
}
const responses = new Map<string, string>(JSON.parse(readFileSync(file, 'utf8')) as [string, string][]);

const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
app.post('/graphql', async (request, reply) => {
  if (request.headers.authorization === undefined) return reply.code(401).send({ error: 'no token' });
  const answer = responses.get(JSON.stringify(request.body));
  if (answer === undefined) return reply.code(404).send({ error: 'no captured answer' });
  return reply.header('content-type', 'application/json; charset=utf-8').send(answer);
});

const address = await app.listen({ host: '127.0.0.1', port: Number(argument('--port') ?? 0) });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);

const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
if (process.send !== undefined) process.once('disconnect', stop);
