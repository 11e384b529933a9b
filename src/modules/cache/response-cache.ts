import type { GraphQLResponse, HTTPGraphQLHead } from '@apollo/server';
import { Inject, Injectable } from '@nestjs/common';
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
@Injectable()
export class ResponseCache {
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

  /** The answer kept under `key`, as Apollo's response to send, or null (a miss) to execute. */
  answer(kind: string, key: string, http: HTTPGraphQLHead): GraphQLResponse | null {
    const json = this.entries?.get(key);
    this.counters.increment('response_cache_total', { kind, result: json === undefined ? 'miss' : 'hit' });
    if (json === undefined) return null;
    return { http, body: { kind: 'single', singleResult: { data: prebuiltData(json) } } };
  }

  /** Keeps the JSON of `data` under `key` once the answer holding it is sent. */
  keepWhenSent(key: string, data: object): void {
    const entries = this.entries;
    if (entries !== undefined) onDataSerialized(data, (json) => entries.set(key, json));
  }
}
