import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

import { Counters } from './counters.service.js';

describe(Counters.name, () => {
  it('adds up increments per name and label set, whatever the label order', () => {
    const sut = new Counters();
    sut.increment('cache_requests_total', { level: 'L1' });
    sut.increment('cache_requests_total', { level: 'L1' }, 2);
    sut.increment('cache_requests_total', { level: 'L2' });
    sut.increment('cache_errors_total', { op: 'get', kind: 'timeout' });
    sut.increment('cache_errors_total', { kind: 'timeout', op: 'get' });

    expect(sut.value('cache_requests_total', { level: 'L1' })).toBe(3);
    expect(sut.value('cache_errors_total', { op: 'get', kind: 'timeout' })).toBe(2);
    expect(sut.value('cache_requests_total', { level: 'SOURCE' })).toBe(0);
    expect(sut.value('cache_requests_total')).toBe(0);
    expect(sut.snapshot()).toEqual([
      { name: 'cache_errors_total', labels: { kind: 'timeout', op: 'get' }, value: 2 },
      { name: 'cache_requests_total', labels: { level: 'L1' }, value: 3 },
      { name: 'cache_requests_total', labels: { level: 'L2' }, value: 1 },
    ]);
  });

  it('hands out copies, so a snapshot cannot change the counters', () => {
    const sut = new Counters();
    const labels = { level: 'L1' };
    sut.increment('requests', labels);
    labels.level = 'L2';
    const [sample] = sut.snapshot();
    sample!.value = 100;
    (sample!.labels as Record<string, string>).level = 'SOURCE';
    expect(sut.snapshot()).toEqual([{ name: 'requests', labels: { level: 'L1' }, value: 1 }]);
  });

  it('refuses to count down', () => {
    const sut = new Counters();
    expect(() => sut.increment('requests', {}, -1)).toThrow(RangeError);
    expect(() => sut.increment('requests', {}, Number.NaN)).toThrow(RangeError);
    expect(sut.snapshot()).toEqual([]);
  });

  it('sums any sequence of increments exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.constantFrom('x', 'y'), fc.nat(1000))),
        (steps) => {
          const sut = new Counters();
          for (const [name, label, by] of steps) sut.increment(name, { label }, by);
          for (const name of ['a', 'b'])
            for (const label of ['x', 'y'])
              expect(sut.value(name, { label })).toBe(
                steps.filter(([n, l]) => n === name && l === label).reduce((sum, [, , by]) => sum + by, 0),
              );
        },
      ),
    );
  });

  describe('onIncrement', () => {
    it('tells every listener of each later increment, with the sorted labels and the amount', () => {
      const sut = new Counters();
      sut.increment('before', { a: '1' });
      const seen: unknown[] = [];
      const other: string[] = [];
      sut.onIncrement((name, labels, by) => seen.push([name, labels, by]));
      sut.onIncrement((name) => other.push(name));
      sut.increment('device_degraded_reasons_total', { reason: 'TIMEOUT', operation: 'home' });
      sut.increment('device_degraded_reasons_total', { operation: 'home', reason: 'TIMEOUT' }, 3);
      sut.increment('plain');
      expect(seen).toEqual([
        ['device_degraded_reasons_total', { operation: 'home', reason: 'TIMEOUT' }, 1],
        ['device_degraded_reasons_total', { operation: 'home', reason: 'TIMEOUT' }, 3],
        ['plain', {}, 1],
      ]);
      expect(other).toEqual(['device_degraded_reasons_total', 'device_degraded_reasons_total', 'plain']);
    });

    it('stops telling a listener once it is removed', () => {
      const sut = new Counters();
      const seen: string[] = [];
      const remove = sut.onIncrement((name) => seen.push(name));
      sut.increment('a');
      remove();
      remove();
      sut.increment('b');
      expect(seen).toEqual(['a']);
    });

    it('never lets a listener fail the increment, and logs its failure once', () => {
      const error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      try {
        const sut = new Counters();
        const seen: string[] = [];
        sut.onIncrement(() => {
          throw new Error('observer bug');
        });
        sut.onIncrement((name) => seen.push(name));
        expect(() => sut.increment('a')).not.toThrow();
        expect(() => sut.increment('a')).not.toThrow();
        expect(sut.value('a')).toBe(2);
        expect(seen).toEqual(['a', 'a']);
        expect(error).toHaveBeenCalledTimes(1);
        expect(String(error.mock.calls[0]![0])).toContain('observer bug');
      } finally {
        error.mockRestore();
      }
    });

    it('hands listeners labels they cannot change the counters with', () => {
      const sut = new Counters();
      sut.onIncrement((_name, labels) => {
        expect(() => ((labels as Record<string, string>).level = 'L2')).toThrow(TypeError);
      });
      sut.increment('requests', { level: 'L1' });
      expect(sut.snapshot()).toEqual([{ name: 'requests', labels: { level: 'L1' }, value: 1 }]);
    });

    it('is not told of an increment that was refused', () => {
      const sut = new Counters();
      const seen: string[] = [];
      sut.onIncrement((name) => seen.push(name));
      expect(() => sut.increment('requests', {}, -1)).toThrow(RangeError);
      expect(seen).toEqual([]);
    });
  });
});
