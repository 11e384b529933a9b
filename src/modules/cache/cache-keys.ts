/**
 * Redis key layout. Everything lives under one versioned namespace, so a change of the stored
 * format moves to `flick:v2:` instead of misreading old values.
 *
 * Hash tags (Redis Cluster hashes only the text between the first `{` and the next `}`):
 * - cached values keep the caller's key as is, tag included (e.g. `profile:{p-123}:g8a12`), so a
 *   caller decides which of its keys share a slot. The cache itself needs none to: a value's fresh
 *   and last-good copies are written with two independent SETs, because their keys may differ
 *   (a last-good key without the snapshot id).
 * - a profile's playback progress is one hash, `{progress:<profileId>}`, which the record script
 *   updates atomically; the tag puts any later per-profile progress key (an index, say) in the
 *   same slot, so one script or MULTI may touch both.
 */
export const NAMESPACE = 'flick:v1:';

export const freshKey = (key: string): string => `${NAMESPACE}${key}`;

export const lastGoodKey = (key: string): string => `${NAMESPACE}last-good:${key}`;

export const progressKey = (profileId: string): string => `${NAMESPACE}{progress:${profileId}}`;
