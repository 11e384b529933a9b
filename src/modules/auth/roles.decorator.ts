import { SetMetadata } from '@nestjs/common';

export const roles = ['device', 'marketing', 'partner', 'ops'] as const;
export type Role = (typeof roles)[number];

export const ROLES_KEY = 'flick:roles';

/**
 * Declares who may call a query or mutation. Every operation must carry one; the auth guard
 * refuses operations without a declaration, and a test checks the whole schema.
 */
export const Roles = (...allowed: [Role, ...Role[]]) => SetMetadata(ROLES_KEY, allowed);

/** Any authenticated principal (catalogue reads). */
export const AnyRole = () => Roles(...roles);
