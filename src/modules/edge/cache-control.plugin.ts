import type { ApolloServerPlugin, GraphQLRequestContextWillSendResponse } from '@apollo/server';

import type { EdgeConfig } from '../config/app-config.js';
import { cacheControlFor } from './cache-control.js';

const failed = ({ errors, response }: GraphQLRequestContextWillSendResponse<object>): boolean =>
  (errors?.length ?? 0) > 0 ||
  (response.http.status ?? 200) >= 400 ||
  response.body.kind !== 'single' ||
  (response.body.singleResult.errors?.length ?? 0) > 0;

/**
 * Sets Cache-Control on every GraphQL response from its operation (see {@link cacheControlFor}),
 * replacing what Apollo would send. Runs for errors too: Apollo calls `willSendResponse` for
 * everything except requests it refuses before the pipeline (CSRF, bad JSON), which the Fastify
 * safety net marks `no-store`.
 */
export const edgeCacheControlPlugin = (
  lifetimes: EdgeConfig['catalogCache'],
): ApolloServerPlugin<object> => ({
  requestDidStart: () =>
    Promise.resolve({
      willSendResponse: (context) => {
        const { request, document, operation, response } = context;
        response.http.headers.set(
          'cache-control',
          cacheControlFor(
            { method: request.http?.method, document, operation, failed: failed(context) },
            lifetimes,
          ),
        );
        return Promise.resolve();
      },
    }),
});
