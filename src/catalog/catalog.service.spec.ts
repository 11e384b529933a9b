import { setImmediate } from 'node:timers/promises';

import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { CatalogRecord } from '../gold/contract/catalog.schema.js';
import type { GoldDatasetName } from '../gold/contract/gold-datasets.js';
import type { ActiveSnapshot, SnapshotListener } from '../gold/snapshot-registry.service.js';
import { StoreError } from '../modules/cosmos/cosmos.errors.js';
import type { LoadSnapshotOptions } from './catalog.repository.js';
import { CatalogSnapshot } from './catalog-snapshot.js';
import { CatalogErrorCode } from './catalog.errors.js';
import { CatalogService } from './catalog.service.js';
import { catalogRecordOf } from './testing/catalog-records.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

const deferred = <T>(): Deferred<T> => {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

/** The registry's subscribe contract: replays the active snapshots, then reports changes. */
class FakeSnapshotRegistry {
  private readonly listeners = new Set<SnapshotListener>();
  private readonly active = new Map<GoldDatasetName, ActiveSnapshot>();

  subscribe(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    for (const snapshot of this.active.values()) listener(snapshot);
    return () => this.listeners.delete(listener);
  }

  activate(snapshotId: string, dataset: GoldDatasetName = 'catalog'): void {
    const snapshot = { dataset, snapshotId, completedAt: '2026-03-15T00:00:00Z' };
    this.active.set(dataset, snapshot);
    for (const listener of this.listeners) listener(snapshot);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

/**
 * Strict fake of the repository: answers only the loads a test scripted, in order per snapshot;
 * any other call fails the test.
 */
class FakeCatalogRepository {
  readonly calls: string[] = [];
  private readonly scripts = new Map<string, (() => Promise<CatalogRecord[]>)[]>();

  willLoad(snapshotId: string, records: CatalogRecord[]): this {
    return this.script(snapshotId, () => Promise.resolve(records));
  }

  willFail(snapshotId: string, error: Error): this {
    return this.script(snapshotId, () => Promise.reject(error));
  }

  /** The load waits until the test settles the returned deferred. */
  willWait(snapshotId: string): Deferred<CatalogRecord[]> {
    const pending = deferred<CatalogRecord[]>();
    this.script(snapshotId, () => pending.promise);
    return pending;
  }

  loadSnapshot(snapshotId: string, options?: LoadSnapshotOptions): Promise<CatalogRecord[]> {
    this.calls.push(snapshotId);
    expect(options?.signal).toBeInstanceOf(AbortSignal);
    const next = this.scripts.get(snapshotId)?.shift();
    if (next === undefined) throw new Error(`unexpected loadSnapshot(${snapshotId})`);
    return next();
  }

  private script(snapshotId: string, answer: () => Promise<CatalogRecord[]>): this {
    this.scripts.set(snapshotId, [...(this.scripts.get(snapshotId) ?? []), answer]);
    return this;
  }
}

const titlesNamed = (...names: string[]): CatalogRecord[] =>
  names.map((name, i) =>
    catalogRecordOf({
      titleId: `t${i}`,
      name,
      availability: [{ country: 'US', from: '2026-03-15', to: null }],
    }),
  );

describe(CatalogService.name, () => {
  let registry: FakeSnapshotRegistry;
  let repository: FakeCatalogRepository;
  let sut: CatalogService;

  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    registry = new FakeSnapshotRegistry();
    repository = new FakeCatalogRepository();
    sut = new CatalogService(repository, registry, {
      initialRetryDelayMs: 1,
      maxRetryDelayMs: 5,
      now: () => new Date('2026-03-15T23:59:59Z'),
    });
  });

  afterEach(() => {
    sut.onApplicationShutdown();
    vi.restoreAllMocks();
  });

  it('refuses queries with CATALOG_NOT_LOADED until a snapshot is loaded', async () => {
    const pending = repository.willWait('s1');
    sut.onModuleInit();
    registry.activate('s1');
    expect(sut.isReady()).toBe(false);
    expect(sut.snapshotId()).toBeUndefined();
    expect(() => sut.getTitle('t0')).toThrow(
      expect.objectContaining({ code: CatalogErrorCode.CATALOG_NOT_LOADED }),
    );

    pending.resolve(titlesNamed('Alpha'));
    await sut.whenReady();
    expect(sut.isReady()).toBe(true);
    expect(sut.snapshotId()).toBe('s1');
    expect(sut.getTitle('t0')?.name).toBe('Alpha');
  });

  it('loads the snapshot already active when it subscribes, and ignores other datasets', async () => {
    repository.willLoad('s1', titlesNamed('Alpha'));
    registry.activate('s1');
    registry.activate('p1', 'profiles');
    sut.onModuleInit();
    await sut.whenLoaded('s1');
    registry.activate('p2', 'profiles');
    registry.activate('s1');
    expect(repository.calls).toEqual(['s1']);
  });

  it('swaps to a new snapshot once it is loaded, while requests keep the snapshot they started with', async () => {
    repository.willLoad('s1', titlesNamed('Old'));
    sut.onModuleInit();
    registry.activate('s1');
    await sut.whenLoaded('s1');
    const request = {};
    expect(sut.getTitle('t0', request)?.name).toBe('Old');

    const pending = repository.willWait('s2');
    registry.activate('s2');
    expect(sut.getTitle('t0')?.name).toBe('Old');
    pending.resolve(titlesNamed('New', 'Newer'));
    await sut.whenLoaded('s2');

    expect(sut.snapshotId()).toBe('s2');
    expect(sut.getTitle('t0')?.name).toBe('New');
    expect(sut.getTitle('t0', request)?.name).toBe('Old');
    expect(sut.getTitles(['t1', 't0'], request)).toEqual([null, expect.objectContaining({ name: 'Old' })]);
    expect(sut.getTitles(['t1', 't0'], {}).map((title) => title?.name)).toEqual(['Newer', 'New']);
  });

  it('answers every query while a snapshot is loaded and swapped in', async () => {
    repository.willLoad('s1', titlesNamed('Old'));
    sut.onModuleInit();
    registry.activate('s1');
    await sut.whenLoaded('s1');
    const big = Array.from({ length: 5000 }, (_, i) => `New title ${i}`);
    repository.willLoad('s2', titlesNamed(...big));

    registry.activate('s2');
    const loaded = sut.whenLoaded('s2');
    let swapped = false;
    void loaded.then(() => (swapped = true));
    const answers: string[] = [];
    const failures: unknown[] = [];
    // Query until a few rounds after the swap (bounded, should the swap never come).
    for (let round = 0, afterSwap = 0; afterSwap < 3 && round < 10_000; round++) {
      if (swapped) afterSwap++;
      try {
        const page = sut.browse({ availableIn: 'US' }, 3, undefined);
        const found = sut.search('title', 1).map((title) => title.name);
        answers.push(`${page.totalCount}:${sut.getTitle('t0')?.name}:${found.join()}`);
      } catch (error) {
        failures.push(error);
      }
      // Each round yields to the event loop, letting the background build make progress.
      await setImmediate();
    }

    expect(failures).toEqual([]);
    expect(answers[0]).toBe('1:Old:');
    expect(answers.at(-1)).toBe('5000:New title 0:New title 0');
    // Old answers, then new ones: the swap happens once, never back and forth.
    const switchedAt = answers.findIndex((answer) => answer !== '1:Old:');
    expect(answers.slice(switchedAt).every((answer) => answer === answers.at(-1))).toBe(true);
    expect(switchedAt).toBeGreaterThan(1);
  });

  it('keeps serving the old catalogue when a load fails, logs it, and retries', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    repository.willLoad('s1', titlesNamed('Old'));
    sut.onModuleInit();
    registry.activate('s1');
    await sut.whenLoaded('s1');

    repository
      .willFail(
        's2',
        new StoreError('UNAVAILABLE', 'load catalog snapshot s2: ECONNRESET', undefined, undefined),
      )
      .willLoad('s2', []);
    const retried = repository.willWait('s2');
    registry.activate('s2');
    await vi.waitFor(() => expect(repository.calls).toEqual(['s1', 's2', 's2', 's2']));

    expect(sut.snapshotId()).toBe('s1');
    expect(sut.getTitle('t0')?.name).toBe('Old');
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/s2: load attempt 1 failed, still serving s1: .*ECONNRESET/),
    );
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/s2: load attempt 2 failed.*no titles/));

    retried.resolve(titlesNamed('New'));
    await sut.whenLoaded('s2');
    expect(sut.getTitle('t0')?.name).toBe('New');
  });

  it('drops a load that another snapshot superseded', async () => {
    repository.willLoad('s1', titlesNamed('One'));
    sut.onModuleInit();
    registry.activate('s1');
    await sut.whenLoaded('s1');
    const slow = repository.willWait('s2');
    repository.willLoad('s3', titlesNamed('Three'));

    registry.activate('s2');
    const waitingForS2 = sut.whenLoaded('s2');
    registry.activate('s3');
    await expect(waitingForS2).rejects.toThrow(
      /s2 will not be loaded: catalogue snapshot s3 became active first/,
    );
    await sut.whenLoaded('s3');
    slow.resolve(titlesNamed('Two'));
    await setImmediate();
    await setImmediate();
    expect(sut.snapshotId()).toBe('s3');
    expect(sut.getTitle('t0')?.name).toBe('Three');
  });

  it('drops a snapshot another one overtook while it was being built', async () => {
    const buildInBackground = CatalogSnapshot.buildInBackground.bind(CatalogSnapshot);
    let s2Built: Promise<CatalogSnapshot> | undefined;
    // s3 becomes active just as s2's records are in and its build starts.
    vi.spyOn(CatalogSnapshot, 'buildInBackground').mockImplementation((snapshotId, records) => {
      const built = buildInBackground(snapshotId, records);
      if (snapshotId === 's2') {
        s2Built = built;
        registry.activate('s3');
      }
      return built;
    });
    repository.willLoad('s1', titlesNamed('One'));
    sut.onModuleInit();
    registry.activate('s1');
    await sut.whenLoaded('s1');
    repository.willLoad('s2', titlesNamed('Two'));
    const s3 = repository.willWait('s3');

    registry.activate('s2');
    await vi.waitFor(() => expect(s2Built).toBeDefined());
    await s2Built;
    await setImmediate();
    expect(sut.snapshotId()).toBe('s1');

    s3.resolve(titlesNamed('Three'));
    await sut.whenLoaded('s3');
    expect(sut.getTitle('t0')?.name).toBe('Three');
  });

  it('goes back to a snapshot it still holds without loading it again', async () => {
    repository.willLoad('s1', titlesNamed('One'));
    sut.onModuleInit();
    registry.activate('s1');
    await sut.whenLoaded('s1');
    const never = repository.willWait('s2');
    registry.activate('s2');
    registry.activate('s1');
    never.resolve(titlesNamed('Two'));
    await setImmediate();
    expect(sut.snapshotId()).toBe('s1');
    expect(repository.calls).toEqual(['s1', 's2']);
  });

  it('judges availability on the UTC date of its clock', async () => {
    repository.willLoad('s1', titlesNamed('Alpha'));
    sut.onModuleInit();
    registry.activate('s1');
    await sut.whenLoaded('s1');
    const title = sut.getTitle('t0');
    expect(title).not.toBeNull();
    expect(sut.today()).toBe('2026-03-15');
    expect(sut.isAvailable(title!, 'US')).toBe(true);
    expect(sut.isAvailable(title!, 'US', '2026-03-14')).toBe(false);
    expect(sut.browse({ availableIn: 'US' }, 10, undefined).totalCount).toBe(1);
  });

  it('unsubscribes and stops waiting on shutdown', async () => {
    repository.willWait('s1');
    sut.onModuleInit();
    registry.activate('s1');
    const ready = sut.whenReady();
    expect(registry.listenerCount).toBe(1);
    sut.onApplicationShutdown();
    expect(registry.listenerCount).toBe(0);
    await expect(ready).rejects.toThrow(/shutting down/);
  });
});
