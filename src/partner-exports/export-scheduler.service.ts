import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';

import { CatalogService } from '../catalog/catalog.service.js';
import { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { DistributedLock, type LockLease } from '../modules/cache/distributed-lock.js';
import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';
import { dailyExportId, type ExportRecord } from './export-record.js';
import { ExportRecordsRepository } from './export-records.repository.js';
import { ExportWorker } from './export-worker.service.js';

const DAY_MS = 86_400_000;
const LOCK = 'partner-exports-daily';

/** Days (YYYY-MM-DD) of title performance whose daily export is due at `now`, oldest first. */
export const dueDays = (
  now: Date,
  daily: { hour: number; minute: number },
  catchUpDays: number,
): string[] => {
  const days: string[] = [];
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (let back = catchUpDays; back >= 0; back -= 1) {
    const runDay = today - back * DAY_MS;
    if (now.getTime() < runDay + (daily.hour * 60 + daily.minute) * 60_000) continue;
    // The run of day D exports day D-1, complete by then.
    days.push(new Date(runDay - DAY_MS).toISOString().slice(0, 10));
  }
  return days;
};

/**
 * Every partner's daily export of the previous day's title performance, at EXPORTS_DAILY_AT (UTC),
 * making up the days of the catch-up window it missed. One replica at a time runs the schedule (a
 * Redis lock with expiry; its fencing token goes into the records it creates, and a holder that
 * has lost the lock stops), and each day's export has a fixed id, so even two holders could not
 * create it twice.
 */
@Injectable()
export class ExportScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExportScheduler.name);
  /** `${partnerId}:${day}` known to exist; saves a write per partner per poll. */
  private readonly done = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly records: ExportRecordsRepository,
    private readonly registry: SnapshotRegistry,
    private readonly catalog: CatalogService,
    private readonly lock: DistributedLock,
    private readonly worker: ExportWorker,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.exports.storage === undefined) return;
    if (!this.lock.shared) {
      this.logger.warn('no Redis: the daily export schedule is locked within this process only');
    }
    this.timer = setInterval(() => void this.tick(), this.config.exports.pollMs);
    this.timer.unref();
    void this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass of the schedule; concurrent calls share it. */
  tick(now = new Date()): Promise<void> {
    this.running ??= this.run(now)
      .catch((error: unknown) => this.logger.warn(`daily exports not scheduled: ${(error as Error).message}`))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(now: Date): Promise<void> {
    const { daily, catchUpDays, pollMs } = this.config.exports;
    const goldSnapshotId = this.registry.get('partner_metrics')?.snapshotId;
    if (goldSnapshotId === undefined || !this.catalog.isReady()) return;
    const days = dueDays(now, daily, catchUpDays);
    const partners = this.catalog.partnerIds();
    const missing = days.flatMap((day) =>
      partners
        .filter((partnerId) => !this.done.has(`${partnerId}:${day}`))
        .map((partnerId) => ({ partnerId, day })),
    );
    if (missing.length === 0) return;

    const lease = await this.lock.acquire(LOCK, Math.max(30_000, pollMs * 4));
    if (lease === null) return;
    try {
      let created = 0;
      for (const { partnerId, day } of missing) {
        if (!(await lease.isHeld())) {
          this.logger.warn(`lost the daily-export lock (fence ${lease.fence}); another replica goes on`);
          return;
        }
        const result = await this.records.createOrGet(
          this.dailyRecord(partnerId, day, goldSnapshotId, lease, now),
        );
        this.done.add(`${partnerId}:${day}`);
        if (result.created) created += 1;
      }
      if (created > 0) {
        this.logger.log(`scheduled ${created} daily partner exports (fence ${lease.fence})`);
        this.worker.wake();
      }
    } finally {
      await lease.release().catch(() => undefined);
    }
  }

  private dailyRecord(
    partnerId: string,
    day: string,
    goldSnapshotId: string,
    lease: LockLease,
    now: Date,
  ): ExportRecord {
    return {
      id: dailyExportId(partnerId, 'TITLE_PERFORMANCE', day),
      partnerId,
      dataset: 'TITLE_PERFORMANCE',
      from: day,
      to: day,
      format: 'PARQUET',
      goldSnapshotId,
      trigger: 'SCHEDULE',
      status: 'QUEUED',
      error: null,
      rowCount: null,
      files: [],
      location: null,
      requestedAt: now.toISOString(),
      startedAt: null,
      completedAt: null,
      attempts: 0,
      lease: null,
      fence: lease.fence,
    };
  }
}
