import type { Role } from './roles.decorator.js';

/** Who is calling, taken from a verified token; nothing in it comes from a client-supplied argument. */
export interface Principal {
  /** The token's `sub`. */
  readonly subject: string;
  /** The Flick roles the token carries (never empty). */
  readonly roles: readonly Role[];
  /** Device tokens: the account. */
  readonly accountId?: string;
  /** Device tokens: the account's profiles; a device may act for these profiles only. */
  readonly profileIds?: readonly string[];
  /** Device tokens: subscription country, ISO 3166-1 alpha-2. */
  readonly country?: string;
  /** Partner tokens: the partner. */
  readonly partnerId?: string;
}
