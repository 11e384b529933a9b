import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { edgeCacheControlPlugin } from '../edge/cache-control.plugin.js';
import { graphQLLimits, limitRefusalsPlugin } from '../limits/graphql-limits.js';
import { Counters } from '../telemetry/counters.service.js';
import { graphQLTelemetryPlugin } from '../telemetry/graphql-telemetry.plugin.js';
import { TelemetryModule } from '../telemetry/telemetry.module.js';
import { formatGraphQLError } from './format-error.js';
import { GraphQLErrorFilter } from './graphql-error.filter.js';
import { stringifyResult } from './result-json.js';

export const GRAPHQL_PATH = '/graphql';

/** Apollo on the Fastify platform, code-first: the schema is built from the resolvers' decorators. */
@Module({
  imports: [
    GraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      imports: [TelemetryModule],
      inject: [APP_CONFIG, Counters],
      useFactory: (config: AppConfig, counters: Counters): ApolloDriverConfig => ({
        path: GRAPHQL_PATH,
        autoSchemaFile: true,
        sortSchema: true,
        introspection: !config.production,
        playground: false,
        includeStacktraceInErrorResponses: false,
        formatError: formatGraphQLError,
        stringifyResult,
        ...graphQLLimits(config.limits.graphql, config.production),
        // Automatic persisted queries in Apollo's bounded in-memory LRU, per instance (a miss answers
        // PERSISTED_QUERY_NOT_FOUND and the client sends the query again): catalogue reads go as
        // short GETs that Front Door can cache. CSRF prevention makes a GET carry
        // `apollo-require-preflight` (or `x-apollo-operation-name`); GET runs queries only.
        cache: 'bounded',
        persistedQueries: {},
        csrfPrevention: true,
        // Cache-Control is decided per operation by the edge plugin; Apollo's per-field accounting is off.
        plugins: [
          graphQLTelemetryPlugin(),
          ApolloServerPluginCacheControlDisabled(),
          edgeCacheControlPlugin(config.edge.catalogCache),
          limitRefusalsPlugin(counters),
        ],
      }),
    }),
  ],
  providers: [{ provide: APP_FILTER, useClass: GraphQLErrorFilter }],
})
export class GraphQLSetupModule {}
