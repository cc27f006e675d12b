import type { ValidationRule } from 'graphql';
import { checkLimit, costSettings, measuringRule } from '../limits';

/**
 * Rejects operations whose fields nest deeper than `max` levels (`{ a { b } }` is 2), counting
 * introspection fields and following fragments, each fragment measured once (fragment cycles end;
 * NoFragmentCyclesRule reports them). Error code `GRAPHQL_DEPTH_LIMIT` with `value` and `limit`.
 *
 * @example
 * ```ts
 * import { specifiedRules, validate } from 'graphql';
 * import { depthLimitRule } from 'patchbay/graphql';
 *
 * const errors = validate(schema, document, [...specifiedRules, depthLimitRule(15)]);
 * ```
 */
export function depthLimitRule(max: number): ValidationRule {
  return measuringRule({ maxDepth: checkLimit(max, 'maxDepth') }, costSettings({}), undefined);
}
