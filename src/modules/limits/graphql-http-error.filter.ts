import { Catch, HttpException, Inject, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { GRAPHQL_PATH } from '../graphql/graphql-setup.module.js';

/** The `extensions.code` of an HTTP refusal; 4xx statuses not listed here are BAD_REQUEST. */
const codeOfStatus: Readonly<Record<number, string>> = {
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/**
 * Refusals the HTTP server makes on the GraphQL endpoint before Apollo sees the request (a body
 * over the limit, a body that is not JSON, a content type it cannot read) answered the way
 * GraphQL clients read errors: `{ errors: [{ message, extensions: { code } }] }`, with the same
 * status. Other routes keep Nest's answer; errors inside GraphQL operations never come here.
 */
@Catch(HttpException)
export class GraphQLHttpErrorFilter extends BaseExceptionFilter {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    super();
  }

  override catch(exception: HttpException, host: ArgumentsHost): void {
    // Inside an operation Apollo turns the exception into a GraphQL error itself.
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    if (request.routeOptions.url !== GRAPHQL_PATH) {
      super.catch(exception, host);
      return;
    }
    const status = exception.getStatus();
    const clientError = status >= 400 && status < 500;
    const message =
      status === 413
        ? `The request body is larger than the ${this.config.limits.bodyLimitBytes} bytes this endpoint accepts.`
        : clientError
          ? exception.message
          : 'Internal server error';
    void http
      .getResponse<FastifyReply>()
      .code(status)
      .header('cache-control', 'no-store')
      .type('application/json; charset=utf-8')
      .send({
        errors: [
          {
            message,
            extensions: {
              code: clientError ? (codeOfStatus[status] ?? 'BAD_REQUEST') : 'INTERNAL_SERVER_ERROR',
            },
          },
        ],
      });
  }
}
