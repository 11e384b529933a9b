import { Catch } from '@nestjs/common';
import type { GqlExceptionFilter } from '@nestjs/graphql';
import type { GraphQLError } from 'graphql';

import { CatalogError, toGraphQLError } from './catalog.errors.js';

/**
 * Turns a CatalogError thrown by a catalogue query into its GraphQL error. Returning (not throwing)
 * the error keeps Nest's default handler from logging every bad argument as a server error. Nest
 * applies filters to root fields only; field resolvers throw `toGraphQLError(...)` themselves.
 */
@Catch(CatalogError)
export class CatalogErrorFilter implements GqlExceptionFilter<CatalogError, GraphQLError> {
  catch(error: CatalogError): GraphQLError {
    return toGraphQLError(error);
  }
}
