import type {
  ApolloServerPlugin,
  BaseContext,
  GraphQLRequestContextResponseForOperation,
  GraphQLRequestListener,
} from '@apollo/server';
import { Plugin } from '@nestjs/apollo';
import { Inject } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import {
  BREAK,
  getArgumentValues,
  Kind,
  OperationTypeNode,
  visit,
  type DocumentNode,
  type FieldNode,
  type OperationDefinitionNode,
} from 'graphql';
import { LRUCache } from 'lru-cache';

import { CatalogService } from '../catalog/catalog.service.js';
import { utcDay } from '../catalog/catalog-title.js';
import { DatasetFreshness, readFreshness } from '../gold/freshness.js';
import { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { principalIfAuthenticated } from '../modules/auth/request-principal.js';
import { TokenVerifier } from '../modules/auth/token-verifier.js';
import { PlaybackProgressStore, type ProgressEntry } from '../modules/cache/playback-progress.store.js';
import { ResponseCache, type ResponseCachePolicy } from '../modules/cache/response-cache.js';
import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';
import { Counters } from '../modules/telemetry/counters.service.js';
import { rememberProgress, servedHome } from './home-request-state.js';
import { ContentSource } from './models/response-meta.model.js';

interface RequestContext extends BaseContext {
  req?: FastifyRequest;
}

/** Fields whose value changes while every input of the key stays the same: never cached. */
const TIME_DEPENDENT_FIELDS = new Set(['dataAgeSeconds']);
/** Queries whose verdict (cacheable or not) is remembered. */
const DOCUMENT_VERDICTS = 1000;

/**
 * Repeated identical home requests get the bytes of the last answer without executing the query
 * (see {@link ResponseCache}).
 *
 * A device asks for the same page again and again (app start, back navigation) while nothing it
 * depends on changes. The answer is a function of the query and its variables, the account's
 * country, the active catalogue, profiles and popular snapshots, the UTC day (licence windows) and
 * the profile's playback progress (read from Redis for every request anyway, and handed to the
 * page), so those make the key. Only answers served fresh and personal (meta.degraded false, no
 * errors) are kept; a query selecting a time-dependent field (`dataAgeSeconds`) is always executed.
 *
 * The token is verified and the role checked here as the auth guard does (it shares the
 * verification); when anything is missing or refused the request is executed normally and gets the
 * resolver's answer or error.
 */
@Plugin()
export class HomeResponseCachePlugin implements ApolloServerPlugin<RequestContext> {
  private readonly documents = new LRUCache<string, boolean>({ max: DOCUMENT_VERDICTS });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly verifier: TokenVerifier,
    private readonly snapshots: SnapshotRegistry,
    private readonly catalog: CatalogService,
    private readonly progress: PlaybackProgressStore,
    private readonly responses: ResponseCache,
    private readonly counters: Counters,
  ) {}

  private readonly policy: ResponseCachePolicy<RequestContext> = {
    kind: 'home',
    keyOf: (request) => this.keyOf(request),
    // Only pages served fresh and personal.
    keeps: (context) => servedHome(context)?.degraded === false,
    onHit: () =>
      this.counters.increment('device_responses_total', {
        operation: 'home',
        source: ContentSource.PERSONALIZED,
      }),
  };

  requestDidStart(): Promise<GraphQLRequestListener<RequestContext> | void> {
    return Promise.resolve(this.responses.listener(this.policy));
  }

  /** The cache key of a home request that may be answered from the cache, else undefined. */
  private async keyOf(request: GraphQLRequestContextResponseForOperation<RequestContext>) {
    const { operation, document, queryHash, schema } = request;
    const field = soleHomeField(operation);
    const httpRequest = request.contextValue.req;
    if (
      field === undefined ||
      httpRequest === undefined ||
      queryHash === undefined ||
      !this.cacheable(queryHash, document)
    ) {
      return undefined;
    }
    const principal = await principalIfAuthenticated(httpRequest, this.verifier);
    if (principal === undefined || !principal.roles.includes('device')) return undefined;

    const definition = schema.getQueryType()?.getFields()['home'];
    if (definition === undefined) return undefined;
    let profileId: unknown;
    try {
      ({ profileId } = getArgumentValues(definition, field, request.request.variables));
    } catch {
      return undefined; // bad arguments: execution reports them
    }
    if (typeof profileId !== 'string' || principal.profileIds?.includes(profileId) !== true) return undefined;
    const country = principal.country;
    if (country === undefined || !this.catalog.isReady()) return undefined;

    const profiles = this.freshSnapshot('profiles');
    const popular = this.freshSnapshot('popular');
    if (profiles === undefined || popular === undefined) return undefined;
    let progress: ProgressEntry[];
    try {
      progress = await this.progress.list(profileId);
    } catch {
      return undefined; // Redis unavailable: the page says so
    }
    rememberProgress(request.contextValue, profileId, progress);
    // Pins the catalogue snapshot for the rest of the request, so a miss is built on the keyed one.
    const catalogId = this.catalog.current(request.contextValue).snapshotId;
    return JSON.stringify([
      queryHash,
      request.operationName ?? null,
      request.request.variables ?? null,
      country,
      catalogId,
      profiles,
      popular,
      utcDay(),
      progress,
    ]);
  }

  /** The active snapshot of a dataset while it is within its freshness objective. */
  private freshSnapshot(dataset: 'profiles' | 'popular'): string | undefined {
    const active = this.snapshots.get(dataset);
    if (active === undefined) return undefined;
    const { status } = readFreshness(active.completedAt, this.config.freshness[dataset]);
    return status === DatasetFreshness.FRESH ? active.snapshotId : undefined;
  }

  private cacheable(queryHash: string, document: DocumentNode): boolean {
    let verdict = this.documents.get(queryHash);
    if (verdict === undefined) {
      verdict = !selectsAny(document, TIME_DEPENDENT_FIELDS);
      this.documents.set(queryHash, verdict);
    }
    return verdict;
  }
}

/** The operation's only selection when it is a `home` field of a query, else undefined. */
const soleHomeField = (operation: OperationDefinitionNode | undefined): FieldNode | undefined => {
  if (operation?.operation !== OperationTypeNode.QUERY) return undefined;
  const [selection, ...others] = operation.selectionSet.selections;
  if (others.length > 0 || selection?.kind !== Kind.FIELD || selection.name.value !== 'home')
    return undefined;
  return selection;
};

const selectsAny = (document: DocumentNode, names: ReadonlySet<string>): boolean => {
  let found = false;
  visit(document, {
    Field(node) {
      if (!names.has(node.name.value)) return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
};
