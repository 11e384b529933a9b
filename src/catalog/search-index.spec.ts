import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { foldText, indexTokens, queryTokens, SearchIndex, type SearchDocument } from './search-index.js';

const doc = (name: string, cast: string[] = [], directors: string[] = []): SearchDocument => ({
  name,
  cast,
  directors,
});

const namesOf = (documents: readonly SearchDocument[], ordinals: number[]): string[] =>
  ordinals.map((ordinal) => (documents[ordinal] as SearchDocument).name);

// Letters with and without accents (precomposed), in both cases, plus "ß" and digits.
const letters = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéÉèüÜöñÑçÇåÅøØßğİı0123456789'];
const wordArb = fc
  .array(fc.constantFrom(...letters), { minLength: 1, maxLength: 8 })
  .map((chars) => chars.join(''));
const separatorArb = fc.constantFrom(' ', ' ', ', ', ': ', ' - ', ' & ', '. ', '/');
const textArb = fc
  .tuple(wordArb, fc.array(fc.tuple(separatorArb, wordArb), { maxLength: 5 }))
  .map(([head, rest]) => head + rest.map(([separator, word]) => separator + word).join(''));
const documentArb = fc.record({
  name: textArb,
  cast: fc.array(textArb, { maxLength: 4 }),
  directors: fc.array(textArb, { maxLength: 2 }),
});
const corpusArb = fc.array(documentArb, { minLength: 1, maxLength: 30 });

const wordsOfText = (text: string): string[] => text.split(/[^\p{L}\p{N}]+/u).filter((word) => word !== '');

/** Any mix of upper and lower case, character by character. */
const recase = (word: string, upper: boolean[]): string =>
  [...word]
    .map((char, i) => (upper[i % upper.length] === true ? char.toUpperCase() : char.toLowerCase()))
    .join('');

const stripAccents = (word: string): string => word.normalize('NFD').replace(/\p{Mn}/gu, '');

/** The query semantics, written out naively: every token matches, the last one as a prefix. */
const matchesEveryToken = (document: SearchDocument, query: string): boolean => {
  const tokens = new Set(
    [document.name, ...document.cast, ...document.directors].flatMap((text) => indexTokens(text).flat()),
  );
  const terms = queryTokens(query);
  return (
    terms.length > 0 &&
    terms.every((term, i) =>
      i === terms.length - 1 ? [...tokens].some((token) => token.startsWith(term)) : tokens.has(term),
    )
  );
};

const nameMatchesEveryToken = (document: SearchDocument, query: string): boolean =>
  matchesEveryToken({ name: document.name, cast: [], directors: [] }, query);

describe(SearchIndex.name, () => {
  describe('text folding', () => {
    it.each([
      ['Amélie', 'amelie'],
      ['AMÉLIE', 'amelie'],
      ['Straße', 'strasse'],
      ['Düğün', 'dugun'],
      ['İstanbul', 'istanbul'],
      ['ﬁlm', 'film'],
    ])('folds %s to %s', (text, folded) => {
      expect(foldText(text)).toBe(folded);
    });

    it('splits on anything but letters and digits, joining apostrophes and keeping their parts', () => {
      expect(indexTokens("Schindler's List: Part 2")).toEqual([
        ['schindlers', 'schindler', 's'],
        ['list'],
        ['part'],
        ['2'],
      ]);
      expect(queryTokens("  schindler's   LIST!! list ")).toEqual(['schindlers', 'list']);
      expect(queryTokens(' --- ')).toEqual([]);
    });
  });

  describe('matching', () => {
    const documents = [
      doc('Amélie'),
      doc("Schindler's List", ['Liam Neeson'], ['Steven Spielberg']),
      doc('Pokémon: Indigo League'),
      doc('Star'),
      doc('Stardust'),
      doc('Blood & Water', ['Ama Qamata']),
    ];
    const index = SearchIndex.build(documents);
    const search = (text: string): string[] => namesOf(documents, index.search(text, 10));

    it.each([['amelie'], ['AMELIE'], ['Amélie'], ['amél'], ['ame']])('finds "Amélie" for %s', (text) => {
      expect(search(text)).toContain('Amélie');
    });

    it.each([["schindler's"], ['schindlers list'], ['schindler list'], ['spielberg'], ['neeson sch']])(
      `finds "Schindler's List" for %s`,
      (text) => {
        expect(search(text)).toEqual(["Schindler's List"]);
      },
    );

    it('matches the last token as a prefix and earlier ones as whole tokens', () => {
      expect(search('pokemon indi')).toEqual(['Pokémon: Indigo League']);
      expect(search('poke indigo')).toEqual([]);
      expect(search('blood wat')).toEqual(['Blood & Water']);
    });

    it('matches nothing for text without letters or digits, or an unknown word', () => {
      expect(search('&&')).toEqual([]);
      expect(search('')).toEqual([]);
      expect(search('zebra')).toEqual([]);
    });

    it('returns at most `first` titles', () => {
      expect(index.search('s', 2)).toHaveLength(2);
      expect(index.search('s', 0)).toEqual([]);
    });
  });

  describe('ranking', () => {
    it('puts an exact token above a prefix, and an earlier, then shorter, name first', () => {
      const documents = [doc('Stardust'), doc('Looking Up'), doc('Up in the Air'), doc('Star'), doc('Up')];
      const index = SearchIndex.build(documents);
      expect(namesOf(documents, index.search('star', 10))).toEqual(['Star', 'Stardust']);
      expect(namesOf(documents, index.search('up', 10))).toEqual(['Up', 'Up in the Air', 'Looking Up']);
    });

    it('puts name matches above director matches above cast matches', () => {
      const documents = [
        doc('Other', ['Nolan North']),
        doc('Another', [], ['Christopher Nolan']),
        doc('Nolan'),
      ];
      const index = SearchIndex.build(documents);
      expect(namesOf(documents, index.search('nolan', 10))).toEqual(['Nolan', 'Another', 'Other']);
    });

    it('puts a whole query matched within one person above words spread over fields', () => {
      const documents = [
        doc('Talking Tom and Friends', ['Colin Hanks']),
        doc('Cloud Atlas', ['Halle Berry', 'Tom Hanks']),
        doc('Tom Hanks: A Life'),
      ];
      const index = SearchIndex.build(documents);
      expect(namesOf(documents, index.search('tom hanks', 10))).toEqual([
        'Tom Hanks: A Life',
        'Cloud Atlas',
        'Talking Tom and Friends',
      ]);
    });

    it('ranks a match in the name above more exact matches elsewhere', () => {
      const documents = [
        doc('Other', [], ['Xavier A', 'Yan B', 'Ze C']),
        doc('Zeta', ['Xavier One', 'Yan Two']),
      ];
      const index = SearchIndex.build(documents);
      expect(namesOf(documents, index.search('xavier yan ze', 10))).toEqual(['Zeta', 'Other']);
    });

    it('breaks remaining ties by document ordinal', () => {
      const documents = [doc('Same Name'), doc('Same Name'), doc('Same Name')];
      expect(SearchIndex.build(documents).search('same', 10)).toEqual([0, 1, 2]);
    });
  });

  describe('properties', () => {
    it('finds a title by any word of its name, or a prefix of it, in any case, with or without accents', () => {
      fc.assert(
        fc.property(
          corpusArb,
          fc.nat(),
          fc.nat(),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
          fc.boolean(),
          fc.integer({ min: 1, max: 8 }),
          (documents, pick, wordPick, upper, withoutAccents, prefixLength) => {
            const ordinal = pick % documents.length;
            const words = wordsOfText((documents[ordinal] as SearchDocument).name);
            const word = words[wordPick % words.length] as string;
            const prefix = [...word].slice(0, prefixLength).join('');
            const query = recase(withoutAccents ? stripAccents(prefix) : prefix, upper);
            expect(SearchIndex.build(documents).search(query, documents.length)).toContain(ordinal);
          },
        ),
      );
    });

    it('returns exactly the titles matching every query token', () => {
      fc.assert(
        fc.property(
          corpusArb,
          fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 8 }), fc.boolean()), {
            minLength: 1,
            maxLength: 3,
          }),
          (documents, picks) => {
            // Query words taken from the corpus (sometimes cut short) so that matches are common.
            const query = picks
              .map(([documentPick, wordPick, length, cut]) => {
                const document = documents[documentPick % documents.length] as SearchDocument;
                const words = wordsOfText([document.name, ...document.cast].join(' '));
                const word = words[wordPick % words.length] as string;
                return cut ? [...word].slice(0, length).join('') : word;
              })
              .join(' ');
            const found = SearchIndex.build(documents).search(query, documents.length);
            const expected = documents.flatMap((document, ordinal) =>
              matchesEveryToken(document, query) ? [ordinal] : [],
            );
            expect([...found].sort((a, b) => a - b)).toEqual(expected);
          },
        ),
      );
    });

    it('ranks every title whose name matches the whole query above titles matched through people', () => {
      fc.assert(
        fc.property(corpusArb, fc.nat(), fc.nat(), (documents, documentPick, wordPick) => {
          const document = documents[documentPick % documents.length] as SearchDocument;
          const words = wordsOfText([...document.cast, document.name].join(' '));
          const query = words[wordPick % words.length] as string;
          const found = SearchIndex.build(documents).search(query, documents.length);
          const nameMatch = found.map((ordinal) =>
            nameMatchesEveryToken(documents[ordinal] as SearchDocument, query),
          );
          expect(nameMatch).toEqual([...nameMatch].sort((a, b) => Number(b) - Number(a)));
        }),
      );
    });

    it('ranks an exact name match above a title matching only through its cast', () => {
      fc.assert(
        fc.property(wordArb, textArb, corpusArb, (word, castRest, others) => {
          fc.pre(!matchesEveryToken(doc(`Zzqx ${castRest}`), word));
          const documents = [
            ...others,
            doc(`Zzqx ${castRest}`, [`${word} ${castRest}`]),
            doc(`${word} Zzqx`),
          ];
          const found = SearchIndex.build(documents).search(word, documents.length);
          expect(found.indexOf(documents.length - 1)).toBeLessThan(found.indexOf(documents.length - 2));
        }),
      );
    });

    it('is deterministic: the same corpus and query give the same ranking', () => {
      fc.assert(
        fc.property(corpusArb, textArb, fc.integer({ min: 1, max: 10 }), (documents, query, first) => {
          const once = SearchIndex.build(documents).search(query, first);
          const index = SearchIndex.build(documents);
          expect(index.search(query, first)).toEqual(once);
          expect(index.search(query, first)).toEqual(once);
        }),
      );
    });

    it('returns the head of the full ranking when asked for the first few, cached or not', () => {
      // One- and two-character one-word queries are answered from a cache of their first 50;
      // asking for more than 50 always ranks afresh.
      fc.assert(
        fc.property(
          corpusArb,
          fc.constantFrom('a', 'e', 's', 'é', '1', 'ab', 'sa', 'abc', 'a b'),
          fc.integer({ min: 1, max: 5 }),
          (documents, query, first) => {
            const index = SearchIndex.build(documents);
            const full = index.search(query, 51);
            expect(index.search(query, first)).toEqual(full.slice(0, first));
            expect(index.search(query, first + 1)).toEqual(full.slice(0, first + 1));
          },
        ),
      );
    });
  });
});
