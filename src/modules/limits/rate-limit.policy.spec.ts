import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { roles } from '../auth/roles.decorator.js';
import { rateBudgetOf } from './rate-limit.policy.js';

const config = { budgets: { device: 600, marketing: 1200, partner: 120, ops: 600, anonymous: 60 } };

describe(rateBudgetOf.name, () => {
  it("counts a principal by its subject against its role's budget", () => {
    expect(rateBudgetOf({ subject: 'user-1', roles: ['device'] }, '203.0.113.9', config)).toEqual({
      id: 'sub:user-1',
      client: 'device',
      limit: 600,
    });
    expect(rateBudgetOf({ subject: 'svc-p', roles: ['partner'] }, '203.0.113.9', config)).toEqual({
      id: 'sub:svc-p',
      client: 'partner',
      limit: 120,
    });
  });

  it('counts a request without a principal by its address against the anonymous budget', () => {
    expect(rateBudgetOf(undefined, '2001:db8::1', config)).toEqual({
      id: 'ip:2001:db8::1',
      client: 'anonymous',
      limit: 60,
    });
  });

  it('gives a principal with several roles the largest of their budgets, wherever it calls from', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...roles), { minLength: 1 }),
        fc.ipV4(),
        fc.ipV4(),
        (granted, here, there) => {
          const budget = rateBudgetOf({ subject: 's', roles: granted }, here, config);
          expect(budget.limit).toBe(Math.max(...granted.map((role) => config.budgets[role])));
          expect(granted).toContain(budget.client);
          expect(rateBudgetOf({ subject: 's', roles: granted }, there, config)).toEqual(budget);
        },
      ),
    );
  });
});
