import 'reflect-metadata';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';

import { createApp } from '../../src/app.factory.js';
import { loadConfig } from '../../src/modules/config/app-config.js';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data: T | null | undefined;
  errors:
    | { message: string; path?: string[]; extensions?: { code?: string; [key: string]: unknown } }[]
    | undefined;
}

export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  /** POSTs a GraphQL operation, with a bearer token when given. */
  gql<T = Record<string, unknown>>(
    query: string,
    options?: { token?: string; variables?: Record<string, unknown> },
  ): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

/** Boots the real AppModule on Fastify on a free port, configured by `env` as in production. */
export const startTestApp = async (env: Record<string, string>): Promise<TestApp> => {
  const config = loadConfig({
    LOG_LEVEL: 'error',
    GOLD_MANIFEST_REFRESH_MS: '200',
    // Load-shaped tests send far more than a device would; rate limits have their own tests.
    RATE_LIMIT_DEVICE_PER_MINUTE: '1000000',
    RATE_LIMIT_MARKETING_PER_MINUTE: '1000000',
    RATE_LIMIT_PARTNER_PER_MINUTE: '1000000',
    RATE_LIMIT_OPS_PER_MINUTE: '1000000',
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000',
    ...env,
    HOST: '127.0.0.1',
    PORT: '0',
  });
  const app = await createApp(config);
  await app.listen({ host: config.http.host, port: 0 });
  const url = await app.getUrl();
  return {
    app,
    url,
    gql: async (query, options = {}) => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        },
        body: JSON.stringify({ query, variables: options.variables }),
      });
      const body = (await response.json()) as { data?: never; errors?: never };
      return { status: response.status, headers: response.headers, data: body.data, errors: body.errors };
    },
    close: () => app.close(),
  };
};

/** Polls `check` until it returns true or the deadline passes. */
export const waitFor = async (
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
  what = 'condition',
) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};
