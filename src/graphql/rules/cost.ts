import type { ValidationRule } from 'graphql';
import { assertOptionsObject } from '../../core/assert';
import { type CostModelOptions, checkLimit, costSettings, measuringRule, readVariables } from '../limits';

/**
 * Options of {@link costLimitRule}.
 *
 * @example
 * ```ts
 * const options: CostLimitOptions = { maxCost: 5_000, variables: { first: 20 }, costs: { 'Query.search': 10 } };
 * ```
 */
export interface CostLimitOptions extends CostModelOptions {
  /** The most an operation may cost. */
  maxCost: number;
  /** The request's variables, so `first: $n` is priced at the value sent. */
  variables?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * Rejects operations that cost more than `maxCost`. A field costs its own value (1 unless set by
 * `costs`, `extensions.cost` or `@cost(value, multipliers)` in the schema) plus what it selects,
 * times its multiplier: for a list, `first`/`last`/`limit` from literals or variables, else
 * `defaultListSize`. So `users(first: 50) { posts(first: 20) { title } }` costs
 * 50 × (1 + 20 × (1 + 1)) = 2,050. On a field that is not a list (a Relay connection),
 * `first`/`last`/`limit` size the lists directly inside it that have none: `users(first: 50) {
 * edges { node { id } } }` costs 1 + 50 × 3 = 151. Introspection is free here; it has its own limit. Error code
 * `GRAPHQL_COST_LIMIT` with `value` and `limit`; a cost in the schema that is not a finite number
 * >= 0 is reported as `GRAPHQL_GUARD_FAILED`, with a `PatchbayError` naming the field as
 * `originalError`.
 *
 * @example
 * ```ts
 * import { specifiedRules, validate } from 'graphql';
 * import { costLimitRule } from 'patchbay/graphql';
 *
 * const errors = validate(schema, document, [...specifiedRules, costLimitRule({ maxCost: 10_000, variables })]);
 * ```
 */
export function costLimitRule(options: CostLimitOptions): ValidationRule {
  assertOptionsObject(options, 'costLimitRule options', 'ERR_GRAPHQL_OPTIONS');
  return measuringRule(
    { maxCost: checkLimit(options.maxCost, 'maxCost') },
    costSettings(options),
    readVariables(options.variables, 'ERR_GRAPHQL_OPTIONS'),
  );
}
