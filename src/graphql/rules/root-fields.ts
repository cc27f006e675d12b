import type { ValidationRule } from 'graphql';
import { checkLimit, costSettings, measuringRule } from '../limits';

/**
 * Rejects operations that select more than `max` fields at the top level (fragments expanded).
 * Each root field is an entry point with its own resolver, often its own database query. Error
 * code `GRAPHQL_ROOT_FIELD_LIMIT`.
 *
 * @example
 * ```ts
 * import { specifiedRules, validate } from 'graphql';
 * import { rootFieldLimitRule } from 'patchbay/graphql';
 *
 * const errors = validate(schema, document, [...specifiedRules, rootFieldLimitRule(20)]);
 * ```
 */
export function rootFieldLimitRule(max: number): ValidationRule {
  return measuringRule({ maxRootFields: checkLimit(max, 'maxRootFields') }, costSettings({}), undefined);
}
