import 'reflect-metadata';

import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { buildSchema, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { describe, expect, it } from 'vitest';

import { AuthError, UndeclaredRolesError } from './auth.errors.js';
import { AuthGuard } from './auth.guard.js';
import type { Principal } from './principal.js';
import { principalOfRequest } from './request-principal.js';
import { Roles } from './roles.decorator.js';
import type { TokenVerifier } from './token-verifier.js';

const schema = buildSchema(`
  type Query { opsReport: String, viewer: Viewer, query: Query }
  type Mutation { reportProgress: String }
  type Viewer { name: String }
`);

class Handlers {
  @Roles('ops')
  opsReport(): void {}
  @Roles('device')
  reportProgress(): void {}
  undeclared(): void {}
  name(): void {}
}

@Roles('marketing')
class MarketingHandlers {
  segments(): void {}
}

const ops: Principal = { subject: 'svc-ops', roles: ['ops'] };

/** A strict fake: it answers only the token it was given, and counts its calls. */
const fakeVerifier = (token: string, principal: Principal) => {
  const calls: string[] = [];
  const verifier = {
    verifyOrThrow: (candidate: string) => {
      calls.push(candidate);
      if (candidate !== token) {
        return Promise.reject(new AuthError('UNAUTHENTICATED', 'The token is malformed.'));
      }
      return Promise.resolve(principal);
    },
  };
  return { verifier: verifier as unknown as TokenVerifier, calls };
};

const methodOf = (owner: object, name: string): (() => void) =>
  (owner as { prototype: Record<string, () => void> }).prototype[name]!;

const gqlContext = (
  handler: keyof Handlers | 'segments',
  parentType: string,
  request: object,
  nested = false,
): ExecutionContextHost => {
  const info = {
    schema,
    parentType: schema.getType(parentType) as GraphQLObjectType,
    fieldName: handler,
    path: nested
      ? { prev: { prev: undefined, key: 'query', typename: 'Query' }, key: handler }
      : { key: handler },
  } as unknown as GraphQLResolveInfo;
  const owner = handler === 'segments' ? MarketingHandlers : Handlers;
  const context = new ExecutionContextHost([{}, {}, { req: request }, info], owner, methodOf(owner, handler));
  context.setType('graphql');
  return context;
};

const requestWith = (token?: string) => ({
  headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
});

const refusalOf = async (promise: Promise<boolean>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('let through');
    },
    (error: unknown) => error,
  );

describe(AuthGuard.name, () => {
  it('checks a root field, once per request, and remembers the principal on the request', async () => {
    const { verifier, calls } = fakeVerifier('t-ops', ops);
    const sut = new AuthGuard(new Reflector(), verifier);
    const request = requestWith('t-ops');
    await expect(sut.canActivate(gqlContext('opsReport', 'Query', request))).resolves.toBe(true);
    await expect(sut.canActivate(gqlContext('opsReport', 'Query', request))).resolves.toBe(true);
    expect(calls).toEqual(['t-ops']);
    expect(principalOfRequest(request)).toBe(ops);
  });

  it('checks Mutation root fields', async () => {
    const sut = new AuthGuard(new Reflector(), fakeVerifier('t-ops', ops).verifier);
    const error = await refusalOf(
      sut.canActivate(gqlContext('reportProgress', 'Mutation', requestWith('t-ops'))),
    );
    expect(error).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
  });

  it('checks a Query field reached through a nested field, so nesting cannot widen access', async () => {
    const marketing: Principal = { subject: 'svc-m', roles: ['marketing'] };
    const sut = new AuthGuard(new Reflector(), fakeVerifier('t-m', marketing).verifier);
    const error = await refusalOf(
      sut.canActivate(gqlContext('opsReport', 'Query', requestWith('t-m'), true)),
    );
    expect(error).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
  });

  it('takes a declaration on the resolver class', async () => {
    const sut = new AuthGuard(new Reflector(), fakeVerifier('t-ops', ops).verifier);
    const error = await refusalOf(sut.canActivate(gqlContext('segments', 'Query', requestWith('t-ops'))));
    expect(error).toMatchObject({ message: 'segments requires one of the roles: marketing.' });
  });

  it('lets field resolvers through without a declaration or a token (when guards run on them at all)', async () => {
    const { verifier, calls } = fakeVerifier('t-ops', ops);
    const sut = new AuthGuard(new Reflector(), verifier);
    await expect(sut.canActivate(gqlContext('name', 'Viewer', requestWith()))).resolves.toBe(true);
    expect(calls).toEqual([]);
  });

  it('refuses an undeclared root field before looking at the token', async () => {
    const { verifier, calls } = fakeVerifier('t-ops', ops);
    const sut = new AuthGuard(new Reflector(), verifier);
    const error = await refusalOf(sut.canActivate(gqlContext('undeclared', 'Query', requestWith('t-ops'))));
    expect(error).toBeInstanceOf(UndeclaredRolesError);
    expect(calls).toEqual([]);
  });

  it('refuses a request without a token as UNAUTHENTICATED', async () => {
    const sut = new AuthGuard(new Reflector(), fakeVerifier('t-ops', ops).verifier);
    const error = await refusalOf(sut.canActivate(gqlContext('opsReport', 'Query', requestWith())));
    expect(error).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('lets plain HTTP routes through and refuses transports it does not know', async () => {
    const { verifier, calls } = fakeVerifier('t-ops', ops);
    const sut = new AuthGuard(new Reflector(), verifier);
    const http = new ExecutionContextHost([requestWith(), {}], Handlers, methodOf(Handlers, 'undeclared'));
    await expect(sut.canActivate(http)).resolves.toBe(true);
    const rpc = new ExecutionContextHost([{}, {}], Handlers, methodOf(Handlers, 'opsReport'));
    rpc.setType('rpc');
    await expect(sut.canActivate(rpc)).rejects.toThrow(/does not know how to guard a rpc handler/);
    expect(calls).toEqual([]);
  });
});
