/**
 * The catalogue's full-text index over title names, cast and directors.
 *
 * Text is folded (case folded, NFKD, non-spacing marks removed) and split on anything that is not a
 * letter, digit or spacing mark, so "AMÉLIE", "amelie" and "Amélie" are the same token. Apostrophes
 * join: "Schindler's" is indexed as "schindlers" and also as its parts "schindler" and "s".
 *
 * Query semantics (prefix-last, as search-as-you-type engines do): every query token must match a
 * token of the title; the last query token matches as a prefix (the user may still be typing it),
 * earlier ones as whole tokens (they are finished words; treating them as prefixes too would make
 * "a b" match half the catalogue). A query with no token (only punctuation) matches nothing.
 *
 * Ranking, best first:
 *  1. where the whole query matched: every token in the name, then every token within one person
 *     (one of the first 32 directors and cast members, so "tom hanks" puts Tom Hanks's films above
 *     "Talking Tom" with a Hanks in its cast), then spread over fields;
 *  2. more tokens matched in the name;
 *  3. more exact (whole-token) matches than prefix matches;
 *  4. a higher field weight sum (name > director > cast);
 *  5. the earliest position of a name match, then the shorter name (in words);
 *  6. the document ordinal, which the catalogue makes the title id order.
 *
 * Layout: a sorted array of distinct tokens (binary search gives a prefix's range) with one
 * contiguous posting list per token (document ordinal, packed field weight and name position, and
 * a bit mask of the people whose names hold the token), all in typed arrays. A search reuses
 * scratch arrays sized to the corpus, so it allocates little; it is synchronous, which is what
 * makes sharing the scratch space safe.
 */

export interface SearchDocument {
  readonly name: string;
  readonly cast: readonly string[];
  readonly directors: readonly string[];
}

export const FIELD_WEIGHT = { name: 4, director: 2, cast: 1 } as const;

/** Longer queries are cut to this many distinct tokens (the API allows 200 characters anyway). */
export const MAX_QUERY_TERMS = 64;

const SHORT_PREFIX = 2;
const CACHED_RESULTS = 50;
const MAX_CACHED_QUERIES = 10_000;

/** People (directors first, then cast in billing order) tracked for the "one person" tier. */
const TRACKED_PEOPLE = 32;
const MAX_POSITION = 255;
const APOSTROPHE = /['\u2019\u02bc]/;
const APOSTROPHES = /['\u2019\u02bc]+/g;
const EDGE_APOSTROPHES = /^['\u2019\u02bc]+|['\u2019\u02bc]+$/g;
/** Anything but letters, digits, marks left after folding, and apostrophes. */
const SEPARATORS = /[^\p{L}\p{N}\p{M}'\u2019\u02bc]+/u;
const NON_SPACING_MARKS = /\p{Mn}+/gu;
const PRINTABLE_ASCII = /^[ -~]*$/;

/**
 * Case- and accent-insensitive form of a text. Upper- then lower-casing folds "ß" to "ss" and the
 * final sigma to sigma, as full case folding would; NFKD then splits accents off their letters.
 */
export const foldText = (text: string): string =>
  PRINTABLE_ASCII.test(text)
    ? text.toLowerCase()
    : text.toUpperCase().toLowerCase().normalize('NFKD').replace(NON_SPACING_MARKS, '');

/** The words of a text, folded, apostrophes inside words kept. */
const wordsOf = (text: string): string[] => {
  const words: string[] = [];
  for (const chunk of foldText(text).split(SEPARATORS)) {
    const word = chunk.replace(EDGE_APOSTROPHES, '');
    if (word !== '') words.push(word);
  }
  return words;
};

/**
 * Tokens an indexed text yields, by word position: each word gives its joined form and, when it
 * holds apostrophes, its parts too.
 */
export const indexTokens = (text: string): string[][] =>
  wordsOf(text).map((word) => {
    if (!APOSTROPHE.test(word)) return [word];
    const joined = word.replace(APOSTROPHES, '');
    return [joined, ...new Set(word.split(APOSTROPHES))].filter(
      (token, i) => token !== '' && (i === 0 || token !== joined),
    );
  });

/** Tokens of a query, in order, without repeats; apostrophes join ("schindler's" → "schindlers"). */
export const queryTokens = (text: string): string[] => [
  ...new Set(wordsOf(text).map((word) => word.replace(APOSTROPHES, ''))),
];

/** First index in `tokens` whose token is >= `value` (UTF-16 code unit order). */
const lowerBound = (tokens: readonly string[], value: string): number => {
  let low = 0;
  let high = tokens.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((tokens[mid] as string) < value) low = mid + 1;
    else high = mid;
  }
  return low;
};

const compareCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface TokenRange {
  /** Token indices [from, to). */
  from: number;
  to: number;
  postings: number;
}

// A posting's packed value: weight << 9 | (255 - position in the name, 0 for other fields), so a
// larger value is a better match. During a search, bit 8 marks an exact (non-prefix) token match:
// for one query term, the best match is the heaviest field, then exact, then earliest in the name.
const WEIGHT_SHIFT = 9;
const EXACT_BIT = 1 << 8;

export interface SearchIndexStats {
  documents: number;
  tokens: number;
  postings: number;
}

/**
 * Builds a SearchIndex document by document (so a caller can yield between batches). Postings are
 * collected flat with numeric token ids, then grouped per token by a counting sort on the tokens'
 * sorted order, which keeps each list in document order.
 */
export class SearchIndexBuilder {
  private readonly tokenIds = new Map<string, number>();
  private readonly tokenList: string[] = [];
  /** Per token id: the last document and posting index it was added for (for de-duplication). */
  private readonly lastDocument: number[] = [];
  private readonly lastPosting: number[] = [];
  private readonly postingToken: number[] = [];
  private readonly postingDocument: number[] = [];
  private readonly postingValue: number[] = [];
  private readonly postingPeople: number[] = [];
  private readonly nameLength: number[] = [];
  /** Token ids of person names, which repeat across titles. */
  private readonly personTokens = new Map<string, number[]>();

  get size(): number {
    return this.nameLength.length;
  }

  /** Adds the next document; its ordinal is the number of documents added before it. */
  add(document: SearchDocument): void {
    const ordinal = this.nameLength.length;
    const words = indexTokens(document.name);
    this.nameLength.push(Math.min(words.length, 255));
    words.forEach((tokens, position) => {
      const value = (FIELD_WEIGHT.name << WEIGHT_SHIFT) | (MAX_POSITION - Math.min(position, MAX_POSITION));
      for (const token of tokens) this.post(this.tokenId(token), ordinal, value, 0);
    });
    this.addPeople(ordinal, document.directors, FIELD_WEIGHT.director, 0);
    this.addPeople(ordinal, document.cast, FIELD_WEIGHT.cast, document.directors.length);
  }

  finish(): SearchIndex {
    const order = this.tokenList
      .map((_, id) => id)
      .sort((a, b) => compareCodeUnits(this.tokenList[a] as string, this.tokenList[b] as string));
    const tokens = order.map((id) => this.tokenList[id] as string);
    const rankOf = new Int32Array(order.length);
    order.forEach((id, rank) => (rankOf[id] = rank));

    const total = this.postingToken.length;
    const postingStart = new Int32Array(tokens.length + 1);
    for (const id of this.postingToken) {
      const slot = (rankOf[id] as number) + 1;
      postingStart[slot] = (postingStart[slot] as number) + 1;
    }
    for (let rank = 0; rank < tokens.length; rank++) {
      postingStart[rank + 1] = (postingStart[rank + 1] as number) + (postingStart[rank] as number);
    }
    const next = postingStart.slice(0, tokens.length);
    const documents = new Int32Array(total);
    const values = new Uint16Array(total);
    const people = new Uint32Array(total);
    for (let p = 0; p < total; p++) {
      const rank = rankOf[this.postingToken[p] as number] as number;
      const at = next[rank] as number;
      next[rank] = at + 1;
      documents[at] = this.postingDocument[p] as number;
      values[at] = this.postingValue[p] as number;
      people[at] = this.postingPeople[p] as number;
    }
    return SearchIndex.fromParts(
      tokens,
      postingStart,
      documents,
      values,
      people,
      Uint8Array.from(this.nameLength),
    );
  }

  /** `first` is the person number of the first of `people` (directors come before the cast). */
  private addPeople(document: number, people: readonly string[], weight: number, first: number): void {
    const value = weight << WEIGHT_SHIFT;
    for (let i = 0; i < people.length; i++) {
      const person = first + i;
      const bit = person < TRACKED_PEOPLE ? (1 << person) >>> 0 : 0;
      for (const id of this.tokensOfPerson(people[i] as string)) this.post(id, document, value, bit);
    }
  }

  private tokensOfPerson(name: string): number[] {
    let ids = this.personTokens.get(name);
    if (ids === undefined) {
      ids = indexTokens(name)
        .flat()
        .map((token) => this.tokenId(token));
      this.personTokens.set(name, ids);
    }
    return ids;
  }

  private tokenId(token: string): number {
    let id = this.tokenIds.get(token);
    if (id === undefined) {
      id = this.tokenList.length;
      this.tokenIds.set(token, id);
      this.tokenList.push(token);
      this.lastDocument.push(-1);
      this.lastPosting.push(-1);
    }
    return id;
  }

  private post(id: number, document: number, value: number, peopleBit: number): void {
    if (this.lastDocument[id] === document) {
      const p = this.lastPosting[id] as number;
      if (value > (this.postingValue[p] as number)) this.postingValue[p] = value;
      this.postingPeople[p] = ((this.postingPeople[p] as number) | peopleBit) >>> 0;
      return;
    }
    this.lastDocument[id] = document;
    this.lastPosting[id] = this.postingToken.length;
    this.postingToken.push(id);
    this.postingDocument.push(document);
    this.postingValue.push(value);
    this.postingPeople.push(peopleBit);
  }
}

export class SearchIndex {
  // Scratch space of `search`, one slot per document.
  private readonly seenInSearch: Int32Array;
  private readonly matchedTerms: Uint8Array;
  private readonly seenInStep: Int32Array;
  private readonly bestInStep: Uint16Array;
  private readonly peopleInStep: Uint32Array;
  private readonly commonPeople: Uint32Array;
  private readonly nameMatches: Uint8Array;
  private readonly exactMatches: Uint8Array;
  private readonly weightSum: Uint16Array;
  private readonly firstNamePosition: Uint8Array;
  private readonly touched: Int32Array;
  private stamp = 0;
  /**
   * Results of one-word queries of one or two characters: the most frequent (search as you type)
   * and the costliest (their prefixes match a large part of the index), so they are kept.
   */
  private readonly shortQueries = new Map<string, number[]>();

  private constructor(
    /** Distinct tokens, sorted by UTF-16 code units. */
    private readonly tokens: readonly string[],
    /** Postings of token i are [postingStart[i], postingStart[i + 1]). */
    private readonly postingStart: Int32Array,
    private readonly postingDocument: Int32Array,
    private readonly postingValue: Uint16Array,
    /** Bit i: person i of the document (directors, then cast) has the token in their name. */
    private readonly postingPeople: Uint32Array,
    /** Words in each document's name, for the "shorter name" tiebreak. */
    private readonly nameLength: Uint8Array,
  ) {
    const size = nameLength.length;
    this.seenInSearch = new Int32Array(size);
    this.matchedTerms = new Uint8Array(size);
    this.seenInStep = new Int32Array(size);
    this.bestInStep = new Uint16Array(size);
    this.peopleInStep = new Uint32Array(size);
    this.commonPeople = new Uint32Array(size);
    this.nameMatches = new Uint8Array(size);
    this.exactMatches = new Uint8Array(size);
    this.weightSum = new Uint16Array(size);
    this.firstNamePosition = new Uint8Array(size);
    this.touched = new Int32Array(size);
  }

  /** Indexes the documents; a document's ordinal is its index in `documents`. */
  static build(documents: readonly SearchDocument[]): SearchIndex {
    const builder = new SearchIndexBuilder();
    for (const document of documents) builder.add(document);
    return builder.finish();
  }

  /** The index over prepared arrays; only SearchIndexBuilder calls this. */
  static fromParts(
    tokens: readonly string[],
    postingStart: Int32Array,
    postingDocument: Int32Array,
    postingValue: Uint16Array,
    postingPeople: Uint32Array,
    nameLength: Uint8Array,
  ): SearchIndex {
    return new SearchIndex(tokens, postingStart, postingDocument, postingValue, postingPeople, nameLength);
  }

  get stats(): SearchIndexStats {
    return {
      documents: this.nameLength.length,
      tokens: this.tokens.length,
      postings: this.postingDocument.length,
    };
  }

  /**
   * Ordinals of the best `first` documents matching `text`, best first (see the file comment for
   * matching and ranking). Callers reject empty text before; here it simply matches nothing.
   */
  search(text: string, first: number): number[] {
    const terms = queryTokens(text).slice(0, MAX_QUERY_TERMS);
    if (terms.length === 0 || first <= 0) return [];
    const [term] = terms;
    if (terms.length === 1 && term !== undefined && term.length <= SHORT_PREFIX && first <= CACHED_RESULTS) {
      let results = this.shortQueries.get(term);
      if (results === undefined) {
        results = this.run(terms, CACHED_RESULTS);
        if (this.shortQueries.size >= MAX_CACHED_QUERIES) this.shortQueries.clear();
        this.shortQueries.set(term, results);
      }
      return results.slice(0, first);
    }
    return this.run(terms, first);
  }

  private run(terms: readonly string[], first: number): number[] {
    const ranges: TokenRange[] = [];
    for (const [i, term] of terms.entries()) {
      const range = i === terms.length - 1 ? this.prefixRange(term) : this.exactRange(term);
      if (range.postings === 0) return [];
      ranges.push(range);
    }
    // Rarest term first: later steps only look at documents every earlier step matched.
    const order = terms
      .map((_, i) => i)
      .sort((a, b) => (ranges[a] as TokenRange).postings - (ranges[b] as TokenRange).postings);

    const searchStamp = this.nextStamp();
    let touchedCount = 0;
    for (const [step, termIndex] of order.entries()) {
      const term = terms[termIndex] as string;
      const range = ranges[termIndex] as TokenRange;
      const stepStamp = this.nextStamp();
      touchedCount = 0;
      for (let token = range.from; token < range.to; token++) {
        const exact = this.tokens[token] === term ? EXACT_BIT : 0;
        const end = this.postingStart[token + 1] as number;
        for (let p = this.postingStart[token] as number; p < end; p++) {
          const document = this.postingDocument[p] as number;
          if (step === 0) {
            if (this.seenInSearch[document] !== searchStamp) {
              this.seenInSearch[document] = searchStamp;
              this.matchedTerms[document] = 0;
              this.nameMatches[document] = 0;
              this.exactMatches[document] = 0;
              this.weightSum[document] = 0;
              this.firstNamePosition[document] = MAX_POSITION;
              this.commonPeople[document] = 0xffffffff;
            }
          } else if (this.seenInSearch[document] !== searchStamp || this.matchedTerms[document] !== step) {
            continue;
          }
          const value = (this.postingValue[p] as number) | exact;
          const people = this.postingPeople[p] as number;
          if (this.seenInStep[document] !== stepStamp) {
            this.seenInStep[document] = stepStamp;
            this.bestInStep[document] = value;
            this.peopleInStep[document] = people;
            this.touched[touchedCount++] = document;
          } else {
            if (value > (this.bestInStep[document] as number)) this.bestInStep[document] = value;
            this.peopleInStep[document] = ((this.peopleInStep[document] as number) | people) >>> 0;
          }
        }
      }
      if (touchedCount === 0) return [];
      for (let i = 0; i < touchedCount; i++) this.fold(this.touched[i] as number, step);
    }
    return this.top(touchedCount, first, terms.length);
  }

  /** Adds the document's best match for the current term to its totals. */
  private fold(document: number, step: number): void {
    const best = this.bestInStep[document] as number;
    const weight = best >> WEIGHT_SHIFT;
    this.matchedTerms[document] = step + 1;
    this.weightSum[document] = (this.weightSum[document] as number) + weight;
    this.commonPeople[document] =
      ((this.commonPeople[document] as number) & (this.peopleInStep[document] as number)) >>> 0;
    if ((best & EXACT_BIT) !== 0) this.exactMatches[document] = (this.exactMatches[document] as number) + 1;
    if (weight === FIELD_WEIGHT.name) {
      this.nameMatches[document] = (this.nameMatches[document] as number) + 1;
      const position = MAX_POSITION - (best & 0xff);
      if (position < (this.firstNamePosition[document] as number))
        this.firstNamePosition[document] = position;
    }
  }

  /** The best `first` of the documents left in `touched` by the last step. */
  private top(count: number, first: number, terms: number): number[] {
    if (count <= first) {
      const all = Array.from(this.touched.subarray(0, count), (document) => ({
        document,
        key: this.rankKey(document, terms),
      }));
      all.sort((a, b) => b.key - a.key || a.document - b.document);
      return all.map(({ document }) => document);
    }
    const keys: number[] = [];
    const documents: number[] = [];
    const better = (key: number, document: number, at: number): boolean =>
      key > (keys[at] as number) || (key === keys[at] && document < (documents[at] as number));
    for (let i = 0; i < count; i++) {
      const document = this.touched[i] as number;
      const key = this.rankKey(document, terms);
      if (keys.length === first && !better(key, document, first - 1)) continue;
      let low = 0;
      let high = keys.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (better(key, document, mid)) high = mid;
        else low = mid + 1;
      }
      keys.splice(low, 0, key);
      documents.splice(low, 0, document);
      if (keys.length > first) {
        keys.pop();
        documents.pop();
      }
    }
    return documents;
  }

  /** Larger is better; see the ranking in the file comment. Each part fits its bits (≤ 64 terms). */
  private rankKey(document: number, terms: number): number {
    const nameMatches = this.nameMatches[document] as number;
    const tier = nameMatches === terms ? 2 : this.commonPeople[document] !== 0 ? 1 : 0;
    let key = tier;
    key = key * 128 + nameMatches;
    key = key * 128 + (this.exactMatches[document] as number);
    key = key * 1024 + (this.weightSum[document] as number);
    key = key * 256 + (MAX_POSITION - (this.firstNamePosition[document] as number));
    key = key * 256 + (255 - (this.nameLength[document] as number));
    return key;
  }

  private exactRange(term: string): TokenRange {
    const from = lowerBound(this.tokens, term);
    return this.tokens[from] === term ? this.range(from, from + 1) : this.range(from, from);
  }

  /** Tokens starting with `prefix` are contiguous in code unit order, up to `prefix + U+FFFF`. */
  private prefixRange(prefix: string): TokenRange {
    return this.range(lowerBound(this.tokens, prefix), lowerBound(this.tokens, `${prefix}\uffff`));
  }

  private range(from: number, to: number): TokenRange {
    return { from, to, postings: (this.postingStart[to] as number) - (this.postingStart[from] as number) };
  }

  private nextStamp(): number {
    if (this.stamp === 0x7fffffff) {
      this.stamp = 0;
      this.seenInSearch.fill(0);
      this.seenInStep.fill(0);
    }
    return ++this.stamp;
  }
}
