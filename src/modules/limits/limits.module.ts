import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';

import { AuthModule } from '../auth/auth.module.js';
import { GraphQLHttpErrorFilter } from './graphql-http-error.filter.js';
import { RateLimitHook } from './rate-limit.hook.js';

/**
 * What one request may ask of the service: per-principal rate limits (shared through Redis) and
 * GraphQL-shaped refusals of requests the HTTP server turns away (body size, bad JSON). The
 * per-operation limits (depth, cost, aliases, tokens) are Apollo options: see `graphQLLimits`.
 */
@Module({
  imports: [AuthModule],
  providers: [RateLimitHook, { provide: APP_FILTER, useClass: GraphQLHttpErrorFilter }],
})
export class LimitsModule {}
