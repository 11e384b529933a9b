import type { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import { isAvailable, type CatalogTitle } from '../catalog/catalog-title.js';
import type { ProfileRecord } from '../gold/contract/profiles.schema.js';

/**
 * What the serve-time rules (ARCHITECTURE §5) need to know about the viewer. Built once per request,
 * best with {@link serveContextOf}.
 */
export interface ServeContext {
  /** ISO 3166-1 alpha-2 code, from the verified token. */
  readonly country: string;
  /** The viewer's day, `YYYY-MM-DD` in UTC: licence windows are checked against it. */
  readonly day: string;
  /** The highest maturity level the viewer may see: 1 little kids … 4 adults. */
  readonly maturityLevel: number;
  /** Titles the profile has finished: never recommended again. */
  readonly watched: ReadonlySet<string>;
}

/**
 * Playback progress of one title, as in gold `continueWatching` (ISO date-time) and in the live
 * progress store (either form).
 */
export interface PlaybackProgress {
  readonly titleId: string;
  readonly positionSeconds: number;
  readonly durationSeconds: number;
  readonly updatedAt: string | Date;
}

/** Past this share of its duration a title counts as finished. */
export const COMPLETED_FRACTION = 0.95;

export interface MergedProgress {
  /** One entry per title still in progress, newest `updatedAt` first. */
  readonly inProgress: readonly PlaybackProgress[];
  /** Titles whose newest progress is past {@link COMPLETED_FRACTION}: watched, for every row. */
  readonly completed: ReadonlySet<string>;
}

const EMPTY_SET: ReadonlySet<string> = new Set<string>();

/**
 * Merges the gold snapshot's continue-watching entries with live progress: per title the entry with
 * the newest `updatedAt` wins (live wins a tie, being written after the snapshot); a winner past
 * {@link COMPLETED_FRACTION} of its duration is finished rather than in progress. Entries with a
 * non-positive duration, a negative position or an unreadable date are ignored.
 */
export const mergeProgress = (
  gold: readonly PlaybackProgress[],
  live: readonly PlaybackProgress[],
): MergedProgress => {
  if (gold.length === 0 && live.length === 0) return { inProgress: [], completed: EMPTY_SET };
  const newest = new Map<string, { entry: PlaybackProgress; time: number }>();
  const consider = (entry: PlaybackProgress): void => {
    const time =
      typeof entry.updatedAt === 'string' ? Date.parse(entry.updatedAt) : entry.updatedAt.getTime();
    if (
      Number.isNaN(time) ||
      !(entry.durationSeconds > 0) ||
      !(entry.positionSeconds >= 0) ||
      !Number.isFinite(entry.positionSeconds)
    ) {
      return;
    }
    const current = newest.get(entry.titleId);
    if (current === undefined || time >= current.time) newest.set(entry.titleId, { entry, time });
  };
  for (const entry of gold) consider(entry);
  for (const entry of live) consider(entry);

  const inProgress: { entry: PlaybackProgress; time: number }[] = [];
  const completed = new Set<string>();
  for (const winner of newest.values()) {
    const { positionSeconds, durationSeconds, titleId } = winner.entry;
    if (positionSeconds > COMPLETED_FRACTION * durationSeconds) completed.add(titleId);
    else inProgress.push(winner);
  }
  inProgress.sort(
    (a, b) =>
      b.time - a.time || (a.entry.titleId < b.entry.titleId ? -1 : a.entry.titleId > b.entry.titleId ? 1 : 0),
  );
  return { inProgress: inProgress.map(({ entry }) => entry), completed };
};

export interface ServeContextParams {
  country: string;
  day: string;
  /** The profile's gold document; null when unknown (new member, no personal data, degraded). */
  profile: ProfileRecord | null;
  /** Live progress; titles finished there count as watched. */
  progress?: readonly PlaybackProgress[];
  /** The maturity level to serve when the profile is unknown (the caller's policy). */
  maturityLevelWhenUnknown: number;
}

/** The serve context of one request: the profile's maturity level and everything it finished. */
export const serveContextOf = ({
  country,
  day,
  profile,
  progress = [],
  maturityLevelWhenUnknown,
}: ServeContextParams): ServeContext => {
  if (profile === null) return { country, day, maturityLevel: maturityLevelWhenUnknown, watched: EMPTY_SET };
  const watched = new Set(profile.watched);
  for (const titleId of mergeProgress(profile.continueWatching, progress).completed) watched.add(titleId);
  return { country, day, maturityLevel: profile.maturityLevel, watched };
};

/** The rules that do not depend on the rest of the page: licence, maturity, not watched. */
export const isServable = (title: CatalogTitle, context: ServeContext): boolean =>
  title.maturityLevel <= context.maturityLevel &&
  !context.watched.has(title.id) &&
  isAvailable(title, context.country, context.day);

/**
 * The serve-time rules for one page: a title must be in the catalogue, licensed in the viewer's
 * country on the day, within the maturity level, not watched, and not already on the page. Rows
 * take titles in page order, so an earlier row keeps a title; each row keeps its ranked order.
 */
export class PageFilter {
  private readonly seen = new Set<string>();

  constructor(
    private readonly catalog: CatalogSnapshot,
    private readonly context: ServeContext,
    /** Titles finished since the context was built (e.g. past 95 % in live progress). */
    private readonly alsoWatched: ReadonlySet<string> = EMPTY_SET,
  ) {}

  /** Whether the title with this id is already on the page. */
  has(titleId: string): boolean {
    return this.seen.has(titleId);
  }

  /** Puts `title` on the page when the rules allow it; true when it was taken. */
  take(title: CatalogTitle | null): boolean {
    if (
      title === null ||
      this.seen.has(title.id) ||
      this.alsoWatched.has(title.id) ||
      !isServable(title, this.context)
    ) {
      return false;
    }
    this.seen.add(title.id);
    return true;
  }

  /** {@link take} for a title id, looked up in the catalogue; the title when taken, else null. */
  takeId(titleId: string): CatalogTitle | null {
    if (this.seen.has(titleId)) return null;
    const title = this.catalog.get(titleId);
    return this.take(title) ? title : null;
  }

  /** The titles of `titleIds` the page takes, in order, at most `limit`. */
  takeIds(titleIds: readonly string[], limit: number): CatalogTitle[] {
    const taken: CatalogTitle[] = [];
    for (let i = 0; i < titleIds.length && taken.length < limit; i++) {
      const title = this.takeId(titleIds[i] as string);
      if (title !== null) taken.push(title);
    }
    return taken;
  }
}
