import { Catch, type ExceptionFilter } from '@nestjs/common';

import { AuthError } from './auth.errors.js';

/**
 * Hands refusals to GraphQL as they are. Without it Nest's default external filter logs every
 * refused request at error level with a stack trace; a refusal is an expected outcome, not a fault.
 */
@Catch(AuthError)
export class AuthErrorFilter implements ExceptionFilter<AuthError> {
  catch(error: AuthError): never {
    throw error;
  }
}
