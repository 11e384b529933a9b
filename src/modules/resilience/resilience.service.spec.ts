import { setTimeout as sleep } from 'node:timers/promises';

import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { ResilienceConfig } from '../config/app-config.js';
import { StoreError, type StoreErrorKind } from '../cosmos/cosmos.errors.js';
import { Deadline } from './deadline.js';
import { DependencyFailure, type Dependency, type DependencyFailureReason } from './dependency-failure.js';
import type { BreakerStateChange } from './dependency-policy.js';
import { ResilienceService } from './resilience.service.js';

/** Timer slack allowed past a deadline: generous, since a test must not fail on a busy machine. */
const slackMs = 80;

const settings = (overrides: {
  cosmos?: Partial<ResilienceConfig['dependencies']['cosmos']>;
  redis?: Partial<ResilienceConfig['dependencies']['redis']>;
  breaker?: Partial<ResilienceConfig['breaker']>;
}): ResilienceConfig => ({
  requestBudgetMs: 300,
  dependencies: {
    cosmos: { timeoutMs: 40, retries: 2, bulkhead: 8, ...overrides.cosmos },
    redis: { timeoutMs: 20, retries: 0, bulkhead: 8, ...overrides.redis },
  },
  breaker: { failureThreshold: 100, halfOpenAfterMs: 60, ...overrides.breaker },
});

const storeError = (kind: StoreErrorKind, retryAfterMs?: number) =>
  new StoreError(kind, `read: ${kind}`, undefined, retryAfterMs);

/** One scripted call: how long it takes and how it ends (`hang`: never, ignoring its abort signal). */
type Outcome = { ok: string } | { fail: () => unknown } | 'hang';
interface Step {
  latencyMs: number;
  outcome: Outcome;
}

interface CallRecord {
  signal: AbortSignal;
  /** What was left of the deadline when the call started. */
  remainingMs: number;
  startedAt: number;
  /** What the call threw, once it did. */
  error?: unknown;
}

/** A dependency that plays `steps` one per call (the last one again once they run out). */
const scripted = (steps: Step[], deadline?: Deadline) => {
  const calls: CallRecord[] = [];
  const call = (signal: AbortSignal): Promise<string> => {
    const step = steps[Math.min(calls.length, steps.length - 1)]!;
    const record: CallRecord = {
      signal,
      remainingMs: deadline?.remainingMs() ?? Infinity,
      startedAt: performance.now(),
    };
    calls.push(record);
    const { outcome } = step;
    if (outcome === 'hang') return new Promise<string>(() => undefined);
    return sleep(step.latencyMs).then(() => {
      if ('ok' in outcome) return outcome.ok;
      record.error = outcome.fail();
      throw record.error;
    });
  };
  return { calls, call };
};

const fast = (outcome: Outcome): Step => ({ latencyMs: 0, outcome });
const hang: Step = { latencyMs: 0, outcome: 'hang' };

/** Resolves with what `promise` rejected with (fails the test if it resolved). */
const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
};

const failure = async (promise: Promise<unknown>): Promise<DependencyFailure> => {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(DependencyFailure);
  return error as DependencyFailure;
};

const timed = async <T>(work: () => Promise<T>): Promise<{ result: T; elapsedMs: number }> => {
  const start = performance.now();
  const result = await work();
  return { result, elapsedMs: performance.now() - start };
};

let deadlines: Deadline[] = [];
const budget = (ms: number): Deadline => {
  const deadline = Deadline.after(ms);
  deadlines.push(deadline);
  return deadline;
};

beforeEach(() => {
  vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  deadlines.forEach((deadline) => deadline.dispose());
  deadlines = [];
  vi.restoreAllMocks();
});

describe(ResilienceService.name, () => {
  describe('timeouts and the deadline', () => {
    it('returns the value of a call that answers in time', async () => {
      const sut = new ResilienceService(settings({}));
      const dependency = scripted([{ latencyMs: 5, outcome: { ok: 'doc' } }]);
      await expect(sut.run('cosmos', budget(300), dependency.call)).resolves.toBe('doc');
      expect(dependency.calls).toHaveLength(1);
    });

    it('cuts a hanging call at the call timeout, aborts its signal, and retries it within the budget', async () => {
      const sut = new ResilienceService(settings({ cosmos: { timeoutMs: 40, retries: 2 } }));
      const dependency = scripted([hang]);
      const { result, elapsedMs } = await timed(() =>
        failure(sut.run('cosmos', budget(400), dependency.call)),
      );
      expect(result.reason).toBe<DependencyFailureReason>('TIMEOUT');
      expect(result.dependency).toBe<Dependency>('cosmos');
      // 3 × 40 ms plus two backoffs (at most ~30 and ~60 ms) fit in 400 ms.
      expect(dependency.calls).toHaveLength(3);
      expect(result.attempts).toBe(3);
      expect(dependency.calls.every((call) => call.signal.aborted)).toBe(true);
      expect(elapsedMs).toBeGreaterThanOrEqual(3 * 38);
      expect(elapsedMs).toBeLessThan(400 + slackMs);
    });

    it('cuts an attempt at what is left of the budget when that is shorter than the call timeout', async () => {
      const sut = new ResilienceService(settings({ cosmos: { timeoutMs: 1_000, retries: 2 } }));
      const dependency = scripted([hang]);
      const { result, elapsedMs } = await timed(() =>
        failure(sut.run('cosmos', budget(50), dependency.call)),
      );
      expect(result.reason).toBe('TIMEOUT');
      expect(dependency.calls).toHaveLength(1);
      expect(elapsedMs).toBeLessThan(50 + slackMs);
    });

    it('does not call at all once the budget is spent', async () => {
      const sut = new ResilienceService(settings({}));
      const dependency = scripted([fast({ ok: 'doc' })]);
      const result = await failure(sut.run('cosmos', budget(0), dependency.call));
      expect(result.reason).toBe('TIMEOUT');
      expect(result.attempts).toBe(0);
      expect(dependency.calls).toHaveLength(0);
    });

    it('never runs past the deadline, retries only transient failures, and says why it failed', async () => {
      const transientKinds = ['THROTTLED', 'UNAVAILABLE', 'TIMEOUT'] as const;
      const outcome: fc.Arbitrary<Outcome> = fc.oneof(
        fc.constant<Outcome>({ ok: 'doc' }),
        fc.constant<Outcome>('hang'),
        fc
          .record({
            kind: fc.constantFrom<StoreErrorKind>(...transientKinds, 'NOT_FOUND', 'BAD_REQUEST', 'CONFLICT'),
            retryAfterMs: fc.option(fc.nat(150), { nil: undefined }),
          })
          .map(({ kind, retryAfterMs }): Outcome => ({ fail: () => storeError(kind, retryAfterMs) })),
        fc.constant<Outcome>({ fail: () => new TypeError('bug in the caller') }),
      );
      const step = fc.record({ latencyMs: fc.integer({ min: 0, max: 60 }), outcome });
      const timeoutMs = 40;

      await fc.assert(
        fc.asyncProperty(
          fc.array(step, { minLength: 1, maxLength: 6 }),
          fc.integer({ min: 20, max: 200 }),
          fc.integer({ min: 0, max: 4 }),
          async (steps, budgetMs, retries) => {
            const sut = new ResilienceService(settings({ cosmos: { timeoutMs, retries } }));
            const deadline = budget(budgetMs);
            const dependency = scripted(steps, deadline);
            const played = (index: number) => steps[Math.min(index, steps.length - 1)]!;

            const start = performance.now();
            const outcome = await sut.run('cosmos', deadline, dependency.call).then(
              (value) => ({ value }),
              (error: unknown) => ({ error }),
            );
            const elapsedMs = performance.now() - start;

            expect(elapsedMs).toBeLessThan(budgetMs + slackMs);
            const calls = dependency.calls;
            expect(calls.length).toBeGreaterThanOrEqual(1);
            expect(calls.length).toBeLessThanOrEqual(retries + 1);
            // Only a transient failure or a (possible) timeout is followed by another attempt.
            for (const [index, earlier] of calls.slice(0, -1).entries()) {
              const { outcome: scriptedOutcome, latencyMs } = played(index);
              const limitMs = Math.min(timeoutMs, earlier.remainingMs);
              const mayHaveTimedOut = scriptedOutcome === 'hang' || latencyMs + 15 >= limitMs;
              const transient = earlier.error instanceof StoreError && earlier.error.transient;
              expect(mayHaveTimedOut || transient).toBe(true);
            }
            // No attempt starts without time to run.
            for (const call of calls.slice(1)) expect(call.remainingMs).toBeGreaterThan(0);

            const last = played(calls.length - 1);
            const lastLimitMs = Math.min(timeoutMs, calls.at(-1)!.remainingMs);
            const clearlyInTime = last.outcome !== 'hang' && last.latencyMs + 15 < lastLimitMs;
            const clearlyLate = last.outcome === 'hang' || last.latencyMs > lastLimitMs + 15;
            if ('value' in outcome) {
              expect(last.outcome).toEqual({ ok: 'doc' });
            } else if (outcome.error instanceof DependencyFailure) {
              const { reason, cause } = outcome.error;
              if (clearlyLate) expect(reason).toBe('TIMEOUT');
              if (clearlyInTime) {
                expect(cause).toBe(calls.at(-1)!.error);
                expect(reason).toBe((cause as StoreError).kind);
              }
            } else {
              // Passed through untouched: exactly what the last call threw, and not transient.
              expect(outcome.error).toBe(calls.at(-1)!.error);
              expect(outcome.error instanceof StoreError && outcome.error.transient).toBe(false);
            }
            if (clearlyInTime && typeof last.outcome === 'object' && 'ok' in last.outcome) {
              expect(outcome).toEqual({ value: 'doc' });
            }
          },
        ),
        { numRuns: 50 },
      );
    });
  });

  describe('retries', () => {
    it('retries a transient failure and returns the later success', async () => {
      const sut = new ResilienceService(settings({ cosmos: { retries: 2 } }));
      const dependency = scripted([
        fast({ fail: () => storeError('UNAVAILABLE') }),
        fast({ fail: () => storeError('TIMEOUT') }),
        fast({ ok: 'doc' }),
      ]);
      await expect(sut.run('cosmos', budget(300), dependency.call)).resolves.toBe('doc');
      expect(dependency.calls).toHaveLength(3);
    });

    it.each<[string, () => unknown]>([
      ['NOT_FOUND', () => storeError('NOT_FOUND')],
      ['BAD_REQUEST', () => storeError('BAD_REQUEST')],
      ['a bug', () => new TypeError('x is undefined')],
    ])('passes %s through unchanged, without a retry', async (_name, make) => {
      const sut = new ResilienceService(settings({ cosmos: { retries: 2 } }));
      const thrown = make();
      const dependency = scripted([fast({ fail: () => thrown })]);
      await expect(sut.run('cosmos', budget(300), dependency.call)).rejects.toBe(thrown);
      expect(dependency.calls).toHaveLength(1);
    });

    it('gives up when the attempts are spent and reports the last failure', async () => {
      const sut = new ResilienceService(settings({ cosmos: { retries: 1 } }));
      const dependency = scripted([
        fast({ fail: () => storeError('TIMEOUT') }),
        fast({ fail: () => storeError('UNAVAILABLE') }),
      ]);
      const result = await failure(sut.run('cosmos', budget(300), dependency.call));
      expect(result.reason).toBe('UNAVAILABLE');
      expect(result.attempts).toBe(2);
      expect(result.cause).toBeInstanceOf(StoreError);
      expect(dependency.calls).toHaveLength(2);
    });

    it('never starts an attempt the budget cannot hold', async () => {
      const sut = new ResilienceService(settings({ cosmos: { retries: 10 } }));
      const deadline = budget(100);
      const dependency = scripted([fast({ fail: () => storeError('UNAVAILABLE') })], deadline);
      const { result, elapsedMs } = await timed(() => failure(sut.run('cosmos', deadline, dependency.call)));
      expect(result.reason).toBe('UNAVAILABLE');
      expect(dependency.calls.length).toBeGreaterThan(1);
      expect(dependency.calls.length).toBeLessThan(11);
      // A retry needs room for a useful attempt (10 ms, less a little timer lateness).
      expect(dependency.calls.every((call) => call.remainingMs >= 5)).toBe(true);
      expect(elapsedMs).toBeLessThan(100 + slackMs);
    });

    it('waits at least the retry-after of a throttled call', async () => {
      const sut = new ResilienceService(settings({ cosmos: { retries: 2 } }));
      const dependency = scripted([fast({ fail: () => storeError('THROTTLED', 60) }), fast({ ok: 'doc' })]);
      await expect(sut.run('cosmos', budget(300), dependency.call)).resolves.toBe('doc');
      expect(dependency.calls).toHaveLength(2);
      const [first, second] = dependency.calls;
      // setTimeout may fire up to a millisecond early against performance.now().
      expect(second!.startedAt - first!.startedAt).toBeGreaterThanOrEqual(59);
    });

    it('gives up at once when the retry-after does not fit in the budget', async () => {
      const sut = new ResilienceService(settings({ cosmos: { retries: 2 } }));
      const dependency = scripted([fast({ fail: () => storeError('THROTTLED', 500) }), fast({ ok: 'doc' })]);
      const { result, elapsedMs } = await timed(() =>
        failure(sut.run('cosmos', budget(300), dependency.call)),
      );
      expect(result.reason).toBe('THROTTLED');
      expect(dependency.calls).toHaveLength(1);
      // Far less than the 300 ms it would take to wait for the end of the budget.
      expect(elapsedMs).toBeLessThan(150);
    });
  });

  describe('circuit breaker', () => {
    it('opens after the threshold, fails fast while open, half-opens after the delay and closes on a good probe', async () => {
      const sut = new ResilienceService(
        settings({ cosmos: { retries: 0 }, breaker: { failureThreshold: 3, halfOpenAfterMs: 60 } }),
      );
      const changes: BreakerStateChange[] = [];
      sut.onBreakerStateChange((change) => changes.push(change));
      const down = scripted([fast({ fail: () => storeError('UNAVAILABLE') })]);

      for (let run = 1; run <= 3; run += 1) {
        expect(sut.breakerStates().find((state) => state.dependency === 'cosmos')?.state).toBe('CLOSED');
        expect((await failure(sut.run('cosmos', budget(300), down.call))).reason).toBe('UNAVAILABLE');
      }
      const opened = sut.breakerStates().find((state) => state.dependency === 'cosmos')!;
      expect(opened.state).toBe('OPEN');

      const blocked = await failure(sut.run('cosmos', budget(300), down.call));
      expect(blocked.reason).toBe('BREAKER_OPEN');
      expect(blocked.attempts).toBe(0);
      expect(down.calls).toHaveLength(3);
      expect(sut.breakerStates().find((state) => state.dependency === 'redis')?.state).toBe('CLOSED');

      const up = scripted([fast({ ok: 'doc' })]);
      await vi.waitFor(() => expect(sut.run('cosmos', budget(300), up.call)).resolves.toBe('doc'), {
        timeout: 2_000,
        interval: 10,
      });
      expect(up.calls).toHaveLength(1);
      const closed = sut.breakerStates().find((state) => state.dependency === 'cosmos')!;
      expect(closed.state).toBe('CLOSED');
      expect(closed.since.getTime()).toBeGreaterThanOrEqual(opened.since.getTime() + 55);
      expect(changes.map(({ previous, state }) => `${previous}→${state}`)).toEqual([
        'CLOSED→OPEN',
        'OPEN→HALF_OPEN',
        'HALF_OPEN→CLOSED',
      ]);
      expect(changes[0]!.cause).toBeInstanceOf(StoreError);
      expect(changes.every((change) => change.dependency === 'cosmos')).toBe(true);
    });

    it('opens again when the probe fails', async () => {
      const sut = new ResilienceService(
        settings({ cosmos: { retries: 0 }, breaker: { failureThreshold: 1, halfOpenAfterMs: 40 } }),
      );
      const changes: string[] = [];
      sut.onBreakerStateChange(({ previous, state }) => changes.push(`${previous}→${state}`));
      const down = scripted([fast({ fail: () => storeError('UNAVAILABLE') })]);
      await failure(sut.run('cosmos', budget(300), down.call));
      await vi.waitFor(
        async () => {
          expect((await failure(sut.run('cosmos', budget(300), down.call))).reason).toBe('UNAVAILABLE');
        },
        { timeout: 2_000, interval: 10 },
      );
      expect(down.calls).toHaveLength(2);
      expect(changes).toEqual(['CLOSED→OPEN', 'OPEN→HALF_OPEN', 'HALF_OPEN→OPEN']);
      expect((await failure(sut.run('cosmos', budget(300), down.call))).reason).toBe('BREAKER_OPEN');
    });

    it('counts timeouts at the call timeout, not those cut short by the end of the budget', async () => {
      const sut = new ResilienceService(
        settings({ cosmos: { timeoutMs: 30, retries: 0 }, breaker: { failureThreshold: 2 } }),
      );
      const stuck = scripted([hang]);
      for (let run = 0; run < 4; run += 1) {
        // 20 ms left of the budget: shorter than the call timeout.
        expect((await failure(sut.run('cosmos', budget(20), stuck.call))).reason).toBe('TIMEOUT');
      }
      expect(sut.breakerStates()[0]!.state).toBe('CLOSED');
      await failure(sut.run('cosmos', budget(300), stuck.call));
      await failure(sut.run('cosmos', budget(300), stuck.call));
      expect(sut.breakerStates()[0]!.state).toBe('OPEN');
    });

    it('leaves the count as it is on a non-transient error, and closes when a probe gets one', async () => {
      const sut = new ResilienceService(
        settings({ cosmos: { retries: 0 }, breaker: { failureThreshold: 3, halfOpenAfterMs: 40 } }),
      );
      const down = scripted([fast({ fail: () => storeError('UNAVAILABLE') })]);
      const missing = scripted([fast({ fail: () => storeError('NOT_FOUND') })]);
      await failure(sut.run('cosmos', budget(300), down.call));
      await failure(sut.run('cosmos', budget(300), down.call));
      for (let run = 0; run < 5; run += 1) {
        await expect(sut.run('cosmos', budget(300), missing.call)).rejects.toBeInstanceOf(StoreError);
      }
      expect(sut.breakerStates()[0]!.state).toBe('CLOSED');
      await failure(sut.run('cosmos', budget(300), down.call));
      expect(sut.breakerStates()[0]!.state).toBe('OPEN');

      // The store answered the probe, if only to say "not found": it is up.
      await vi.waitFor(
        async () => {
          const error = await rejection(sut.run('cosmos', budget(300), missing.call));
          expect(error).toBeInstanceOf(StoreError);
        },
        { timeout: 2_000, interval: 10 },
      );
      expect(sut.breakerStates()[0]!.state).toBe('CLOSED');
    });

    it('does not retry into an open breaker', async () => {
      const sut = new ResilienceService(
        settings({ cosmos: { retries: 5 }, breaker: { failureThreshold: 2, halfOpenAfterMs: 10_000 } }),
      );
      const down = scripted([fast({ fail: () => storeError('UNAVAILABLE') })]);
      const result = await failure(sut.run('cosmos', budget(300), down.call));
      // The second failure opened the breaker: the run ends with it rather than a BREAKER_OPEN.
      expect(result.reason).toBe('UNAVAILABLE');
      expect(down.calls).toHaveLength(2);
    });

    it('tells every listener of every change until it is disposed, and logs each change once', async () => {
      const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const log = vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      const sut = new ResilienceService(
        settings({ redis: { retries: 0 }, breaker: { failureThreshold: 1, halfOpenAfterMs: 30 } }),
      );
      const first: string[] = [];
      const second: string[] = [];
      sut.onBreakerStateChange(() => {
        throw new Error('a broken listener');
      });
      sut.onBreakerStateChange(({ dependency, state }) => first.push(`${dependency}:${state}`));
      const subscription = sut.onBreakerStateChange(({ dependency, state }) =>
        second.push(`${dependency}:${state}`),
      );
      const down = scripted([fast({ fail: () => new Error('ECONNRESET') })]);
      expect((await failure(sut.run('redis', budget(300), down.call))).reason).toBe('UNAVAILABLE');
      subscription.dispose();
      const up = scripted([fast({ ok: 'cached' })]);
      await vi.waitFor(() => expect(sut.run('redis', budget(300), up.call)).resolves.toBe('cached'), {
        timeout: 2_000,
        interval: 10,
      });
      expect(first).toEqual(['redis:OPEN', 'redis:HALF_OPEN', 'redis:CLOSED']);
      expect(second).toEqual(['redis:OPEN']);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith('redis circuit breaker CLOSED → OPEN: ECONNRESET');
      expect(log.mock.calls.map(([message]) => String(message))).toEqual([
        'redis circuit breaker OPEN → HALF_OPEN',
        'redis circuit breaker HALF_OPEN → CLOSED',
      ]);
    });
  });

  describe('bulkhead', () => {
    it('turns calls beyond its capacity and queue away at once, and runs the queued ones later', async () => {
      // Capacity 2 → a queue of 1.
      const sut = new ResilienceService(settings({ cosmos: { bulkhead: 2, timeoutMs: 1_000 } }));
      const releases: (() => void)[] = [];
      let started = 0;
      const held = () =>
        new Promise<string>((resolve) => {
          started += 1;
          releases.push(() => resolve('doc'));
        });
      const running = [1, 2, 3].map(() => sut.run('cosmos', budget(2_000), held));
      await vi.waitFor(() => expect(started).toBe(2));

      const rejected = await failure(sut.run('cosmos', budget(2_000), held));
      expect(rejected.reason).toBe('BULKHEAD_FULL');
      expect(rejected.attempts).toBe(0);
      expect(started).toBe(2);

      releases[0]!();
      await vi.waitFor(() => expect(started).toBe(3));
      releases.slice(1).forEach((release) => release());
      await expect(Promise.all(running)).resolves.toEqual(['doc', 'doc', 'doc']);
    });

    it('gives a caller waiting in the queue up at its deadline', async () => {
      const sut = new ResilienceService(settings({ cosmos: { bulkhead: 1, timeoutMs: 1_000 } }));
      const holder = sut.run('cosmos', budget(200), () => new Promise<string>(() => undefined));
      const queued = scripted([fast({ ok: 'doc' })]);
      const { result, elapsedMs } = await timed(() => failure(sut.run('cosmos', budget(50), queued.call)));
      expect(result.reason).toBe('TIMEOUT');
      expect(queued.calls).toHaveLength(0);
      expect(elapsedMs).toBeLessThan(50 + slackMs);
      expect((await failure(holder)).reason).toBe('TIMEOUT');
    });

    it('keeps dependencies apart: a full Redis bulkhead leaves Cosmos calls alone', async () => {
      const sut = new ResilienceService(settings({ redis: { bulkhead: 1, timeoutMs: 1_000 } }));
      const holders = [1, 2].map(() =>
        sut.run('redis', budget(200), () => new Promise<string>(() => undefined)),
      );
      expect((await failure(sut.run('redis', budget(200), () => Promise.resolve('x')))).reason).toBe(
        'BULKHEAD_FULL',
      );
      await expect(sut.run('cosmos', budget(200), () => Promise.resolve('doc'))).resolves.toBe('doc');
      await Promise.all(holders.map((holder) => failure(holder)));
    });
  });

  describe('redis', () => {
    it('treats any error as the cache being unavailable and does not retry by default', async () => {
      const sut = new ResilienceService(settings({}));
      const down = scripted([fast({ fail: () => new Error('Connection is closed.') })]);
      const result = await failure(sut.run('redis', budget(300), down.call));
      expect(result.dependency).toBe('redis');
      expect(result.reason).toBe('UNAVAILABLE');
      expect(down.calls).toHaveLength(1);
    });

    it('cuts a slow command at its timeout', async () => {
      const sut = new ResilienceService(settings({ redis: { timeoutMs: 20 } }));
      const stuck = scripted([hang]);
      const { result, elapsedMs } = await timed(() => failure(sut.run('redis', budget(300), stuck.call)));
      expect(result.reason).toBe('TIMEOUT');
      expect(stuck.calls).toHaveLength(1);
      expect(elapsedMs).toBeLessThan(20 + slackMs);
    });

    it('retries when configured to', async () => {
      const sut = new ResilienceService(settings({ redis: { retries: 1 } }));
      const flaky = scripted([fast({ fail: () => new Error('ECONNRESET') }), fast({ ok: 'cached' })]);
      await expect(sut.run('redis', budget(300), flaky.call)).resolves.toBe('cached');
      expect(flaky.calls).toHaveLength(2);
    });
  });

  it('starts a deadline of the configured request budget', () => {
    const sut = new ResilienceService({ ...settings({}), requestBudgetMs: 250 });
    const deadline = sut.requestDeadline();
    deadlines.push(deadline);
    expect(deadline.budgetMs).toBe(250);
    expect(deadline.remainingMs()).toBeLessThanOrEqual(250);
    expect(deadline.remainingMs()).toBeGreaterThan(200);
  });
});
