import { ModulesContainer, Reflector } from '@nestjs/core';
import { MetadataScanner } from '@nestjs/core/metadata-scanner.js';
import { RESOLVER_NAME_METADATA, RESOLVER_TYPE_METADATA } from '@nestjs/graphql';
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLScalarType,
  isCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROLES_KEY, roles, type Role } from '../../src/modules/auth/roles.decorator.js';
import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startTestAzurite, type TestAzurite } from '../support/azurite.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { claimsFor, startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';

/**
 * Every root field of the running schema, called over HTTP by each role and without a token, must
 * answer exactly as its `@Roles()`/`@AnyRole()` declaration says; a root field without a
 * declaration fails the test. The declarations are read from the running app, the way the auth
 * guard reads them.
 */
const DATABASE = 'authorization-matrix';

type Caller = Role | 'no token';
type RootType = 'Query' | 'Mutation';

interface Declaration {
  handler: string;
  roles: readonly Role[] | undefined;
}

let cosmos: TestCosmos;
let azurite: TestAzurite;
let issuer: TestIssuer;
let gold: TestGold;
let api: TestApp;
let schema: GraphQLSchema;
let titleId: string;
const tokens = new Map<Role, string>();

/** The root fields the app's resolvers declare, with the roles each allows (undefined: none declared). */
const declaredRootFields = (app: TestApp['app']): Map<string, Declaration> => {
  const reflector = app.get(Reflector);
  const scanner = new MetadataScanner();
  const fields = new Map<string, Declaration>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.providers.values()) {
      const instance: unknown = wrapper.instance;
      if (typeof instance !== 'object' || instance === null || typeof wrapper.metatype !== 'function')
        continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const method of scanner.getAllMethodNames(prototype)) {
        const handler = prototype[method] as (...args: unknown[]) => unknown;
        const type = Reflect.getMetadata(RESOLVER_TYPE_METADATA, handler) as string | undefined;
        if (type !== 'Query' && type !== 'Mutation' && type !== 'Subscription') continue;
        const name = (Reflect.getMetadata(RESOLVER_NAME_METADATA, handler) as string | undefined) ?? method;
        fields.set(`${type}.${name}`, {
          handler: `${wrapper.metatype.name}.${method}`,
          roles: reflector.getAllAndOverride<readonly Role[] | undefined>(ROLES_KEY, [
            handler,
            wrapper.metatype,
          ]),
        });
      }
    }
  }
  return fields;
};

/** Example values that make each argument valid for the callers allowed to use it. */
const examples = (): Record<string, unknown> => ({
  profileId: (claimsFor.device['profile_ids'] as string[])[0],
  id: titleId,
  titleId,
  ids: [titleId],
  text: 'love',
  positionSeconds: 60,
  from: '2021-09-20',
  to: '2021-09-21',
  durationSeconds: 3600,
});

/** A minimal valid value of an argument: an example for its name, else the simplest of its type. */
const valueOf = (name: string, type: GraphQLInputType): unknown => {
  const example = examples()[name];
  if (example !== undefined) return example;
  if (type instanceof GraphQLNonNull) return valueOf(name, type.ofType);
  if (type instanceof GraphQLList) return [valueOf(name, type.ofType)];
  if (type instanceof GraphQLEnumType) return type.getValues()[0]!.value;
  if (type instanceof GraphQLInputObjectType) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((field) => field.type instanceof GraphQLNonNull && field.defaultValue === undefined)
        .map((field) => [field.name, valueOf(field.name, field.type)]),
    );
  }
  if (type instanceof GraphQLScalarType) {
    const scalar = ({ Int: 1, Float: 1, Boolean: true, String: 'x', ID: 'x' } as Record<string, unknown>)[
      type.name
    ];
    if (scalar !== undefined) return scalar;
  }
  throw new Error(`no example value for argument ${name} of type ${String(type)}: add one to examples()`);
};

/** `query($a: T!) { field(a: $a) { __typename } }` with the required arguments only. */
const operationFor = (rootType: RootType, field: GraphQLField<unknown, unknown>) => {
  const required = field.args.filter(
    (arg) => arg.type instanceof GraphQLNonNull && arg.defaultValue === undefined,
  );
  const definitions = required.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const args = required.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
  return {
    query: `${rootType.toLowerCase()}${definitions ? `(${definitions})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection} }`,
    variables: Object.fromEntries(required.map((arg) => [arg.name, valueOf(arg.name, arg.type)])),
  };
};

const rootFieldsOf = (): { rootType: RootType; field: GraphQLField<unknown, unknown> }[] =>
  (['Query', 'Mutation'] as const).flatMap((rootType) => {
    const type: GraphQLObjectType | null | undefined =
      rootType === 'Query' ? schema.getQueryType() : schema.getMutationType();
    return Object.values(type?.getFields() ?? {}).map((field) => ({ rootType, field }));
  });

beforeAll(async () => {
  [cosmos, issuer, azurite] = await Promise.all([startTestCosmos(), startTestIssuer(), startTestAzurite()]);
  gold = await publishTestGold(cosmos, {
    database: DATABASE,
    profiles: 20,
    datasets: ['catalog', 'profiles', 'popular', 'partner_metrics'],
  });
  api = await startTestApp({
    ...cosmos.env,
    ...issuer.env,
    COSMOS_DATABASE: DATABASE,
    EXPORTS_STORAGE_CONNECTION_STRING: azurite.connectionString,
    REQUEST_BUDGET_MS: '5000',
    COSMOS_CALL_TIMEOUT_MS: '2000',
  });
  await waitFor(async () => (await fetch(`${api.url}/health/ready`)).ok, 60_000, 'readiness');
  for (const role of roles) tokens.set(role, await issuer.tokenFor(role));
  const introspection = await api.gql<IntrospectionQuery>(getIntrospectionQuery(), {
    token: tokens.get('ops')!,
  });
  expect(introspection.errors).toBeUndefined();
  schema = buildClientSchema(introspection.data!);
  const browse = await api.gql<{ browse: { edges: { node: { id: string } }[] } }>(
    '{ browse(first: 1) { edges { node { id } } } }',
    { token: tokens.get('ops')! },
  );
  titleId = browse.data!.browse.edges[0]!.node.id;
});

afterAll(async () => {
  await api?.close();
  await Promise.all([issuer?.close(), cosmos?.close(), gold?.remove(), azurite?.stop()]);
});

describe('authorization of every root field', () => {
  it('finds a roles declaration for every Query and Mutation field of the running schema', () => {
    const declared = declaredRootFields(api.app);
    const schemaFields = rootFieldsOf().map(({ rootType, field }) => `${rootType}.${field.name}`);
    expect(schemaFields.length).toBeGreaterThanOrEqual(10);
    expect(
      schemaFields.filter((name) => !declared.has(name)),
      'root fields without a resolver',
    ).toEqual([]);
    expect(
      schemaFields
        .filter((name) => declared.get(name)?.roles === undefined)
        .map((name) => `${name} (${declared.get(name)?.handler})`),
      'root fields without @Roles() or @AnyRole()',
    ).toEqual([]);
    expect(
      [...declared.keys()].filter((name) => !schemaFields.includes(name)),
      'handlers not in the schema',
    ).toEqual([]);
  });

  it('answers each role and an anonymous caller exactly as declared', async () => {
    const declared = declaredRootFields(api.app);
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const { rootType, field } of rootFieldsOf()) {
      const allowed = declared.get(`${rootType}.${field.name}`)?.roles ?? [];
      const { query, variables } = operationFor(rootType, field);
      for (const caller of [...roles, 'no token'] as Caller[]) {
        const token = caller === 'no token' ? undefined : tokens.get(caller);
        const response = await api.gql(query, { ...(token === undefined ? {} : { token }), variables });
        expect(response.status, `${field.name} as ${caller}`).toBe(200);
        const codes = (response.errors ?? []).map((error) => error.extensions?.code ?? 'no code');
        const outcome =
          codes.length === 0 && response.data?.[field.name] !== undefined ? 'allowed' : codes.join(',');
        outcomes.push(`${rootType}.${field.name} as ${caller}: ${outcome}`);
        const verdict =
          caller === 'no token' ? 'UNAUTHENTICATED' : allowed.includes(caller) ? 'allowed' : 'FORBIDDEN';
        expected.push(`${rootType}.${field.name} as ${caller}: ${verdict}`);
      }
    }
    expect(outcomes).toEqual(expected);
    // The matrix is not all one answer: every outcome occurs.
    expect(new Set(outcomes.map((line) => line.split(': ')[1]))).toEqual(
      new Set(['allowed', 'FORBIDDEN', 'UNAUTHENTICATED']),
    );
  });
});
