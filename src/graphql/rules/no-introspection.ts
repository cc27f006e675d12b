import { GraphQLError, type ValidationRule } from 'graphql';

/**
 * Rejects `__schema` and `__type` anywhere in the document (fragments included); `__typename`
 * stays allowed, clients need it for unions and caches. Error code
 * `GRAPHQL_INTROSPECTION_DISABLED`.
 *
 * @example
 * ```ts
 * import { specifiedRules, validate } from 'graphql';
 * import { noIntrospectionRule } from 'patchbay/graphql';
 *
 * const errors = validate(schema, parse('{ __schema { types { name } } }'), [...specifiedRules, noIntrospectionRule()]);
 * ```
 */
export function noIntrospectionRule(): ValidationRule {
  return (context) => ({
    Field(node) {
      const name = node.name.value;
      if (name === '__schema' || name === '__type') {
        context.reportError(
          new GraphQLError(`Introspection is disabled: "${name}" cannot be queried.`, {
            nodes: [node],
            extensions: { code: 'GRAPHQL_INTROSPECTION_DISABLED' },
          }),
        );
      }
    },
  });
}
