import { setMaxListeners } from 'node:events';

/** Milliseconds on a clock that only moves forward. */
export type Clock = () => number;

const monotonic: Clock = () => performance.now();

/**
 * The time budget of one request, shared by all its dependency calls: how much is left, and a signal
 * that aborts when nothing is. Created once per request by the code that receives it.
 */
export class Deadline implements Disposable {
  /** Aborts (with a `TimeoutError` DOMException) when the budget runs out. */
  readonly signal: AbortSignal;
  private readonly timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly budgetMs: number,
    private readonly endsAt: number,
    private readonly now: Clock,
  ) {
    const controller = new AbortController();
    // Every call of the request listens to this signal at once; the listeners leave when the calls settle.
    setMaxListeners(0, controller.signal);
    this.signal = controller.signal;
    const abort = () =>
      controller.abort(new DOMException(`request budget of ${budgetMs} ms exhausted`, 'TimeoutError'));
    const remaining = this.remainingMs();
    if (remaining <= 0) {
      abort();
    } else {
      this.timer = setTimeout(abort, remaining);
      // A budget alone never keeps the process alive.
      this.timer.unref();
    }
  }

  /** A budget of `ms` from now, measured on `now` (a monotonic clock by default). */
  static after(ms: number, now: Clock = monotonic): Deadline {
    return new Deadline(ms, now() + ms, now);
  }

  /** Milliseconds left, never negative; none once the signal has aborted (its timer may fire a hair early). */
  remainingMs(): number {
    return this.signal.aborted ? 0 : Math.max(0, this.endsAt - this.now());
  }

  get expired(): boolean {
    return this.remainingMs() <= 0;
  }

  /** Stops the timer once the request is done; the signal then never aborts. */
  dispose(): void {
    clearTimeout(this.timer);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
