import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { formatGraphQLError } from './format-error.js';
import { GraphQLErrorFilter } from './graphql-error.filter.js';

/** Apollo on the Fastify platform, code-first: the schema is built from the resolvers' decorators. */
@Module({
  imports: [
    GraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): ApolloDriverConfig => ({
        path: '/graphql',
        autoSchemaFile: true,
        sortSchema: true,
        introspection: !config.production,
        playground: false,
        includeStacktraceInErrorResponses: false,
        formatError: formatGraphQLError,
      }),
    }),
  ],
  providers: [{ provide: APP_FILTER, useClass: GraphQLErrorFilter }],
})
export class GraphQLSetupModule {}
