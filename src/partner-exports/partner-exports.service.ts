import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';

import { goldId } from '../gold/contract/common.schema.js';
import { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import type { Principal } from '../modules/auth/principal.js';
import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';
import { CursorSignatureError, CursorSigner } from '../modules/cursors/cursor-signer.js';
import {
  requestedExportId,
  type ExportFormat,
  type ExportRecord,
  type PartnerDatasetName,
} from './export-record.js';
import { ExportRecordsRepository } from './export-records.repository.js';
import { ExportWorker } from './export-worker.service.js';
import {
  badArgument,
  PartnerExportsError,
  PartnerExportsErrorCode,
  unavailable,
} from './partner-exports.errors.js';

export interface PartnerExportRequest {
  dataset: PartnerDatasetName;
  from: string;
  to: string;
  format: ExportFormat;
}

export interface ExportsPageView {
  edges: { cursor: string; node: ExportRecord }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export const EXPORT_LIMITS = { maxDays: 366, listDefault: 20, listMax: 100 } as const;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

const cursorPayload = z.strictObject({
  v: z.literal(1),
  k: z.literal('exports'),
  p: z.string().nullable(),
  c: z.string().min(1).max(2048),
});

/** Requests, lists and reads partner exports; a partner only ever reaches its own partition. */
@Injectable()
export class PartnerExportsService {
  constructor(
    private readonly records: ExportRecordsRepository,
    private readonly registry: SnapshotRegistry,
    private readonly worker: ExportWorker,
    private readonly signer: CursorSigner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Queues an export of the caller's own data, or returns the one already made for the same
   * dataset, range, format and gold snapshot.
   */
  async request(principal: Principal, input: PartnerExportRequest): Promise<ExportRecord> {
    const partnerId = partnerOf(principal);
    const { from, to } = this.checkRange(input.from, input.to);
    if (this.config.exports.storage === undefined) {
      throw unavailable('Partner exports are not enabled on this deployment.');
    }
    const goldSnapshotId = this.registry.get('partner_metrics')?.snapshotId;
    if (goldSnapshotId === undefined) {
      throw unavailable('No partner metrics have been published yet; try again later.');
    }
    const key = { partnerId, dataset: input.dataset, from, to, format: input.format, goldSnapshotId };
    const { stored, created } = await this.records.createOrGet({
      ...key,
      id: requestedExportId(key),
      trigger: 'REQUEST',
      status: 'QUEUED',
      error: null,
      rowCount: null,
      files: [],
      location: null,
      requestedAt: new Date().toISOString(),
      startedAt: null,
      completedAt: null,
      attempts: 0,
      lease: null,
      fence: null,
    });
    if (created) this.worker.wake();
    return stored.record;
  }

  /** The caller's exports (every partner's for operators), newest request first. */
  async list(
    principal: Principal,
    first: number | undefined,
    after: string | undefined,
  ): Promise<ExportsPageView> {
    const size = first ?? EXPORT_LIMITS.listDefault;
    if (!Number.isInteger(size) || size < 1 || size > EXPORT_LIMITS.listMax) {
      throw badArgument('first', `must be between 1 and ${EXPORT_LIMITS.listMax} (got ${size})`);
    }
    const scope = scopeOf(principal);
    // Exports off on this deployment: there are none (and maybe no container to read).
    if (this.config.exports.storage === undefined)
      return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
    let continuation: string | null = null;
    if (after !== undefined) {
      const payload = cursorPayload.safeParse(this.open(after));
      if (!payload.success) throw badArgument('after', 'is not a cursor of partner exports');
      if (payload.data.p !== scope)
        throw badArgument('after', 'was issued to another caller; omit it to start over');
      continuation = payload.data.c;
    }
    const page = await this.records.list(scope ?? undefined, size, continuation);
    const endCursor =
      page.continuation === null
        ? null
        : this.signer.seal({ v: 1, k: 'exports', p: scope, c: page.continuation });
    return {
      // Records are listed a Cosmos page at a time: every edge resumes where the page ends.
      edges: page.records.map((node) => ({ cursor: endCursor ?? '', node })),
      pageInfo: { hasNextPage: endCursor !== null, endCursor },
    };
  }

  /** One export: the caller's own (null for another partner's), any for operators. */
  async get(principal: Principal, id: string): Promise<ExportRecord | null> {
    const scope = scopeOf(principal);
    if (!goldId.safeParse(id).success || this.config.exports.storage === undefined) return null;
    if (scope === null) return this.records.findById(id);
    return (await this.records.get(scope, id))?.record ?? null;
  }

  private open(cursor: string): unknown {
    try {
      return this.signer.open(cursor);
    } catch (error) {
      if (error instanceof CursorSignatureError) throw badArgument('after', error.message);
      throw error;
    }
  }

  private checkRange(from: string, to: string): { from: string; to: string } {
    const start = parseDay('from', from);
    const end = parseDay('to', to);
    if (start > end) throw badArgument('from', `must not be after "to" (${from} > ${to})`);
    const days = (end - start) / DAY_MS + 1;
    if (days > EXPORT_LIMITS.maxDays) {
      throw badArgument(
        'to',
        `must be at most ${EXPORT_LIMITS.maxDays} days after "from" (the range has ${days})`,
      );
    }
    const today = new Date().toISOString().slice(0, 10);
    if (to > today) throw badArgument('to', `must not be in the future (today is ${today} UTC)`);
    return { from, to };
  }
}

const parseDay = (argument: string, value: string): number => {
  const time = DAY.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== value) {
    throw badArgument(argument, `must be a date as YYYY-MM-DD (got "${value}")`);
  }
  return time;
};

/** The partner a partner token acts for; operators act for nobody (they read, never request). */
const partnerOf = (principal: Principal): string => {
  if (principal.partnerId === undefined || !principal.roles.includes('partner')) {
    throw new PartnerExportsError(
      PartnerExportsErrorCode.NOT_A_PARTNER,
      'Only a partner token (with a partner_id) can request exports.',
    );
  }
  return principal.partnerId;
};

/** Whose exports the caller may see: a partner its own, operators (null) everyone's. */
const scopeOf = (principal: Principal): string | null => {
  if (principal.roles.includes('partner') && principal.partnerId !== undefined) return principal.partnerId;
  if (principal.roles.includes('ops')) return null;
  throw new PartnerExportsError(
    PartnerExportsErrorCode.NOT_A_PARTNER,
    'Only partner tokens (with a partner_id) and operators can read exports.',
  );
};
