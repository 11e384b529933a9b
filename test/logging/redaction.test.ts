import 'reflect-metadata';

import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApp } from '../../src/app.factory.js';
import { loadConfig } from '../../src/modules/config/app-config.js';
import { waitFor } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';

/**
 * What the service writes to its log while it handles real bearer tokens, valid and refused, read
 * from the destination its logger writes to: JSON lines with the expected fields, and no token,
 * signature, credential or personal field anywhere in them.
 */

const DATABASE = 'logging-redaction';
const SEARCH = '{ search(text: "stranger", first: 3) { id name } }';
const HOME = '{ home(profileId: "p-test-1", device: TV) { profileId } }';

interface LogLine {
  level: string;
  time: string;
  msg: string;
  context?: string;
  [field: string]: unknown;
}

let cosmos: TestCosmos;
let issuer: TestIssuer;
let gold: TestGold;
let app: NestFastifyApplication;
let url: string;
const raw: string[] = [];
const lines = () => raw.map((line) => JSON.parse(line) as LogLine);

const gql = async (query: string, headers: Record<string, string> = {}, search = '') => {
  const response = await fetch(`${url}/graphql${search}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] },
  };
};

beforeAll(async () => {
  [cosmos, issuer] = await Promise.all([startTestCosmos(), startTestIssuer()]);
  gold = await publishTestGold(cosmos, { database: DATABASE, profiles: 20, datasets: ['catalog'] });
  const config = loadConfig({
    ...cosmos.env,
    ...issuer.env,
    COSMOS_DATABASE: DATABASE,
    LOG_LEVEL: 'debug',
    GOLD_MANIFEST_REFRESH_MS: '200',
    HOST: '127.0.0.1',
    PORT: '0',
    METRICS_PORT: '0',
  });
  app = await createApp(config, { logDestination: { write: (line: string) => void raw.push(line) } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = await app.getUrl();
  await waitFor(async () => (await fetch(`${url}/health/ready`)).ok, 60_000, 'readiness');
});

afterAll(async () => {
  await app?.close();
  await Promise.all([issuer?.close(), cosmos?.close(), gold?.remove()]);
});

describe('the service log', () => {
  it('carries no token, credential or personal field, and every line is JSON with the expected fields', async () => {
    const valid = await issuer.tokenFor('device');
    const expired = await issuer.tokenFor('device', {}, { expires: '-10m' });
    const wrongAudience = await issuer.tokenFor('device', {}, { audience: 'api://someone-else' });
    const marketing = await issuer.tokenFor('marketing');
    const tokens = { valid, expired, wrongAudience, marketing };

    // A normal request, two refused tokens, a token without the role, tokens in a cookie and the query string.
    const normal = await gql(SEARCH, { authorization: `Bearer ${valid}` });
    expect(normal.status).toBe(200);
    expect(normal.body.errors).toBeUndefined();
    for (const token of [expired, wrongAudience]) {
      const refused = await gql(SEARCH, { authorization: `Bearer ${token}` });
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const forbidden = await gql(HOME, { authorization: `Bearer ${marketing}` });
    expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await gql(SEARCH, { cookie: `session=${valid}` }, `?access_token=${valid}`);

    // What a careless log line could contain, through Nest's logger and Fastify's.
    const probe = new Logger('RedactionProbe');
    probe.warn(`token rejected (expired): Authorization: Bearer ${expired}`);
    const error = new Error(`verification failed for ${wrongAudience}`);
    probe.error(error.message, error.stack);
    probe.log({
      msg: 'home served',
      profileId: 'p-test-1',
      accountId: 'acc-test-1',
      email: 'someone@example.com',
      device: 'TV',
      claims: { token: marketing, password: 'hunter2', country: 'US' },
    });
    app
      .getHttpAdapter()
      .getInstance()
      .log.warn({ headers: { authorization: `Bearer ${valid}` } }, 'raw');

    await waitFor(
      () =>
        lines().filter((line) => line.msg === 'request completed' && line['path'] === '/graphql').length >= 5,
      10_000,
      'the request lines',
    );
    const output = raw.join('');

    // Nothing of any token: not whole, not its signature, not its claims.
    for (const [name, token] of Object.entries(tokens)) {
      const [, claims, signature] = token.split('.');
      expect(output.includes(token), name).toBe(false);
      expect(output.includes(signature!), `${name}'s signature`).toBe(false);
      expect(output.includes(claims!), `${name}'s claims`).toBe(false);
    }
    expect(output).not.toContain('access_token');
    expect(output).not.toContain('hunter2');
    expect(output).not.toContain('someone@example.com');

    // One JSON object per line, with time, level, message and context.
    expect(raw.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
    for (const line of lines()) {
      expect(new Date(line.time).toISOString()).toBe(line.time);
      expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level);
      expect(typeof line.msg).toBe('string');
      expect(typeof line.context, line.msg).toBe('string');
    }

    // The request lines: method, path without the query string, status, duration; headers redacted.
    const requests = lines().filter(
      (line) => line.msg === 'request completed' && line['path'] === '/graphql',
    );
    for (const request of requests) {
      expect(request).toMatchObject({ context: 'HTTP', method: 'POST', status: 200 });
      expect(request['duration_ms']).toEqual(expect.any(Number));
      expect(request['reqId']).toEqual(expect.any(String));
    }
    expect(
      requests.filter((r) => (r['headers'] as Record<string, string>)['authorization'] === '[redacted]'),
    ).toHaveLength(4);
    expect(
      requests.filter((r) => (r['headers'] as Record<string, string>)['cookie'] === '[redacted]'),
    ).toHaveLength(1);

    // The service's own line about the refused role, and the probe's lines, redacted and scrubbed.
    expect(lines().find((line) => line.context === 'AuthGuard')?.msg).toBe(
      'refused Query.home to roles marketing',
    );
    const probeLines = lines().filter((line) => line.context === 'RedactionProbe');
    expect(probeLines.map((line) => line.msg)).toEqual([
      'token rejected (expired): Authorization: Bearer [redacted]',
      'verification failed for [redacted]',
      'home served',
    ]);
    expect(probeLines[1]!['stack']).toContain('verification failed for [redacted]');
    expect(probeLines[2]).toMatchObject({
      profileId: '[redacted]',
      accountId: '[redacted]',
      email: '[redacted]',
      device: 'TV',
      claims: { token: '[redacted]', password: '[redacted]', country: 'US' },
    });
    expect(lines().find((line) => line.msg === 'raw')).toMatchObject({
      headers: { authorization: '[redacted]' },
    });
  });
});
