import { Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext, type GqlContextType } from '@nestjs/graphql';
import type { FastifyRequest } from 'fastify';
import type { GraphQLResolveInfo } from 'graphql';

import { forbidden, UndeclaredRolesError, unauthenticated } from './auth.errors.js';
import { bearerTokenOrThrow } from './bearer-token.js';
import { authenticateOnce } from './request-principal.js';
import { ROLES_KEY, type Role } from './roles.decorator.js';
import { TokenVerifier } from './token-verifier.js';

/** What the Apollo driver puts in the GraphQL context: it always adds the Fastify request as `req`. */
export interface GraphQLRequestContext {
  req?: FastifyRequest;
}

/**
 * Guards every root field (Query, Mutation, Subscription): verifies the bearer token once per
 * request and checks the roles declared with `@Roles()`/`@AnyRole()`. A root field without a
 * declaration is refused, so nothing is open by accident. Plain HTTP routes (health) pass.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger(AuthGuard.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: TokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const type = context.getType<GqlContextType>();
    if (type === 'http') return true;
    if (type !== 'graphql') throw new Error(`${AuthGuard.name} does not know how to guard a ${type} handler`);

    const gql = GqlExecutionContext.create(context);
    const info = gql.getInfo<GraphQLResolveInfo>();
    // Field resolvers run inside an operation whose root field was checked (and only get guards
    // at all when `fieldResolverEnhancers` includes 'guards').
    if (!isRootField(info)) return true;

    const allowed = this.reflector.getAllAndOverride<readonly Role[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (allowed === undefined) {
      throw new UndeclaredRolesError(`${info.parentType.name}.${info.fieldName}`, context.getClass().name);
    }

    const request = gql.getContext<GraphQLRequestContext>().req;
    if (request === undefined) throw unauthenticated('Authentication required.');
    const principal = await authenticateOnce(request, () =>
      this.verifier.verifyOrThrow(bearerTokenOrThrow(request.headers)),
    );

    if (!principal.roles.some((role) => allowed.includes(role))) {
      this.logger.debug(
        `refused ${info.parentType.name}.${info.fieldName} to roles ${principal.roles.join(',')}`,
      );
      throw forbidden(`${info.fieldName} requires one of the roles: ${allowed.join(', ')}.`);
    }
    return true;
  }
}

/**
 * A field of a root operation type, wherever it appears: a Query field reached through a nested
 * field that returns `Query` is checked too, so nesting cannot widen access.
 */
const isRootField = (info: GraphQLResolveInfo): boolean => {
  const { schema, parentType } = info;
  return (
    parentType === schema.getQueryType() ||
    parentType === schema.getMutationType() ||
    parentType === schema.getSubscriptionType()
  );
};
