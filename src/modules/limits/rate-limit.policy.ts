import type { Principal } from '../auth/principal.js';
import type { RateLimitConfig, RateLimitedClient } from '../config/app-config.js';

/** Whose budget a request is counted against. */
export interface RateBudget {
  /** The counter's id: the token subject, or the client address without a valid token. */
  id: string;
  /** The budget that applies: a role, or anonymous. */
  client: RateLimitedClient;
  /** Requests per window. */
  limit: number;
}

/**
 * A verified principal is counted by its subject, whatever address it calls from (a phone moving
 * between networks keeps its budget; a household behind one address does not share one), against
 * the largest budget among its roles. Without one, the client address is counted against the
 * anonymous budget.
 */
export const rateBudgetOf = (
  principal: Principal | undefined,
  address: string,
  config: Pick<RateLimitConfig, 'budgets'>,
): RateBudget => {
  if (principal === undefined || principal.roles.length === 0) {
    return { id: `ip:${address}`, client: 'anonymous', limit: config.budgets.anonymous };
  }
  const role = principal.roles.reduce((best, candidate) =>
    config.budgets[candidate] > config.budgets[best] ? candidate : best,
  );
  return { id: `sub:${principal.subject}`, client: role, limit: config.budgets[role] };
};
