import { Logger } from '@nestjs/common';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';

import type { EdgeConfig } from '../config/app-config.js';
import { clientAddressOf } from './client-address.js';
import { registerEdge } from './edge.js';

const FRONT_DOOR_ID = '55ce4ed1-4b06-4bf1-b40e-4638452104da';
const catalogCache = { maxAgeSeconds: 60, sharedMaxAgeSeconds: 300 };

let sut: FastifyInstance;
let log: MockInstance;
let warn: MockInstance;

const serverWith = async (edge: EdgeConfig, production = false): Promise<FastifyInstance> => {
  sut = Fastify({ bodyLimit: 64 });
  registerEdge(sut, edge, production);
  sut.get('/address', (request) => ({ address: clientAddressOf(request) }));
  sut.post('/echo', (request) => request.body);
  sut.get('/cached', (_request, reply) => reply.header('cache-control', 'public, max-age=5').send('ok'));
  await sut.ready();
  return sut;
};

beforeEach(() => {
  log = vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});

afterEach(async () => {
  vi.restoreAllMocks();
  await sut?.close();
});

describe('registerEdge with FRONT_DOOR_ID set', () => {
  const behind = () => serverWith({ frontDoorId: FRONT_DOOR_ID, catalogCache });

  it('refuses requests without the profile id, whatever the route', async () => {
    const server = await behind();
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^Behind Azure Front Door: .*refused \(403\)/));
    for (const headers of [
      {},
      { 'x-azure-fdid': '00000000-0000-0000-0000-000000000000' },
      { 'x-azure-fdid': '' },
    ]) {
      for (const url of ['/address', '/nowhere']) {
        const response = await server.inject({ url, headers });
        expect(response.statusCode).toBe(403);
        expect(response.headers['cache-control']).toBe('no-store');
        expect(response.json()).toMatchObject({
          error: 'Forbidden',
          message: expect.stringMatching(/Front Door/),
        });
      }
    }
  });

  it('lets the profile id through, in any case', async () => {
    const server = await behind();
    for (const id of [FRONT_DOOR_ID, FRONT_DOOR_ID.toUpperCase()]) {
      const response = await server.inject({ url: '/address', headers: { 'x-azure-fdid': id } });
      expect(response.statusCode).toBe(200);
    }
  });

  it('takes the client address from X-Azure-ClientIP, else the first X-Forwarded-For entry', async () => {
    const server = await behind();
    const addressWith = async (headers: Record<string, string>) =>
      (
        await server.inject({
          url: '/address',
          remoteAddress: '10.0.0.9',
          headers: { 'x-azure-fdid': FRONT_DOOR_ID, ...headers },
        })
      ).json<{ address: string }>().address;
    expect(
      await addressWith({ 'x-azure-clientip': '203.0.113.7', 'x-forwarded-for': '198.51.100.1, 10.0.0.1' }),
    ).toBe('203.0.113.7');
    expect(await addressWith({ 'x-forwarded-for': '2001:db8::1, 10.0.0.1' })).toBe('2001:db8::1');
    expect(await addressWith({ 'x-azure-clientip': 'garbage', 'x-forwarded-for': '198.51.100.1' })).toBe(
      '198.51.100.1',
    );
    expect(await addressWith({})).toBe('10.0.0.9');
  });
});

describe('registerEdge with FRONT_DOOR_ID unset', () => {
  it('accepts every request and believes no address header', async () => {
    const server = await serverWith({ frontDoorId: undefined, catalogCache });
    const response = await server.inject({
      url: '/address',
      remoteAddress: '10.0.0.9',
      headers: { 'x-azure-clientip': '203.0.113.7', 'x-forwarded-for': '198.51.100.1' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ address: '10.0.0.9' });
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^FRONT_DOOR_ID unset: no origin lock/));
  });

  it('warns about the missing lock in production', async () => {
    await serverWith({ frontDoorId: undefined, catalogCache }, true);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^FRONT_DOOR_ID unset: no origin lock/));
  });

  it('marks every response without Cache-Control no-store and keeps one that has it', async () => {
    const server = await serverWith({ frontDoorId: undefined, catalogCache });
    expect((await server.inject({ url: '/address' })).headers['cache-control']).toBe('no-store');
    expect((await server.inject({ url: '/nowhere' })).headers['cache-control']).toBe('no-store');
    const tooBig = await server.inject({ method: 'POST', url: '/echo', payload: { text: 'x'.repeat(100) } });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.headers['cache-control']).toBe('no-store');
    expect((await server.inject({ url: '/cached' })).headers['cache-control']).toBe('public, max-age=5');
  });
});
