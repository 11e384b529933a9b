import { readFileSync } from 'node:fs';

import Fastify from 'fastify';

import {
  CeilingAnswers,
  CeilingGold,
  readQueries,
  viewerOfAuthorization,
  type Operation,
  type Viewer,
} from './ceiling-answers.js';

/**
 * The ceiling: a bare Fastify process answering the benchmark's POST /graphql requests with the
 * answers the service gives, built in plain code (bench/ceiling-answers.ts) from the sample gold
 * the benchmark built (`--gold <outDir>`), all of it in memory (the profiles as JSON bytes: about
 * 1.2 GB and 15 s to load at 100,000 profiles).
 *
 * It does the service's domain work per request — the serve-time rules and row building of a home
 * page, a browse page with its cursors, a search over the catalogue's index — with the service's
 * own code, and serializes the answer with JSON.stringify. It does none of the framework work: the
 * operation is told by the exact query text (one of bench/queries/*.graphql), not parsed or
 * executed; the token is decoded but not verified (home needs its profile_ids and country); no
 * Nest, no cache, no Redis, no Cosmos, no metrics, no tracing. It answers as a healthy replica
 * with the whole gold at hand: an upper bound for the service on this machine, not a service
 * (errors carry their code and message, not the service's exact form).
 *
 * `--responses <file>` (`[[requestBody, responseBody], ...]`, captured from the service) checks
 * the answers at start-up against the service's bytes. The home page's `meta` is compared apart:
 * it tells how the service's dependencies fared while it answered (e.g. CACHE_UNAVAILABLE), which
 * the ceiling, always healthy, cannot know; an answer differing only there counts as identical, in
 * `metaNormalized`, and what the service's `meta` said there in `metaReasons`. Once listening it
 * prints one JSON line: `{"port", "compared", "identical", "differing", "metaNormalized",
 * "metaReasons", "sample"}` (only `port` without `--responses`; `sample`: the first difference).
 */
const argument = (name: string): string | undefined => {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
};
const goldDirectory = argument('--gold');
if (goldDirectory === undefined) {
  process.stderr.write('usage: ceiling --gold <dir> [--responses <file>] [--port N]\n');
  process.exit(2);
}
const gold = await CeilingGold.load(goldDirectory);
const answers = new CeilingAnswers(gold, readQueries());

interface Request {
  operation: Operation | undefined;
  variables: Record<string, unknown>;
}

const requestOf = (body: unknown): Request => {
  const { query, variables } = (typeof body === 'object' && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  return {
    operation: answers.operationOf(query),
    variables:
      typeof variables === 'object' && variables !== null ? (variables as Record<string, unknown>) : {},
  };
};

const NO_VIEWER: Viewer = { profileIds: [], country: undefined };

/** A home page's answer without its `meta`, the last field of `home`. */
const withoutMeta = (answer: string): string => answer.slice(0, answer.lastIndexOf(',"meta":{'));

/** What a home answer's `meta` said: its reasons, and its source unless PERSONALIZED. */
const metaReasonsOf = (answer: string): string[] => {
  const meta = (
    JSON.parse(answer) as { data?: { home?: { meta?: { source?: string; reasons?: string[] } } } }
  ).data?.home?.meta;
  const source = meta?.source ?? 'none';
  return [...(meta?.reasons ?? []), ...(source === 'PERSONALIZED' ? [] : [`source:${source}`])];
};

/** Where two answers part, with a little of each around it. */
const firstDifference = (label: string, service: string, ceiling: string): string => {
  let at = 0;
  while (at < service.length && service[at] === ceiling[at]) at += 1;
  const around = (text: string) => JSON.stringify(text.slice(Math.max(0, at - 30), at + 50));
  return `${label} at character ${at}: service ${around(service)}, ceiling ${around(ceiling)}`;
};

/** Builds the answer to every captured request and compares it with the service's bytes. */
const check = (captured: [string, string][]) => {
  const viewers = new Map<string, Viewer>();
  for (const account of gold.accounts)
    for (const profileId of account.profileIds)
      viewers.set(profileId, { profileIds: account.profileIds, country: account.country });
  let identical = 0;
  let metaNormalized = 0;
  const metaReasons: Record<string, number> = {};
  let sample: string | undefined;
  for (const [requestBody, service] of captured) {
    const { operation, variables } = requestOf(JSON.parse(requestBody));
    const label = `${operation ?? 'unknown query'} ${JSON.stringify(variables)}`;
    if (operation === undefined) {
      sample ??= `${label}: not a query of bench/queries`;
      continue;
    }
    const profileId = variables['profileId'];
    const ceiling = answers.answer(operation, variables, () =>
      typeof profileId === 'string' ? (viewers.get(profileId) ?? NO_VIEWER) : NO_VIEWER,
    );
    if (ceiling === service) identical += 1;
    else if (operation === 'home' && withoutMeta(ceiling) === withoutMeta(service)) {
      identical += 1;
      metaNormalized += 1;
      for (const reason of metaReasonsOf(service)) metaReasons[reason] = (metaReasons[reason] ?? 0) + 1;
    } else sample ??= firstDifference(label, service, ceiling);
  }
  return {
    compared: captured.length,
    identical,
    differing: captured.length - identical,
    metaNormalized,
    metaReasons,
    ...(sample === undefined ? {} : { sample }),
  };
};

const responsesFile = argument('--responses');
const checked =
  responsesFile === undefined
    ? {}
    : check(JSON.parse(readFileSync(responsesFile, 'utf8')) as [string, string][]);

const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
app.post('/graphql', async (request, reply) => {
  const { authorization } = request.headers;
  if (authorization === undefined) return reply.code(401).send({ error: 'no token' });
  const { operation, variables } = requestOf(request.body);
  if (operation === undefined)
    return reply.code(400).send({ errors: [{ message: 'not a query of bench/queries' }] });
  const answer = answers.answer(operation, variables, () => viewerOfAuthorization(authorization));
  return reply.header('content-type', 'application/json; charset=utf-8').send(answer);
});

const address = await app.listen({ host: '127.0.0.1', port: Number(argument('--port') ?? 0) });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port), ...checked })}\n`);

const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
if (process.send !== undefined) process.once('disconnect', stop);
