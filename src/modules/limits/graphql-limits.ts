import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { GraphQLArmorRejectCallback } from '@escape.tech/graphql-armor-types';
import { GraphQLError, type ParseOptions, type ValidationRule } from 'graphql';

import type { GraphQLLimitsConfig } from '../config/app-config.js';
import type { Counters } from '../telemetry/counters.service.js';
import { knownOperationTypesRule } from './known-operation-types.rule.js';

/** Which limit refused an operation: the `limit` label of `graphql_limit_rejections_total`. */
export type QueryLimit = 'depth' | 'cost' | 'aliases' | 'directives' | 'tokens';

/** The Apollo Server options that enforce the limits; spread into the driver's config. */
export interface GraphQLLimitOptions {
  validationRules: ValidationRule[];
  parseOptions: ParseOptions;
  allowBatchedHttpRequests: false;
  hideSchemaDetailsFromClientErrors: boolean;
}

/** graphql-js's own messages when it stops parsing at a limit (its wording: "more that N tokens"). */
const parseLimitMessage = /^Syntax Error: Document contains more th\w+ \d+ (tokens|comments)\./;

/** The validation errors the limit rules reported, for {@link limitRefusalsPlugin} to count. */
const refusals = new WeakMap<Error, QueryLimit>();

/**
 * Limits every operation before it runs: documents past `maxTokens` tokens (or comments) fail to
 * parse (GRAPHQL_PARSE_FAILED, HTTP 400); depth, cost, aliases and directives are validation rules
 * (graphql-armor), so an operation past one fails validation (GRAPHQL_VALIDATION_FAILED, HTTP 400)
 * with a message naming the limit, and no resolver is called.
 *
 * Batched requests (a JSON array of operations) are refused (400 BAD_REQUEST): a device screen is
 * one operation, and a batch would multiply the work of one request past the rate limit.
 */
export const graphQLLimits = (limits: GraphQLLimitsConfig, production: boolean): GraphQLLimitOptions => {
  // Armor's own reporter prefixes "Syntax Error:" to what is not a syntax error.
  const refuse =
    (limit: QueryLimit): GraphQLArmorRejectCallback =>
    (context, error) => {
      const refusal = new GraphQLError(error.message.replace(/^Syntax Error: /, ''));
      refusals.set(refusal, limit);
      context?.reportError(refusal);
    };
  const reporting = (limit: QueryLimit) => ({ propagateOnRejection: false, onReject: [refuse(limit)] });
  const armor = new ApolloArmor({
    // Fragments count as the selections they stand for, so clients built on fragments are not
    // charged for them.
    maxDepth: { n: limits.maxDepth, flattenFragments: true, ...reporting('depth') },
    costLimit: { maxCost: limits.maxCost, flattenFragments: true, ...reporting('cost') },
    maxAliases: { n: limits.maxAliases, ...reporting('aliases') },
    maxDirectives: { n: limits.maxDirectives, ...reporting('directives') },
    // Armor's Apollo token plugin throws from parsingDidStart, which Apollo answers with a 500;
    // graphql-js's own token limit (parseOptions) fails the parse instead, a 400.
    maxTokens: { enabled: false },
    // Apollo's own option below drops the "Did you mean …?" instead of masking it.
    blockFieldSuggestion: { enabled: false },
  }).protect();
  return {
    validationRules: [knownOperationTypesRule, ...armor.validationRules],
    // Comments are not tokens; they are held to the same number.
    parseOptions: { maxLexicalTokens: limits.maxTokens, maxComments: limits.maxTokens },
    allowBatchedHttpRequests: false,
    // Suggestions would spell out the schema that introspection hides in production.
    hideSchemaDetailsFromClientErrors: production,
  };
};

/** Counts the operations the limits refused in `graphql_limit_rejections_total{limit}`. */
export const limitRefusalsPlugin = (counters: Counters): ApolloServerPlugin => {
  const count = (limit: QueryLimit) => counters.increment('graphql_limit_rejections_total', { limit });
  return {
    requestDidStart: () =>
      Promise.resolve({
        parsingDidStart: () =>
          Promise.resolve((error?: Error) => {
            if (error !== undefined && parseLimitMessage.test(error.message)) count('tokens');
            return Promise.resolve();
          }),
        validationDidStart: () =>
          Promise.resolve((errors?: readonly Error[]) => {
            const limits = new Set((errors ?? []).map((error) => refusals.get(error)));
            for (const limit of limits) if (limit !== undefined) count(limit);
            return Promise.resolve();
          }),
      }),
  };
};
