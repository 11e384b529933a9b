import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';

import { knownOperationTypesRule } from './known-operation-types.rule.js';

const messagesOf = (schema: string, query: string) =>
  validate(buildSchema(schema), parse(query), [knownOperationTypesRule]).map((error) => error.message);

describe(knownOperationTypesRule.name, () => {
  it('refuses operations of a type the schema lacks', () => {
    expect(messagesOf('type Query { a: Int }', 'subscription { a }')).toEqual([
      'This service has no subscription operations.',
    ]);
    expect(messagesOf('type Query { a: Int }', 'mutation M { a } query { a }')).toEqual([
      'This service has no mutation operations.',
    ]);
  });

  it('lets the types the schema has through', () => {
    expect(
      messagesOf('type Query { a: Int } type Mutation { b: Int }', 'query { a } mutation { b }'),
    ).toEqual([]);
  });
});
