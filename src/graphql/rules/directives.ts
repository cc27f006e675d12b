import type { ValidationRule } from 'graphql';
import { checkLimit, costSettings, measuringRule } from '../limits';

/**
 * Rejects operations with more than `max` directive applications, counted as executed. Stops
 * directive overloading (`@skip(if: false)` repeated thousands of times), which costs the server
 * in every later phase. Error code `GRAPHQL_DIRECTIVE_LIMIT`.
 *
 * @example
 * ```ts
 * import { specifiedRules, validate } from 'graphql';
 * import { directiveLimitRule } from 'patchbay/graphql';
 *
 * const errors = validate(schema, document, [...specifiedRules, directiveLimitRule(50)]);
 * ```
 */
export function directiveLimitRule(max: number): ValidationRule {
  return measuringRule({ maxDirectives: checkLimit(max, 'maxDirectives') }, costSettings({}), undefined);
}
