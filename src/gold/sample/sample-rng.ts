import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/** FNV-1a over the UTF-16 code units of a label, as an unsigned 32-bit integer. */
export const hashLabel = (label: string): number => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
};

/** murmur3's finaliser: a cheap, well-mixing permutation of 32-bit integers. */
const fmix32 = (value: number): number => {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
};

const mixPart = (hash: number, part: number): number => {
  const low = part >>> 0;
  const high = Math.floor(part / 0x1_0000_0000) >>> 0;
  const mixed = fmix32(hash ^ fmix32(low + 0x7f4a7c15));
  return high === 0 ? mixed : fmix32(mixed ^ fmix32(high + 0x165667b1));
};

/**
 * Hashes up to six integer parts (any safe integers, including negative ones) into one unsigned
 * 32-bit value. Fixed parameters rather than rest arguments: this runs millions of times.
 */
export const mixHash = (a: number, b?: number, c?: number, d?: number, e?: number, f?: number): number => {
  let h = mixPart(0x9e3779b9, a);
  if (b !== undefined) h = mixPart(h, b);
  if (c !== undefined) h = mixPart(h, c);
  if (d !== undefined) h = mixPart(h, d);
  if (e !== undefined) h = mixPart(h, e);
  if (f !== undefined) h = mixPart(h, f);
  return h;
};

/** A value in [0, 1) that depends only on its inputs (stateless randomness for per-cell noise). */
export const hashUnit = (a: number, b?: number, c?: number, d?: number, e?: number, f?: number): number =>
  mixHash(a, b, c, d, e, f) / 0x1_0000_0000;

/**
 * A deterministic random stream. Every stream is seeded from (seed, stream name, index) so that
 * e.g. account 1234 comes out the same whatever the number of accounts built before or after it.
 */
export class SampleRng {
  private readonly generator: RandomGenerator;

  constructor(seed: number, stream: string, index = 0) {
    this.generator = xoroshiro128plus(mixHash(seed, hashLabel(stream), index) | 0);
  }

  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number {
    return uniformInt(this.generator, min, max);
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return uniformFloat64(this.generator);
  }

  /** Uniform float in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.float();
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('cannot pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** Index drawn with probability proportional to its (non-negative) weight. */
  weightedIndex(weights: readonly number[]): number {
    let total = 0;
    for (const weight of weights) total += weight;
    let target = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      target -= weights[i] as number;
      if (target < 0) return i;
    }
    return weights.length - 1;
  }

  /** Standard normal variate (Box-Muller). */
  gaussian(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle of a copy. */
  shuffled<T>(items: readonly T[]): T[] {
    const copy = items.slice();
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = copy[i] as T;
      copy[i] = copy[j] as T;
      copy[j] = tmp;
    }
    return copy;
  }
}
