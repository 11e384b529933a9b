import {
  startDevIssuer,
  type DevIssuer,
  type DevIssuerOptions,
  type DevTokenOptions,
} from '../../src/dev/dev-issuer.js';
import type { Role } from '../../src/modules/auth/roles.decorator.js';

/** The claims each role needs besides `roles`, for tests that only care about being let in. */
export const claimsFor: Record<Role, Record<string, unknown>> = {
  device: { account_id: 'acc-test-1', profile_ids: ['p-test-1', 'p-test-2'], country: 'US' },
  marketing: {},
  partner: { partner_id: 'partner-test-1' },
  ops: {},
};

export interface TestIssuer extends DevIssuer {
  /** The AUTH_* variables that point the API at this issuer; spread them into the env given to loadConfig. */
  env: { AUTH_ISSUER: string; AUTH_AUDIENCE: string; AUTH_JWKS_URL: string };
  /** A valid token for `role`; `claims` are merged over the role's defaults. */
  tokenFor(role: Role, claims?: Record<string, unknown>, options?: DevTokenOptions): Promise<string>;
}

/** Starts a development issuer for one test file; close it in `afterAll`. */
export const startTestIssuer = async (options: DevIssuerOptions = {}): Promise<TestIssuer> => {
  const issuer = await startDevIssuer(options);
  return {
    ...issuer,
    env: { AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: issuer.audience, AUTH_JWKS_URL: issuer.jwksUrl },
    tokenFor: (role, claims = {}, options) =>
      issuer.sign({ sub: `test-${role}`, roles: [role], ...claimsFor[role], ...claims }, options),
  };
};
