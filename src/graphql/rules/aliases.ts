import type { ValidationRule } from 'graphql';
import { checkLimit, costSettings, measuringRule } from '../limits';

/**
 * Rejects operations with more than `max` aliased fields, counted as executed (an alias in a
 * fragment spread three times counts three times). Stops alias batching such as a thousand
 * `a1: login(...)` attempts in one request. Error code `GRAPHQL_ALIAS_LIMIT`.
 *
 * @example
 * ```ts
 * import { specifiedRules, validate } from 'graphql';
 * import { aliasLimitRule } from 'patchbay/graphql';
 *
 * const errors = validate(schema, document, [...specifiedRules, aliasLimitRule(30)]);
 * ```
 */
export function aliasLimitRule(max: number): ValidationRule {
  return measuringRule({ maxAliases: checkLimit(max, 'maxAliases') }, costSettings({}), undefined);
}
