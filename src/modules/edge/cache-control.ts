import {
  Kind,
  OperationTypeNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

import type { EdgeConfig } from '../config/app-config.js';

/**
 * Root Query fields whose answers are the same for every caller: the catalogue (titles, artwork,
 * genres) is public data, so a shared cache may keep them and hand them to anyone. A field belongs
 * here only if nothing in its answer, down to the last nested field (a field resolver added to
 * `Title` included), depends on the token.
 */
export const PUBLIC_ROOT_FIELDS: ReadonlySet<string> = new Set([
  'title',
  'titles',
  'browse',
  'search',
  'genres',
  '__typename',
]);

/** Everything that is not a public catalogue read: neither Front Door nor the device keeps it. */
export const PRIVATE_NO_STORE = 'private, no-store';

/** What the Cache-Control of a GraphQL response is decided from. */
export interface GraphQLResponseFacts {
  /** HTTP method of the request. */
  method: string | undefined;
  document: DocumentNode | undefined;
  /** The operation that ran; undefined when the request failed before one was chosen. */
  operation: OperationDefinitionNode | undefined;
  /** Whether the response carries any error (or the request never got to execute). */
  failed: boolean;
}

/** Names of the root fields an operation selects, through inline fragments and named fragments. */
export const rootFieldNames = (document: DocumentNode, operation: OperationDefinitionNode): Set<string> => {
  const fragments = new Map(
    document.definitions
      .filter(
        (definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION,
      )
      .map((fragment) => [fragment.name.value, fragment]),
  );
  const names = new Set<string>();
  const visited = new Set<string>();
  const collect = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      switch (selection.kind) {
        case Kind.FIELD:
          names.add(selection.name.value);
          break;
        case Kind.INLINE_FRAGMENT:
          collect(selection.selectionSet);
          break;
        case Kind.FRAGMENT_SPREAD: {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (fragment === undefined || visited.has(name)) break;
          visited.add(name);
          collect(fragment.selectionSet);
          break;
        }
      }
    }
  };
  collect(operation.selectionSet);
  return names;
};

/**
 * Cache-Control of a GraphQL response, decided once per operation from its root fields (per-field
 * accounting, Apollo's cache-control plugin, costs too much on big pages). Only a successful query
 * fetched with GET whose root fields are all public catalogue reads may be cached, by devices for
 * `maxAgeSeconds` and by Front Door for `sharedMaxAgeSeconds`; everything else is `private, no-store`.
 */
export const cacheControlFor = (
  { method, document, operation, failed }: GraphQLResponseFacts,
  lifetimes: EdgeConfig['catalogCache'],
): string => {
  if (method !== 'GET' || failed || document === undefined || operation === undefined)
    return PRIVATE_NO_STORE;
  if (operation.operation !== OperationTypeNode.QUERY) return PRIVATE_NO_STORE;
  for (const name of rootFieldNames(document, operation)) {
    if (!PUBLIC_ROOT_FIELDS.has(name)) return PRIVATE_NO_STORE;
  }
  return `public, max-age=${lifetimes.maxAgeSeconds}, s-maxage=${lifetimes.sharedMaxAgeSeconds}`;
};
