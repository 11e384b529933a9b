import { Injectable } from '@nestjs/common';

/**
 * Whether the process is shutting down. From the first SIGTERM/SIGINT on it is `draining`:
 * readiness answers 503, responses close their connection, and modules may stop taking new
 * background work. Injectable everywhere (see {@link ShutdownModule}).
 */
@Injectable()
export class ShutdownState {
  private drainingSince: number | undefined;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** When draining began (epoch ms), if it has. */
  get since(): number | undefined {
    return this.drainingSince;
  }

  /** Idempotent: the first call wins. */
  beginDraining(now = Date.now()): void {
    this.drainingSince ??= now;
  }
}
