import type { ValidationRule } from 'graphql';
import { checkLimit, costSettings, measuringRule } from '../limits';

/**
 * Rejects introspection that nests more than `max` list fields (`__schema { types { fields { args
 * } } }` nests 3, the most the standard introspection query does). Introspection is cheap per
 * field but each nested list multiplies the response, so `types { fields { type { fields { ... }
 * } } }` is the introspection DoS; the general depth and cost limits are not the tool for it.
 * Error code `GRAPHQL_INTROSPECTION_LIMIT`.
 *
 * @example
 * ```ts
 * import { specifiedRules, validate } from 'graphql';
 * import { introspectionListLimitRule } from 'patchbay/graphql';
 *
 * const errors = validate(schema, document, [...specifiedRules, introspectionListLimitRule(3)]);
 * ```
 */
export function introspectionListLimitRule(max: number): ValidationRule {
  return measuringRule(
    { maxIntrospectionListDepth: checkLimit(max, 'maxIntrospectionListDepth') },
    costSettings({}),
    undefined,
  );
}
