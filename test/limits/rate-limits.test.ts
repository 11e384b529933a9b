import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RedisGateway } from '../../src/modules/cache/redis-gateway.js';
import { Counters } from '../../src/modules/telemetry/counters.service.js';
import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { bearer, errorsOf, send, type RawResponse } from './http.js';

/**
 * Per-principal budgets shared by two replicas through one Redis, with tiny budgets: a device
 * spreading its requests over both replicas is held to one budget, other principals keep theirs,
 * and a Redis outage lets everyone through.
 */
const DEVICE_BUDGET = 10;
const ANONYMOUS_BUDGET = 4;
/** Needs a device token; answers from the emergency list without gold. */
const POPULAR = '{ popular(device: TV) { country } }';

let cosmos: TestCosmos;
let issuer: TestIssuer;
let redis: TestRedis;
let replicas: [TestApp, TestApp];

const call = (app: TestApp, token?: string) =>
  send(`${app.url}/graphql`, {
    body: JSON.stringify({ query: POPULAR }),
    headers: token === undefined ? { 'content-type': 'application/json' } : bearer(token),
  });

const deviceToken = (subject: string) => issuer.tokenFor('device', { sub: subject });

const rejections = (role: string) =>
  replicas.reduce(
    (sum, app) => sum + app.app.get(Counters).value('rate_limit_rejections_total', { role }),
    0,
  );

const expectServed = (response: RawResponse) => {
  expect(response.status).toBe(200);
  expect(errorsOf(response.json)).toBeUndefined();
};

const expectRateLimited = (response: RawResponse) => {
  expect(response.status).toBe(429);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.json).toEqual({
    errors: [
      {
        message: `Too many requests: try again in ${retryAfter} s.`,
        extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter },
      },
    ],
  });
};

beforeAll(async () => {
  [cosmos, issuer, redis] = await Promise.all([startTestCosmos(), startTestIssuer(), startRedis()]);
  const env = {
    ...cosmos.env,
    ...issuer.env,
    COSMOS_DATABASE: 'rate-limits',
    REDIS_URL: redis.url,
    REDIS_COMMAND_TIMEOUT_MS: '1000',
    RATE_LIMIT_DEVICE_PER_MINUTE: String(DEVICE_BUDGET),
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: String(ANONYMOUS_BUDGET),
  };
  replicas = [await startTestApp(env), await startTestApp(env)];
  for (const app of replicas) expect(await app.app.get(RedisGateway).ready(20_000)).toBe(true);
});

afterAll(async () => {
  await Promise.all(replicas?.map((app) => app.close()) ?? []);
  await Promise.all([issuer?.close(), cosmos?.close(), redis?.stop()]);
});

describe('rate limits shared by two replicas', () => {
  it("holds a device to one budget over both replicas, and leaves other devices' budgets alone", async () => {
    const token = await deviceToken('device-spread');
    for (let i = 0; i < DEVICE_BUDGET; i++) expectServed(await call(replicas[i % 2]!, token));
    expectRateLimited(await call(replicas[0], token));
    expectRateLimited(await call(replicas[1], token));
    expect(rejections('device')).toBe(2);

    const other = await deviceToken('device-other');
    expectServed(await call(replicas[0], other));
    expectServed(await call(replicas[1], other));
    // A new token of the same subject shares the spent budget: the subject is counted, not the token.
    expectRateLimited(await call(replicas[1], await deviceToken('device-spread')));
  });

  it('counts requests without a valid token by address, apart from the principals calling from it', async () => {
    const responses = [];
    for (let i = 0; i < ANONYMOUS_BUDGET; i++) responses.push(await call(replicas[i % 2]!));
    responses.push(await call(replicas[0], 'not-a-valid-token'));
    for (const response of responses.slice(0, ANONYMOUS_BUDGET)) {
      expect(response.status).toBe(200);
      expect(errorsOf(response.json)!.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    }
    expectRateLimited(responses[ANONYMOUS_BUDGET]!);
    expectRateLimited(await call(replicas[1]));
    expect(rejections('anonymous')).toBe(2);
    expectServed(await call(replicas[1], await deviceToken('device-same-address')));
  });

  it('does not count health probes', async () => {
    for (let i = 0; i < ANONYMOUS_BUDGET * 2; i++) {
      expect((await fetch(`${replicas[0].url}/health/live`)).status).toBe(200);
    }
  });

  it('lets every request through while Redis is down (fail open), and counts again once it is back', async () => {
    const spent = await deviceToken('device-spread');
    expectRateLimited(await call(replicas[0], spent));
    await redis.kill();
    for (let i = 0; i < DEVICE_BUDGET + 5; i++) expectServed(await call(replicas[i % 2]!, spent));
    const failedOpen = replicas.reduce(
      (sum, app) => sum + app.app.get(Counters).value('rate_limit_fail_open_total'),
      0,
    );
    expect(failedOpen).toBe(DEVICE_BUDGET + 5);

    await redis.restart();
    for (const app of replicas) {
      await waitFor(() => app.app.get(RedisGateway).ready(500), 20_000, 'Redis reconnected');
    }
    const fresh = await deviceToken('device-after-outage');
    // The gateway may still be cooling down from the outage for a moment: poll until Redis counts.
    const deadline = Date.now() + 20_000;
    let served = 0;
    for (;;) {
      const response = await call(replicas[served % 2]!, fresh);
      if (response.status === 429) break;
      expectServed(response);
      served += 1;
      expect(Date.now()).toBeLessThan(deadline);
    }
    expect(served).toBeGreaterThanOrEqual(DEVICE_BUDGET);
  });
});
