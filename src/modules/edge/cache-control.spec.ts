import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { buildSchema, getOperationAST, parse } from 'graphql';
import { describe, expect, it } from 'vitest';

import { cacheControlFor, PRIVATE_NO_STORE, PUBLIC_ROOT_FIELDS, rootFieldNames } from './cache-control.js';

const lifetimes = { maxAgeSeconds: 60, sharedMaxAgeSeconds: 300 };
const PUBLIC = 'public, max-age=60, s-maxage=300';

const decide = (query: string, method = 'GET', failed = false) => {
  const document = parse(query);
  return cacheControlFor(
    { method, document, operation: getOperationAST(document) ?? undefined, failed },
    lifetimes,
  );
};

const queryFields = Object.keys(
  buildSchema(readFileSync(new URL('../../../schema.gql', import.meta.url), 'utf8'))
    .getQueryType()!
    .getFields(),
);

describe(cacheControlFor.name, () => {
  it('lets shared caches keep catalogue queries fetched with GET', () => {
    expect(decide('{ title(id: "s1") { id name } }')).toBe(PUBLIC);
    expect(
      decide('query Q($g: String) { browse(genre: $g) { totalCount } genres search(text: "x") { id } }'),
    ).toBe(PUBLIC);
    expect(decide('{ titles(ids: ["s1"]) { id } __typename }')).toBe(PUBLIC);
    const document = parse('{ genres }');
    expect(
      cacheControlFor(
        { method: 'GET', document, operation: getOperationAST(document)!, failed: false },
        { maxAgeSeconds: 5, sharedMaxAgeSeconds: 0 },
      ),
    ).toBe('public, max-age=5, s-maxage=0');
  });

  it('keeps everything else private and unstored', () => {
    expect(decide('{ genres }', 'POST')).toBe(PRIVATE_NO_STORE);
    expect(decide('{ genres }', 'GET', true)).toBe(PRIVATE_NO_STORE);
    expect(decide('{ popular(device: TV) { titles { id } } }')).toBe(PRIVATE_NO_STORE);
    expect(decide('{ genres home(profileId: "p", device: TV) { profileId } }')).toBe(PRIVATE_NO_STORE);
    expect(decide('{ goldDatasets { name } }')).toBe(PRIVATE_NO_STORE);
    expect(decide('{ __schema { types { name } } }')).toBe(PRIVATE_NO_STORE);
    expect(decide('mutation { recordPlaybackProgress(input: {}) { positionSeconds } }')).toBe(
      PRIVATE_NO_STORE,
    );
    expect(
      cacheControlFor({ method: 'GET', document: undefined, operation: undefined, failed: true }, lifetimes),
    ).toBe(PRIVATE_NO_STORE);
  });

  it('sees root fields hidden in inline and named fragments', () => {
    expect(
      decide(
        '{ genres ... on Query { ...Personal } } fragment Personal on Query { popular(device: TV) { titles { id } } }',
      ),
    ).toBe(PRIVATE_NO_STORE);
    expect(decide('{ ...Catalogue } fragment Catalogue on Query { ... { genres } }')).toBe(PUBLIC);
  });

  it('names only fields the schema has, so a renamed query cannot stay public by accident', () => {
    for (const name of PUBLIC_ROOT_FIELDS) if (name !== '__typename') expect(queryFields).toContain(name);
    expect(queryFields.filter((name) => PUBLIC_ROOT_FIELDS.has(name)).sort()).toEqual([
      'browse',
      'genres',
      'search',
      'title',
      'titles',
    ]);
  });
});

describe(rootFieldNames.name, () => {
  /** A selection of root fields, split at random over inline fragments and named fragments. */
  const selection = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.record({ kind: fc.constant('field' as const), name: fc.constantFrom(...queryFields) }),
      fc.record({
        kind: fc.constant('inline' as const),
        children: fc.array(tie('node'), { minLength: 1, maxLength: 3 }),
      }),
      fc.record({
        kind: fc.constant('named' as const),
        children: fc.array(tie('node'), { minLength: 1, maxLength: 3 }),
      }),
    ),
  })).node as fc.Arbitrary<Node>;
  type Node = { kind: 'field'; name: string } | { kind: 'inline' | 'named'; children: Node[] };

  const render = (nodes: Node[]) => {
    const fragments: string[] = [];
    const names = new Set<string>();
    const walk = (node: Node): string => {
      if (node.kind === 'field') {
        names.add(node.name);
        return node.name;
      }
      const body = node.children.map(walk).join(' ');
      if (node.kind === 'inline') return `... { ${body} }`;
      fragments.push(`fragment F${fragments.length} on Query { ${body} }`);
      return `...F${fragments.length - 1}`;
    };
    const operation = `{ ${nodes.map(walk).join(' ')} }`;
    return { source: [operation, ...fragments].join('\n'), names };
  };

  it('finds every root field however the selection is split over fragments', () => {
    fc.assert(
      fc.property(fc.array(selection, { minLength: 1, maxLength: 4 }), (nodes) => {
        const { source, names } = render(nodes);
        const document = parse(source);
        expect(rootFieldNames(document, getOperationAST(document)!)).toEqual(names);
      }),
    );
  });
});
