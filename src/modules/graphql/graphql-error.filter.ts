import { Catch, type ExceptionFilter } from '@nestjs/common';
import { GraphQLError } from 'graphql';

/**
 * Hands GraphQL errors (refusals, bad arguments) to Apollo as they are. Without it Nest's default
 * external filter logs every one at error level with a stack trace; they are expected outcomes,
 * written for the client, not faults. Anything else still reaches formatGraphQLError, which logs it.
 */
@Catch(GraphQLError)
export class GraphQLErrorFilter implements ExceptionFilter<GraphQLError> {
  catch(error: GraphQLError): never {
    throw error;
  }
}
