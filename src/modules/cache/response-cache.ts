import type {
  BaseContext,
  GraphQLRequestContextResponseForOperation,
  GraphQLRequestListener,
  GraphQLResponse,
  HTTPGraphQLHead,
} from '@apollo/server';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { onDataSerialized, prebuiltData } from '../graphql/result-json.js';
import { Counters } from '../telemetry/counters.service.js';

/**
 * Answers of repeated identical GraphQL requests, as the JSON of their `data`, in process.
 *
 * Executing a query costs far more than the answer's inputs do to check: the features' Apollo
 * plugins key an operation by everything its answer depends on (query, variables, snapshots, day,
 * ...) and answer from here without executing it. Bounded by `RESPONSE_CACHE_MAX_MB` (JSON
 * characters), least recently used out first; counted as `response_cache_total{kind, result}`.
 */
/** What a feature's Apollo plugin tells the cache about its operations. */
export interface ResponseCachePolicy<C extends BaseContext> {
  /** The `kind` label of the counts (`home`, `catalog`). */
  kind: string;
  /** The key of a request that may be answered from the cache, or undefined to execute it. */
  keyOf(request: GraphQLRequestContextResponseForOperation<C>): Promise<string | undefined>;
  /** Whether an executed answer without errors may be kept (default: yes). */
  keeps?(context: C): boolean;
  /** Called for every answer served from the cache. */
  onHit?(): void;
}

@Injectable()
export class ResponseCache {
  private readonly logger = new Logger(ResponseCache.name);
  private readonly entries: LRUCache<string, string> | undefined;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly counters: Counters,
  ) {
    const maxSize = config.cache.responseMaxBytes;
    this.entries =
      maxSize === 0
        ? undefined
        : new LRUCache<string, string>({ maxSize, sizeCalculation: (json) => Math.max(1, json.length) });
  }

  get enabled(): boolean {
    return this.entries !== undefined;
  }

  /**
   * The request listener a feature's plugin returns from `requestDidStart`: answers from the cache
   * when `policy` gives a key it holds, else lets the request execute and keeps its answer (no
   * errors, and `policy.keeps`) under that key once sent. Undefined while the cache is off.
   */
  listener<C extends BaseContext>(policy: ResponseCachePolicy<C>): GraphQLRequestListener<C> | undefined {
    if (this.entries === undefined) return undefined;
    let missedKey: string | undefined;
    return {
      responseForOperation: async (request) => {
        const key = await policy.keyOf(request).catch((error: unknown) => {
          this.logger.warn(`${policy.kind} response cache skipped: ${(error as Error).message}`);
          return undefined;
        });
        if (key === undefined) return null;
        const answer = this.answer(policy.kind, key, request.response.http);
        if (answer === null) missedKey = key;
        else policy.onHit?.();
        return answer;
      },
      willSendResponse: ({ response, contextValue }) => {
        if (missedKey === undefined || response.body.kind !== 'single') return Promise.resolve();
        const { data, errors } = response.body.singleResult;
        if (data != null && errors === undefined && (policy.keeps?.(contextValue) ?? true)) {
          this.keepWhenSent(missedKey, data);
        }
        return Promise.resolve();
      },
    };
  }

  /** The answer kept under `key`, as Apollo's response to send, or null (a miss) to execute. */
  private answer(kind: string, key: string, http: HTTPGraphQLHead): GraphQLResponse | null {
    const json = this.entries?.get(key);
    this.counters.increment('response_cache_total', { kind, result: json === undefined ? 'miss' : 'hit' });
    if (json === undefined) return null;
    return { http, body: { kind: 'single', singleResult: { data: prebuiltData(json) } } };
  }

  /** Keeps the JSON of `data` under `key` once the answer holding it is sent. */
  private keepWhenSent(key: string, data: object): void {
    const entries = this.entries;
    if (entries !== undefined) onDataSerialized(data, (json) => entries.set(key, json));
  }
}
