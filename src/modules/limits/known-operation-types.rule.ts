import { GraphQLError, type ValidationRule } from 'graphql';

/**
 * Refuses an operation of a type the schema does not have (a `subscription` here). graphql-js 16
 * lets it through validation and fails it at execution with an error that reaches the client as
 * INTERNAL_SERVER_ERROR; graphql-js 17 has this rule built in.
 */
export const knownOperationTypesRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (context.getSchema().getRootType(node.operation) === undefined) {
      context.reportError(
        new GraphQLError(`This service has no ${node.operation} operations.`, { nodes: node }),
      );
    }
  },
});
