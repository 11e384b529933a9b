import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { bearerTokenOrThrow } from '../auth/bearer-token.js';
import type { Principal } from '../auth/principal.js';
import { authenticateOnce } from '../auth/request-principal.js';
import { TokenVerifier } from '../auth/token-verifier.js';
import { RateLimiter, type RateLimitVerdict } from '../cache/rate-limiter.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { clientAddressOf } from '../edge/client-address.js';
import { GRAPHQL_PATH } from '../graphql/graphql-setup.module.js';
import { Counters } from '../telemetry/counters.service.js';
import { rateBudgetOf } from './rate-limit.policy.js';

/** The `extensions.code` of a request refused for going over its budget. */
export const RATE_LIMITED = 'RATE_LIMITED';

/**
 * Counts every GraphQL request against its principal's budget (see {@link rateBudgetOf}) and
 * answers 429 with Retry-After once it is spent.
 *
 * It runs as a Fastify `onRequest` hook, before the body is read: a refusal costs no parsing and
 * is a real HTTP 429, which a guard or resolver could not give (GraphQL answers their errors with
 * 200). The principal is not known that early, so the hook verifies the bearer token itself;
 * `authenticateOnce` shares that verification, refusal included, with the auth guard, which still
 * decides what the request may do. A request whose token does not verify is counted by address.
 */
@Injectable()
export class RateLimitHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly verifier: TokenVerifier,
    private readonly limiter: RateLimiter,
    private readonly counters: Counters,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply) => this.onRequest(request, reply));
  }

  /** Resolves to the reply when it has answered 429, which ends the request there. */
  async onRequest(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    // CORS preflights carry no token and do no work.
    if (request.routeOptions.url !== GRAPHQL_PATH || request.method === 'OPTIONS') return undefined;
    const principal = await this.principalOf(request);
    const budget = rateBudgetOf(principal, clientAddressOf(request), this.config.limits.rateLimits);
    const verdict = await this.limiter.hit(budget.id, budget.limit, this.config.limits.rateLimits.windowMs);
    if (verdict.allowed) return undefined;
    this.counters.increment('rate_limit_rejections_total', { role: budget.client });
    return refuse(reply, verdict);
  }

  /** The verified principal, or undefined without a token or with one that does not verify. */
  private principalOf(request: FastifyRequest): Promise<Principal | undefined> {
    if (request.headers.authorization === undefined) return Promise.resolve(undefined);
    return authenticateOnce(request, async () =>
      this.verifier.verifyOrThrow(bearerTokenOrThrow(request.headers)),
    ).catch(() => undefined);
  }
}

const refuse = (reply: FastifyReply, verdict: RateLimitVerdict): FastifyReply => {
  const retryAfterSeconds = Math.max(1, Math.ceil(verdict.resetInMs / 1000));
  return reply
    .code(429)
    .header('retry-after', String(retryAfterSeconds))
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({
      errors: [
        {
          message: `Too many requests: try again in ${retryAfterSeconds} s.`,
          extensions: { code: RATE_LIMITED, retryAfterSeconds },
        },
      ],
    });
};
