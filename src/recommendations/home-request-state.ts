import type { ProgressEntry } from '../modules/cache/playback-progress.store.js';
import type { ResponseMeta } from './models/response-meta.model.js';

/**
 * What the home response cache and the home page share about one GraphQL request, keyed by the
 * request's GraphQL context object (which lives exactly as long as the request): the playback
 * progress the cache already read for its key (so the page does not read it again), and how the
 * page was served (only a page served without degradation may be cached).
 */
const progressRead = new WeakMap<object, { profileId: string; entries: readonly ProgressEntry[] }>();
const served = new WeakMap<object, ResponseMeta>();

export const rememberProgress = (
  context: object,
  profileId: string,
  entries: readonly ProgressEntry[],
): void => {
  progressRead.set(context, { profileId, entries });
};

/** The progress read earlier in this request for `profileId`, if any. */
export const progressReadEarlier = (context: object, profileId: string): ProgressEntry[] | undefined => {
  const read = progressRead.get(context);
  return read?.profileId === profileId ? [...read.entries] : undefined;
};

export const rememberServedHome = (context: object, meta: ResponseMeta): void => {
  served.set(context, meta);
};

export const servedHome = (context: object): ResponseMeta | undefined => served.get(context);
