import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

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
});
