import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import { createRequire } from 'node:module';

/**
 * Makes `@vercel/cosmosdb-server` scope queries to the logical partition named by the request, like
 * Cosmos DB does. The library's query handler ignores `x-ms-documentdb-partitionkey` and runs the
 * SQL over every document of the container, so a single-partition query could see other partitions'
 * documents, and paging a large partition cost a scan (quadratic, see {@link withLinearReduce}) of
 * the whole container per page. Patched from here because node_modules is not ours to edit.
 *
 * Four parts, all confined to document containers (`Documents`; collections, databases, UDFs and
 * partition key ranges, the other `Items` subclasses, keep the library's methods):
 * - the server runs each request inside {@link AsyncLocalStorage} holding its headers
 *   ({@link scopeRequestsToPartitions}), so the query code can see them;
 * - each container keeps its documents grouped by partition key value, maintained in `_set` and
 *   `delete`, the only two methods that change its documents (create, upsert, replace, patch, bulk
 *   all go through them); a single-partition query hands only that group to the library's own
 *   `query` method;
 * - the arrays that method hands to the compiled query get a linear `reduce` ({@link withLinearReduce});
 * - query-plan requests (sent by the SDK, without partition key, next to every query page, and only
 *   used by pipelined execution that this single-range server never needs) run over no documents,
 *   instead of over the whole container.
 */

/** Marks the patched prototype (Symbol.for: shared even if this module is loaded twice). */
const PATCHED = Symbol.for('flick.embedded-cosmos.partition-scoped-queries');

/** What the library's `Items` (lib/account/items.js) stores per document: `{ read(): document }`. */
interface StoredItem {
  read(): StoredDocument | undefined;
}

type StoredDocument = Record<string, unknown> & { _rid: string };

interface CompiledQuery {
  exec(documents: unknown[], options: unknown): unknown;
}

/** The parts of the library's `Documents` (lib/account/documents.js, extends `Items`) used here. */
interface DocumentsInstance {
  _parent: { read(): { partitionKey?: { paths?: unknown } } | undefined };
  _data: Map<string, StoredItem>;
  _item(keyPath: string, idOrRid: unknown, partition: unknown): StoredItem;
  _getQuery(sql: string): CompiledQuery;
  _getPartition(data: StoredDocument): unknown;
}

type QueryMethod = (this: DocumentsInstance, params: unknown, options: unknown) => unknown;
type SetMethod = (this: DocumentsInstance, data: StoredDocument) => unknown;
type DeleteMethod = (this: DocumentsInstance, idOrRid: unknown, partition: unknown) => unknown;

interface DocumentsPrototype {
  query: QueryMethod;
  _set: SetMethod;
  delete: DeleteMethod;
  [PATCHED]?: AsyncLocalStorage<IncomingHttpHeaders>;
}

const PARTITION_KEY_HEADER = 'x-ms-documentdb-partitionkey';
const QUERY_PLAN_HEADER = 'x-ms-cosmos-is-query-plan-request';

const headerValue = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * The grouping key of a partition key value; values of different types never share a key (`1` and
 * `"1"`, `null` and a missing value are different partitions). Non-primitive values, which Cosmos DB
 * rejects as partition keys, get a key no request can name.
 */
const partitionKeyOf = (value: unknown): string => {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return `${typeof value}:${String(value)}`;
  }
  if (value === undefined || value === null) return String(value);
  return 'unsupported';
};

/**
 * The grouping key of the partition a request names, or undefined to leave the query unscoped: no
 * header, not a one-component JSON array of a primitive (hierarchical keys are not supported by the
 * library anyway), or `[{}]` (PartitionKey.None, which older clients also send when they have no
 * key: left unscoped as before).
 */
const requestedPartition = (headers: IncomingHttpHeaders): string | undefined => {
  const header = headerValue(headers, PARTITION_KEY_HEADER);
  if (header === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(header);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 1) return undefined;
  const [value] = parsed as unknown[];
  return value !== null && typeof value === 'object' ? undefined : partitionKeyOf(value);
};

/** True when the container is partitioned on exactly one path the library really reads. */
const isSinglePathPartitioned = (documents: DocumentsInstance): boolean => {
  const paths = documents._parent.read()?.partitionKey?.paths;
  // The library reads `/_partitionKey` (legacy) as `id`; leave such containers unscoped.
  return Array.isArray(paths) && paths.length === 1 && paths[0] !== '/_partitionKey';
};

/** A container's documents grouped by partition key, each group in the container's order. */
class PartitionIndex {
  private readonly partitions = new Map<string, Map<string, StoredItem>>();
  private readonly partitionOfRid = new Map<string, string>();

  put(rid: string, item: StoredItem, partition: string): void {
    const previous = this.partitionOfRid.get(rid);
    if (previous !== undefined && previous !== partition) this.remove(rid);
    let members = this.partitions.get(partition);
    if (members === undefined) {
      members = new Map();
      this.partitions.set(partition, members);
    }
    members.set(rid, item);
    this.partitionOfRid.set(rid, partition);
  }

  remove(rid: string): void {
    const partition = this.partitionOfRid.get(rid);
    if (partition === undefined) return;
    this.partitionOfRid.delete(rid);
    const members = this.partitions.get(partition);
    members?.delete(rid);
    if (members?.size === 0) this.partitions.delete(partition);
  }

  members(partition: string): Map<string, StoredItem> {
    return this.partitions.get(partition) ?? new Map<string, StoredItem>();
  }
}

const EMPTY_DOCUMENTS = new Map<string, StoredItem>();
const NO_ROWS: readonly unknown[] = Object.freeze([]);

type Reducer = (accumulator: unknown, value: unknown, index: number, array: unknown[]) => unknown;

/**
 * Gives `documents` (an array we own) a linear `reduce` for the compiled query. `@zeit/cosmosdb-query`
 * compiles `FROM` into `$c.reduce(($, c) => cond ? [...$, { c }] : $, [])` or
 * `$c.reduce(($, c) => [...$, ...rows(c)], [])`: copying the accumulator per document makes every
 * query quadratic in the number of documents (seconds for 20,000). Both callbacks only ever return
 * the accumulator or the accumulator followed by rows that do not depend on it, so calling them with
 * an empty accumulator and concatenating what they add yields the same rows in the same order (and
 * the same exception, at the same document, if evaluating one throws). Anything else falls back to
 * the standard `reduce`.
 */
export const withLinearReduce = <T>(documents: T[]): T[] => {
  Object.defineProperty(documents, 'reduce', {
    configurable: true,
    writable: true,
    value: function linearReduce(this: unknown[], callback: Reducer, ...initial: unknown[]): unknown {
      const [first] = initial;
      if (initial.length !== 1 || !Array.isArray(first) || first.length !== 0) {
        return Reflect.apply(Array.prototype.reduce, this, [callback, ...initial]);
      }
      const rows: unknown[] = [];
      for (let index = 0; index < this.length; index += 1) {
        if (!(index in this)) continue;
        const step = callback(NO_ROWS, this[index], index, this);
        if (step === NO_ROWS) continue;
        if (!Array.isArray(step)) return Reflect.apply(Array.prototype.reduce, this, [callback, []]);
        for (const row of step) rows.push(row);
      }
      return rows;
    },
  });
  return documents;
};

/**
 * Patches the library's `Documents` prototype, once per process: every embedded server shares the
 * library's module, and wrapping the methods twice would maintain the index twice. Returns the
 * storage the server must run its requests in ({@link scopeRequestsToPartitions}).
 */
export const installPartitionScopedQueries = (): AsyncLocalStorage<IncomingHttpHeaders> => {
  const require = createRequire(import.meta.url);
  const documentsModule = require('@vercel/cosmosdb-server/lib/account/documents.js') as {
    default: { prototype: DocumentsPrototype };
  };
  const proto = documentsModule.default.prototype;
  const installed = proto[PATCHED];
  if (installed !== undefined) return installed;

  const requests = new AsyncLocalStorage<IncomingHttpHeaders>();
  const indexes = new WeakMap<DocumentsInstance, PartitionIndex>();
  // Inherited from Items; the own properties set below shadow them for Documents only.
  const { query: originalQuery, _set: originalSet, delete: originalDelete } = proto;

  const indexOf = (documents: DocumentsInstance): PartitionIndex => {
    let index = indexes.get(documents);
    if (index === undefined) {
      index = new PartitionIndex();
      for (const [rid, item] of documents._data) {
        const data = item.read();
        if (data !== undefined) index.put(rid, item, partitionKeyOf(documents._getPartition(data)));
      }
      indexes.set(documents, index);
    }
    return index;
  };

  /** The documents a query of the current request may see. */
  const visibleDocuments = (documents: DocumentsInstance): Map<string, StoredItem> => {
    const headers = requests.getStore();
    if (headers === undefined) return documents._data;
    if (headerValue(headers, QUERY_PLAN_HEADER)?.toLowerCase() === 'true') return EMPTY_DOCUMENTS;
    const partition = requestedPartition(headers);
    if (partition === undefined || !isSinglePathPartitioned(documents)) return documents._data;
    return indexOf(documents).members(partition);
  };

  Object.defineProperties(proto, {
    query: {
      configurable: true,
      writable: true,
      value: function query(this: DocumentsInstance, params: unknown, options: unknown): unknown {
        // The library's own method, on a view of this container that differs only in the documents
        // it holds and in the arrays it hands to the compiled query.
        const view = Object.create(this, {
          _data: { value: visibleDocuments(this) },
          _getQuery: {
            value: (sql: string): CompiledQuery => {
              const compiled = this._getQuery(sql);
              return { exec: (rows, execOptions) => compiled.exec(withLinearReduce(rows), execOptions) };
            },
          },
        }) as DocumentsInstance;
        return Reflect.apply(originalQuery, view, [params, options]);
      },
    },
    _set: {
      configurable: true,
      writable: true,
      value: function _set(this: DocumentsInstance, data: StoredDocument): unknown {
        const result = Reflect.apply(originalSet, this, [data]);
        const item = this._data.get(data._rid);
        if (item !== undefined)
          indexes.get(this)?.put(data._rid, item, partitionKeyOf(this._getPartition(data)));
        return result;
      },
    },
    delete: {
      configurable: true,
      writable: true,
      value: function deleteDocument(this: DocumentsInstance, idOrRid: unknown, partition: unknown): unknown {
        const data = this._item('/id', idOrRid, partition).read();
        const result = Reflect.apply(originalDelete, this, [idOrRid, partition]);
        if (data !== undefined && !this._data.has(data._rid)) indexes.get(this)?.remove(data._rid);
        return result;
      },
    },
    [PATCHED]: { value: requests },
  });
  return requests;
};

/**
 * Runs each request of `server` (created by the library, not yet listening) inside the storage of
 * {@link installPartitionScopedQueries}; the library's handler starts its async work inside the
 * 'request' listener, so the headers stay visible through its awaits.
 */
export const scopeRequestsToPartitions = (server: Server): void => {
  const requests = installPartitionScopedQueries();
  const listeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    requests.run(req.headers, () => {
      for (const listener of listeners) Reflect.apply(listener, server, [req, res]);
    });
  });
};
