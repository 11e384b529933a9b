import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext, type GqlContextType } from '@nestjs/graphql';
import type { FastifyRequest } from 'fastify';

import type { GraphQLRequestContext } from './auth.guard.js';
import type { Principal } from './principal.js';
import { principalOfRequest } from './request-principal.js';

const requestOf = (context: ExecutionContext): object | undefined =>
  context.getType<GqlContextType>() === 'graphql'
    ? GqlExecutionContext.create(context).getContext<GraphQLRequestContext>().req
    : context.switchToHttp().getRequest<FastifyRequest>();

/**
 * The verified {@link Principal} of the request, in resolvers (field resolvers included) behind the
 * auth guard. Its absence is a defect (the guard did not run), not a client error.
 */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const request = requestOf(context);
    const principal = request === undefined ? undefined : principalOfRequest(request);
    if (principal === undefined) throw new Error('@CurrentPrincipal() used where the auth guard has not run');
    return principal;
  },
);
