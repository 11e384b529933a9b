import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';

import { createLogger, type LoggerOptions } from './pino-logger.js';
import { PinoLoggerService } from './pino-logger.service.js';
import { RequestLogController } from './request-logging.js';
import type { TraceFields } from './trace-context.js';

type Line = Record<string, unknown>;

const TOKEN =
  'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0ZXN0LWRldmljZSIsInJvbGVzIjpbImRldmljZSJdfQ.MEUCIQDx4Y2l8c3Zs1lR0XlY5H0aZ';

const capture = (options: Partial<LoggerOptions> = {}) => {
  const raw: string[] = [];
  const pino = createLogger({
    level: 'trace',
    destination: { write: (line) => void raw.push(line) },
    ...options,
  });
  return {
    pino,
    sut: new PinoLoggerService(pino),
    raw,
    lines: () => raw.map((line) => JSON.parse(line) as Line),
  };
};

describe(PinoLoggerService.name, () => {
  it('writes one JSON line per call, with time, level name, msg and context', () => {
    const { sut, lines, raw } = capture();
    sut.log('catalogue loaded', 'CatalogService');
    sut.warn('slow', 'Redis');
    sut.debug('detail', 'AuthGuard');
    sut.verbose('more detail', 'AuthGuard');
    sut.fatal('down', 'Shutdown');
    sut.log('no context');

    expect(raw.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
    expect(lines().map(({ level, msg, context }) => ({ level, msg, context }))).toEqual([
      { level: 'info', msg: 'catalogue loaded', context: 'CatalogService' },
      { level: 'warn', msg: 'slow', context: 'Redis' },
      { level: 'debug', msg: 'detail', context: 'AuthGuard' },
      { level: 'trace', msg: 'more detail', context: 'AuthGuard' },
      { level: 'fatal', msg: 'down', context: 'Shutdown' },
      { level: 'info', msg: 'no context', context: undefined },
    ]);
    for (const line of lines()) expect(new Date(line['time'] as string).toISOString()).toBe(line['time']);
  });

  it("takes Nest's error conventions: a stack, a stack-less error, an Error as the message", () => {
    const { sut, lines } = capture();
    const error = new Error('boom');
    sut.error('failed', error.stack, 'Worker');
    sut.error('failed without stack', undefined, 'Worker');
    sut.error(error, 'Worker');

    const [withStack, withoutStack, asMessage] = lines();
    expect(withStack).toMatchObject({ level: 'error', msg: 'failed', context: 'Worker' });
    expect(withStack!['stack']).toContain('at ');
    expect(withoutStack).toMatchObject({ msg: 'failed without stack', context: 'Worker' });
    expect(withoutStack).not.toHaveProperty('stack');
    expect(withoutStack).not.toHaveProperty('params');
    expect(asMessage).toMatchObject({
      msg: 'boom',
      context: 'Worker',
      err: { type: 'Error', message: 'boom' },
    });
  });

  it('drops what is below the configured level without formatting it', () => {
    const { sut, lines } = capture({ level: 'warn' });
    sut.log({
      get msg(): string {
        throw new Error('formatted');
      },
    });
    sut.debug('hidden');
    sut.warn('shown');
    expect(lines().map((line) => line['msg'])).toEqual(['shown']);
  });

  it('redacts credentials and personal fields of logged objects, at any of three levels', () => {
    const { sut, pino, lines } = capture();
    sut.log(
      {
        msg: 'home served',
        profileId: 'p-1234',
        accountId: 'acc-1',
        email: 'someone@example.com',
        device: 'TV',
        principal: { subject: 's', profileIds: ['p-1', 'p-2'], token: 'opaque' },
        cosmos: { key: 'k', connectionString: 'AccountEndpoint=x;AccountKey=y' },
      },
      'Home',
    );
    pino.info(
      {
        request: { headers: { authorization: 'Basic dXNlcjpwYXNz', cookie: 'session=abc', host: 'api' } },
        headers: { 'set-cookie': 'a=b' },
        password: 'hunter2',
        secret: 's',
        accessToken: 'a',
      },
      'raw',
    );

    const [nest, raw] = lines();
    expect(nest).toMatchObject({
      msg: 'home served',
      context: 'Home',
      profileId: '[redacted]',
      accountId: '[redacted]',
      email: '[redacted]',
      device: 'TV',
      principal: { subject: 's', profileIds: '[redacted]', token: '[redacted]' },
      cosmos: { key: '[redacted]', connectionString: '[redacted]' },
    });
    expect(raw).toMatchObject({
      request: { headers: { authorization: '[redacted]', cookie: '[redacted]', host: 'api' } },
      headers: { 'set-cookie': '[redacted]' },
      password: '[redacted]',
      secret: '[redacted]',
      accessToken: '[redacted]',
    });
  });

  it('scrubs tokens out of messages, stacks and any field', () => {
    const { sut, raw, lines } = capture();
    const error = new Error(`cannot verify ${TOKEN}`);
    sut.warn(`rejected Authorization: Bearer ${TOKEN}`, 'AuthGuard');
    sut.error(error.message, error.stack, 'AuthGuard');
    sut.error(error);
    sut.log({ msg: 'odd', note: `token was ${TOKEN}` });

    expect(raw.join('')).not.toContain(TOKEN);
    expect(raw.join('')).not.toContain(TOKEN.split('.')[2]);
    expect(lines()[0]!['msg']).toBe('rejected Authorization: Bearer [redacted]');
  });

  it('adds the active span ids to every line when there is a span', () => {
    const ids = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };
    let active: TraceFields | undefined = undefined;
    const { sut, lines } = capture({ traceFields: () => active });
    sut.log('outside');
    active = ids;
    sut.log('inside');
    sut.log({ msg: 'explicit wins', trace_id: 'mine' });

    const [outside, inside, explicit] = lines();
    expect(outside).not.toHaveProperty('trace_id');
    expect(inside).toMatchObject(ids);
    expect(explicit).toMatchObject({ trace_id: 'mine', span_id: ids.span_id });
  });
});

describe(RequestLogController.name, () => {
  const serverWith = (level: LoggerOptions['level'], trace?: () => TraceFields | undefined) => {
    const logs = capture({ level, ...(trace === undefined ? {} : { traceFields: trace }) });
    const fastify = Fastify({
      loggerInstance: logs.pino.child({ context: 'HTTP' }),
      logController: new RequestLogController(logs.pino, trace),
    });
    fastify.get('/graphql', () => ({ data: {} }));
    fastify.get('/health/live', () => ({ status: 'up' }));
    fastify.get('/fail', () => {
      throw new Error(`failed for ${TOKEN}`);
    });
    return { fastify, ...logs };
  };

  it('writes one line per request: method, path without the query string, status, duration', async () => {
    const { fastify, lines } = serverWith('info');
    await fastify.inject({
      url: `/graphql?extensions={"persistedQuery":{"sha256Hash":"abc"}}&access_token=${TOKEN}`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await fastify.inject({ url: '/health/live' });
    await fastify.inject({ url: '/missing?q=1' });
    await fastify.close();

    const requests = lines().filter((line) => line['msg'] === 'request completed');
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({
      level: 'info',
      context: 'HTTP',
      method: 'GET',
      path: '/graphql',
      status: 200,
    });
    expect(requests[0]!['duration_ms']).toEqual(expect.any(Number));
    expect(requests[0]).not.toHaveProperty('headers');
    expect(requests[1]).toMatchObject({ path: '/missing', status: 404 });
    expect(lines().some((line) => line['msg'] === 'incoming request')).toBe(false);
  });

  it('adds the headers at debug, redacted, and logs probes at debug only', async () => {
    const { fastify, lines, raw } = serverWith('debug');
    await fastify.inject({ url: '/graphql', headers: { authorization: `Bearer ${TOKEN}`, cookie: 'a=b' } });
    await fastify.inject({ url: '/health/live' });
    await fastify.inject({ url: '/fail?secret=1' });
    await fastify.close();

    const [graphql, probe] = lines().filter((line) => line['msg'] === 'request completed');
    expect(graphql).toMatchObject({ headers: { authorization: '[redacted]', cookie: '[redacted]' } });
    expect(probe).toMatchObject({ level: 'debug', path: '/health/live' });
    const failure = lines().find((line) => line['status'] === 500 || line['level'] === 'error');
    expect(failure).toMatchObject({ req: { method: 'GET', path: '/fail' } });
    expect(raw.join('')).not.toContain(TOKEN);
    expect(raw.join('')).not.toContain('secret=1');
  });

  it('keeps the ids of the span active when the request came in', async () => {
    const ids = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };
    let active: TraceFields | undefined = ids;
    const { fastify, lines } = serverWith('info', () => active);
    fastify.addHook('onSend', (_request, _reply, payload, done) => {
      active = undefined; // the span is over before the response is finished
      done(null, payload);
    });
    await fastify.inject({ url: '/graphql' });
    await fastify.close();
    expect(lines().find((line) => line['msg'] === 'request completed')).toMatchObject(ids);
  });
});
