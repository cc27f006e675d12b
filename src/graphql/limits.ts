import { GraphQLError, type ValidationRule } from 'graphql';
import { assertNumber, assertOptionsObject, describe } from '../core/assert';
import { PatchbayError } from '../core/errors';
import {
  analyzeDocument,
  type CostSettings,
  checkCost,
  type FieldCost,
  type FieldInfo,
  isNameList,
  type Measures,
  type OperationMeasures,
} from './analysis';

/**
 * The `extensions.code` of the errors the guard reports.
 *
 * @example
 * ```ts
 * if (error.extensions.code === ('GRAPHQL_COST_LIMIT' satisfies GuardErrorCode)) res.statusCode = 400;
 * ```
 */
export type GuardErrorCode =
  | 'GRAPHQL_DEPTH_LIMIT'
  | 'GRAPHQL_COST_LIMIT'
  | 'GRAPHQL_ALIAS_LIMIT'
  | 'GRAPHQL_DIRECTIVE_LIMIT'
  | 'GRAPHQL_ROOT_FIELD_LIMIT'
  | 'GRAPHQL_INTROSPECTION_LIMIT'
  | 'GRAPHQL_INTROSPECTION_DISABLED'
  | 'GRAPHQL_TOKEN_LIMIT'
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'GRAPHQL_GUARD_FAILED';

/** Limits checked against {@link Measures}; an absent limit is not checked. */
export interface Limits {
  maxDepth?: number | undefined;
  maxCost?: number | undefined;
  maxAliases?: number | undefined;
  maxDirectives?: number | undefined;
  maxRootFields?: number | undefined;
  maxIntrospectionListDepth?: number | undefined;
}

const CHECKS: readonly [keyof Limits, keyof Measures, GuardErrorCode, string][] = [
  ['maxDepth', 'depth', 'GRAPHQL_DEPTH_LIMIT', 'depth'],
  ['maxCost', 'cost', 'GRAPHQL_COST_LIMIT', 'cost'],
  ['maxAliases', 'aliases', 'GRAPHQL_ALIAS_LIMIT', 'aliases'],
  ['maxDirectives', 'directives', 'GRAPHQL_DIRECTIVE_LIMIT', 'directives'],
  ['maxRootFields', 'rootFields', 'GRAPHQL_ROOT_FIELD_LIMIT', 'root fields'],
  ['maxIntrospectionListDepth', 'introspectionLists', 'GRAPHQL_INTROSPECTION_LIMIT', 'nested introspection lists'],
];

/** One error for each limit `operation` exceeds, with the measured `value` and the `limit`. */
export function limitErrors(operation: OperationMeasures, limits: Limits): GraphQLError[] {
  const errors: GraphQLError[] = [];
  for (const [limitName, measure, code, label] of CHECKS) {
    const limit = limits[limitName];
    const value = operation[measure];
    if (limit === undefined || value <= limit) continue;
    const name = operation.node.name ? `Operation "${operation.node.name.value}"` : 'The operation';
    errors.push(
      new GraphQLError(`${name} has ${label} ${value}, over the limit of ${limit}.`, {
        nodes: [operation.node],
        extensions: { code, value, limit },
      }),
    );
  }
  return errors;
}

/**
 * Reported instead of throwing when the analysis itself fails: the guard fails closed. A
 * PatchbayError is a cost the server's schema declares wrongly: the client is told it is not its
 * fault, the server finds which field in `originalError`.
 */
export function guardFailure(cause: unknown): GraphQLError {
  const message =
    cause instanceof PatchbayError
      ? "The query could not be analyzed: the server's schema is misconfigured."
      : 'The query could not be analyzed.';
  return new GraphQLError(message, {
    originalError: cause instanceof Error ? cause : undefined,
    extensions: { code: 'GRAPHQL_GUARD_FAILED' },
  });
}

const OPTIONS = 'ERR_GRAPHQL_OPTIONS';

/** Defaults of the cost model; see docs/graphql.md for the numbers behind them. */
export const DEFAULT_LIST_SIZE = 10;
export const DEFAULT_LIST_ARGUMENTS: readonly string[] = ['first', 'last', 'limit'];

/**
 * Options of the cost model, shared by {@link createGraphQLGuard} and {@link costLimitRule}.
 *
 * @example
 * ```ts
 * const model: CostModelOptions = { defaultListSize: 20, listArguments: ['first', 'last', 'pageSize'], costs: { 'Query.search': 10 } };
 * ```
 */
export interface CostModelOptions {
  /** Multiplier of a list field without `first`/`last`/`limit` (default 10). */
  defaultListSize?: number;
  /**
   * Arguments that bound a list's length (default `['first', 'last', 'limit']`); on a field that
   * is not a list (a Relay connection), the length of the lists directly inside it.
   */
  listArguments?: readonly string[];
  /** Per-field costs by `Type.field`; they win over `extensions.cost` and `@cost` in the schema. */
  costs?: Readonly<Record<string, number | FieldCost>>;
}

/** Validates and completes cost options; throws ERR_GRAPHQL_OPTIONS on bad input. */
export function costSettings(options: CostModelOptions): CostSettings {
  const { defaultListSize = DEFAULT_LIST_SIZE, listArguments = DEFAULT_LIST_ARGUMENTS, costs = {} } = options;
  assertNumber(defaultListSize, 'defaultListSize', OPTIONS, { min: 0, integer: true });
  if (!isNameList(listArguments)) throw optionsError('listArguments must be an array of argument names');
  assertOptionsObject(costs, 'costs', OPTIONS);
  for (const [key, cost] of Object.entries(costs)) checkFieldCost(key, cost);
  return { defaultListSize, listArguments, costs };
}

function checkFieldCost(key: string, cost: unknown): void {
  if (!/^\w+\.\w+$/.test(key)) throw optionsError(`costs key "${key}" must be shaped "Type.field"`);
  checkCost(cost, `costs["${key}"]`, OPTIONS);
}

/** Throws ERR_GRAPHQL_OPTIONS unless `value` is a positive integer or Infinity (no limit). */
export function checkLimit(value: unknown, name: string): number {
  if (value === Number.POSITIVE_INFINITY || (typeof value === 'number' && Number.isInteger(value) && value >= 1)) {
    return value;
  }
  throw optionsError(`${name} must be an integer >= 1 or Infinity, got ${describe(value)}`);
}

/**
 * The request's variables, undefined for none (graphql-js reads null and undefined so too); throws
 * `code` on anything else, which the walk would read as no variables, pricing `first: $n` as if
 * `$n` were not sent.
 */
export function readVariables(variables: unknown, code: string): Readonly<Record<string, unknown>> | undefined {
  if (variables === undefined || variables === null) return undefined;
  assertOptionsObject(variables, 'variables', code);
  return variables as Readonly<Record<string, unknown>>;
}

export function optionsError(message: string): PatchbayError {
  return new PatchbayError(OPTIONS, message);
}

/**
 * A validation rule that measures the document once, on entering it, and reports every limit
 * exceeded. It returns `false` so the validator does not walk the document again for it.
 */
export function measuringRule(
  limits: Limits,
  settings: CostSettings,
  variables: Readonly<Record<string, unknown>> | undefined,
  // a guard passes its own, so what it learns of each field outlives one request
  fieldInfos = new WeakMap<object, FieldInfo>(),
): ValidationRule {
  return (context) => ({
    Document(node) {
      try {
        for (const operation of analyzeDocument(context.getSchema(), node, variables, settings, fieldInfos)) {
          for (const error of limitErrors(operation, limits)) context.reportError(error);
        }
      } catch (error) {
        context.reportError(guardFailure(error));
      }
      return false;
    },
  });
}

/** A copy of `error` with another message and more extensions; GraphQLError's fields are read-only. */
export function rewriteError(
  error: GraphQLError,
  message: string,
  extensions: Readonly<Record<string, unknown>> = {},
): GraphQLError {
  return new GraphQLError(message, {
    nodes: error.nodes ?? null,
    source: error.source ?? null,
    positions: error.positions ?? null,
    path: error.path ?? null,
    originalError: error.originalError ?? null,
    extensions: { ...error.extensions, ...extensions },
  });
}
