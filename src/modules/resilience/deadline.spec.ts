import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { Deadline } from './deadline.js';

describe(Deadline.name, () => {
  it('counts the budget down on its clock, never below zero', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.array(fc.nat(5_000), { maxLength: 20 }), (budget, steps) => {
        let now = 1_000;
        const sut = Deadline.after(budget, () => now);
        try {
          for (const step of steps) {
            now += step;
            const elapsed = now - 1_000;
            expect(sut.remainingMs()).toBe(Math.max(0, budget - elapsed));
            if (elapsed >= budget) expect(sut.expired).toBe(true);
          }
        } finally {
          sut.dispose();
        }
      }),
    );
  });

  it('aborts its signal with a TimeoutError when the budget runs out', async () => {
    const sut = Deadline.after(20);
    expect(sut.signal.aborted).toBe(false);
    expect(sut.expired).toBe(false);
    await once(sut.signal, 'abort');
    expect(sut.expired).toBe(true);
    expect(sut.remainingMs()).toBe(0);
    expect(sut.signal.reason).toBeInstanceOf(DOMException);
    expect((sut.signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('is expired from the start with no budget', () => {
    const sut = Deadline.after(0);
    expect(sut.expired).toBe(true);
    expect(sut.signal.aborted).toBe(true);
  });

  it('never aborts once disposed, by hand or at the end of a `using` block', async () => {
    const disposed = Deadline.after(10);
    disposed.dispose();
    const scoped = (() => {
      using sut = Deadline.after(10);
      return sut;
    })();
    await sleep(40);
    expect(disposed.signal.aborted).toBe(false);
    expect(scoped.signal.aborted).toBe(false);
  });
});
