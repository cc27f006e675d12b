import type { GraphQLError, ValidationRule } from 'graphql';
import { rewriteError } from '../limits';

// graphql-js appends suggestions as one sentence: ` Did you mean "name", "email", or "id"?`
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * Removes "Did you mean …?" from the messages of every validation error reported in the same
 * `validate()` call, so an API with introspection off does not leak field, argument, type and
 * enum names one typo at a time. It wraps the context's error reporting, so its place in the
 * rule list does not matter. Execution errors (bad variable values) are outside validation: on
 * graphql 17 also pass `hideSuggestions: true` to `execute`.
 *
 * @example
 * ```ts
 * import { specifiedRules, validate } from 'graphql';
 * import { maskSuggestionsRule } from 'patchbay/graphql';
 *
 * validate(schema, parse('{ usr { id } }'), [...specifiedRules, maskSuggestionsRule()]);
 * // [GraphQLError: Cannot query field "usr" on type "Query".]
 * ```
 */
export function maskSuggestionsRule(): ValidationRule {
  return (context) => {
    const report = context.reportError.bind(context);
    context.reportError = (error) => report(maskSuggestions(error));
    return {};
  };
}

/**
 * `error` without its "Did you mean …?" sentence, or `error` itself when it has none: for errors
 * produced outside `validate()`, such as graphql 16's variable coercion errors.
 *
 * @example
 * ```ts
 * import { maskSuggestions } from 'patchbay/graphql';
 *
 * const result = await execute({ schema, document, variableValues });
 * const errors = result.errors?.map(maskSuggestions);
 * ```
 */
export function maskSuggestions(error: GraphQLError): GraphQLError {
  const message = error.message.replace(SUGGESTION, '');
  if (message === error.message) return error;
  return rewriteError(error, message);
}
