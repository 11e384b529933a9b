import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';
import { Plugin } from '@nestjs/apollo';
import type { FastifyRequest } from 'fastify';
import { Kind, OperationTypeNode, type OperationDefinitionNode } from 'graphql';

import { principalIfAuthenticated } from '../modules/auth/request-principal.js';
import { TokenVerifier } from '../modules/auth/token-verifier.js';
import { ResponseCache, type ResponseCachePolicy } from '../modules/cache/response-cache.js';
import { utcDay } from './catalog-title.js';
import { CatalogService } from './catalog.service.js';

interface RequestContext extends BaseContext {
  req?: FastifyRequest;
}

/** Root fields answered from the catalogue snapshot alone (see catalog.resolver.ts). */
const CATALOG_FIELDS: ReadonlySet<string> = new Set(['title', 'titles', 'browse', 'search', 'genres']);

/**
 * Repeated identical catalogue queries (title pages, browse pages, searches) get the bytes of the
 * last answer without executing the query (see {@link ResponseCache}). A catalogue answer depends on
 * the query, its variables, the active catalogue snapshot and the UTC day (licence windows), never
 * on who asks, so those make the key; any valid token may read it (every role may read the
 * catalogue). Answers with errors are not kept; an operation mixing catalogue fields with others is
 * always executed.
 */
@Plugin()
export class CatalogResponseCachePlugin implements ApolloServerPlugin<RequestContext> {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly catalog: CatalogService,
    private readonly responses: ResponseCache,
  ) {}

  private readonly policy: ResponseCachePolicy<RequestContext> = {
    kind: 'catalog',
    keyOf: async (request) => {
      const httpRequest = request.contextValue.req;
      if (
        !onlyCatalogFields(request.operation) ||
        request.queryHash === undefined ||
        httpRequest === undefined ||
        !this.catalog.isReady() ||
        (await principalIfAuthenticated(httpRequest, this.verifier)) === undefined
      ) {
        return undefined;
      }
      // Pins the snapshot for the rest of the request, so a miss is executed on the keyed one.
      const snapshotId = this.catalog.current(request.contextValue).snapshotId;
      return JSON.stringify([
        'catalog',
        request.queryHash,
        request.operationName ?? null,
        request.request.variables ?? null,
        snapshotId,
        utcDay(),
      ]);
    },
  };

  requestDidStart(): Promise<GraphQLRequestListener<RequestContext> | void> {
    return Promise.resolve(this.responses.listener(this.policy));
  }
}

const onlyCatalogFields = (operation: OperationDefinitionNode | undefined): boolean =>
  operation?.operation === OperationTypeNode.QUERY &&
  operation.selectionSet.selections.every(
    (selection) => selection.kind === Kind.FIELD && CATALOG_FIELDS.has(selection.name.value),
  );
