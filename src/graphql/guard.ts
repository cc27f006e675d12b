import {
  assertValidSchema,
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  isSchema,
  Kind,
  parse,
  Source,
  specifiedRules,
  type ValidationRule,
  validate,
} from 'graphql';
import { assertBoolean, assertOptionsObject, describe } from '../core/assert';
import { PatchbayError } from '../core/errors';
import { analyzeDocument, type CostSettings, type FieldInfo } from './analysis';
import {
  type CostModelOptions,
  checkLimit,
  costSettings,
  guardFailure,
  type Limits,
  limitErrors,
  measuringRule,
  readVariables,
  rewriteError,
} from './limits';
import { noIntrospectionRule } from './rules/no-introspection';
import { maskSuggestionsRule } from './rules/suggestions';

/**
 * Options of {@link createGraphQLGuard}. Every limit has a default that lets realistic queries
 * through (docs/graphql.md gives the numbers behind each); `Infinity` turns a limit off.
 *
 * @example
 * ```ts
 * const options: GraphQLGuardOptions = { maxDepth: 12, maxCost: 20_000, introspection: false, suggestions: false };
 * ```
 */
export interface GraphQLGuardOptions extends CostModelOptions {
  /** Deepest field nesting, introspection included (default 15). */
  maxDepth?: number;
  /** Highest cost, see {@link costLimitRule} (default 10,000). */
  maxCost?: number;
  /** Most aliased fields (default 30). */
  maxAliases?: number;
  /** Most directive applications (default 50). */
  maxDirectives?: number;
  /** Most lexical tokens the parser reads before giving up (default 2,000). */
  maxTokens?: number;
  /** Most top-level fields (default 20). */
  maxRootFields?: number;
  /** Deepest nesting of list fields inside introspection (default 3, what the standard introspection query needs). */
  maxIntrospectionListDepth?: number;
  /** Allow `__schema` and `__type` (default true). */
  introspection?: boolean;
  /** Keep "Did you mean …?" in validation errors (default true). */
  suggestions?: boolean;
}

/**
 * What {@link GraphQLGuard.check} found. The numbers are the largest over the document's
 * operations, and are filled in even when `ok` (0 when the document did not parse). When `ok`,
 * `document` is the parsed document, typed as present, to execute without parsing again.
 *
 * @example
 * ```ts
 * const report: GuardReport = guard.check(schema, '{ me { id } }');
 * if (!report.ok) logger.warn({ codes: report.errors.map((e) => e.extensions.code) }, 'query rejected');
 * else await execute({ schema, document: report.document });
 * ```
 */
export type GuardReport = {
  errors: GraphQLError[];
  depth: number;
  cost: number;
  aliases: number;
  directives: number;
  rootFields: number;
} & (
  | {
      ok: true;
      /** The parsed document, to execute without parsing again. */
      document: DocumentNode;
    }
  | {
      ok: false;
      /** The parsed document; absent when parsing failed. */
      document?: DocumentNode;
    }
);

/**
 * A configured guard, see {@link createGraphQLGuard}.
 *
 * @example
 * ```ts
 * const guard: GraphQLGuard = createGraphQLGuard();
 * ```
 */
export interface GraphQLGuard {
  /** Pass to graphql-js `parse(source, guard.parseOptions)`: stops oversized documents while lexing. */
  readonly parseOptions: { readonly maxTokens: number };
  /**
   * Validation rules to add after `specifiedRules`, for one request's variables. Variables that
   * are not an object, `null` or `undefined` throw `PatchbayError` `ERR_GRAPHQL_INPUT`. A cost the
   * schema declares wrongly is reported as `GRAPHQL_GUARD_FAILED`, with that error as
   * `originalError`: a rule must not throw out of `validate()`.
   */
  rules(variables?: Readonly<Record<string, unknown>> | null): ValidationRule[];
  /**
   * Parses (with the token limit) and validates one request: the guard's limits first, then
   * `specifiedRules`. What the client wrote, even an empty or unparsable query, is answered in the
   * report; a `schema` that is not a valid `GraphQLSchema` or declares a cost that is not a
   * finite number >= 0 on a field the query selects, a `source` that is not a string, `Source` or
   * `DocumentNode`, or `variables` that are not an object, `null` or `undefined` are the caller's
   * mistake and throw `PatchbayError` `ERR_GRAPHQL_INPUT`.
   */
  check(
    schema: GraphQLSchema,
    source: string | Source | DocumentNode,
    variables?: Readonly<Record<string, unknown>> | null,
  ): GuardReport;
}

/** The defaults, with the numbers behind them in docs/graphql.md. */
const DEFAULTS = {
  maxDepth: 15,
  maxCost: 10_000,
  maxAliases: 30,
  maxDirectives: 50,
  maxTokens: 2_000,
  maxRootFields: 20,
  maxIntrospectionListDepth: 3,
} as const;

const INPUT = 'ERR_GRAPHQL_INPUT';

// graphql 16 says "more that", 17 "more than"
const TOKEN_LIMIT = /^Syntax Error: Document contains more tha[nt] \d+ tokens/;

/**
 * Creates a guard that rejects abusive GraphQL operations before execution: depth, cost, aliases,
 * directives, root fields and nested introspection are measured in one walk of the document
 * (each fragment once), tokens while parsing; introspection and suggestions can be turned off.
 * Bad options throw a `PatchbayError` with code `ERR_GRAPHQL_OPTIONS`, bad arguments to `check()`
 * and `rules()` one with code `ERR_GRAPHQL_INPUT`.
 *
 * @example
 * ```ts
 * import { execute, parse, specifiedRules, validate } from 'graphql';
 * import { createGraphQLGuard } from 'patchbay/graphql';
 *
 * const guard = createGraphQLGuard({ introspection: false, suggestions: false });
 * const document = parse(body.query, guard.parseOptions); // throws past maxTokens
 * const errors = validate(schema, document, [...specifiedRules, ...guard.rules(body.variables)]);
 * if (errors.length > 0) return respond(400, { errors });
 * return respond(200, await execute({ schema, document, variableValues: body.variables }));
 * ```
 */
export function createGraphQLGuard(options: GraphQLGuardOptions = {}): GraphQLGuard {
  assertOptionsObject(options, 'createGraphQLGuard options', 'ERR_GRAPHQL_OPTIONS');
  const limits: Required<Limits> = {
    maxDepth: checkLimit(options.maxDepth ?? DEFAULTS.maxDepth, 'maxDepth'),
    maxCost: checkLimit(options.maxCost ?? DEFAULTS.maxCost, 'maxCost'),
    maxAliases: checkLimit(options.maxAliases ?? DEFAULTS.maxAliases, 'maxAliases'),
    maxDirectives: checkLimit(options.maxDirectives ?? DEFAULTS.maxDirectives, 'maxDirectives'),
    maxRootFields: checkLimit(options.maxRootFields ?? DEFAULTS.maxRootFields, 'maxRootFields'),
    maxIntrospectionListDepth: checkLimit(
      options.maxIntrospectionListDepth ?? DEFAULTS.maxIntrospectionListDepth,
      'maxIntrospectionListDepth',
    ),
  };
  const maxTokens = checkLimit(options.maxTokens ?? DEFAULTS.maxTokens, 'maxTokens');
  const introspection = flag(options.introspection, true, 'introspection');
  const suggestions = flag(options.suggestions, true, 'suggestions');
  const settings: CostSettings = costSettings(options);
  const extraRules: ValidationRule[] = [];
  if (!introspection) extraRules.push(noIntrospectionRule());
  if (!suggestions) extraRules.push(maskSuggestionsRule());
  const fieldInfos = new WeakMap<object, FieldInfo>();

  return {
    parseOptions: { maxTokens },
    rules(variables) {
      return [measuringRule(limits, settings, readVariables(variables, INPUT), fieldInfos), ...extraRules];
    },
    check(schema, source, variables) {
      checkSchema(schema);
      const values = readVariables(variables, INPUT);
      const report = {
        errors: [] as GraphQLError[],
        depth: 0,
        cost: 0,
        aliases: 0,
        directives: 0,
        rootFields: 0,
      };
      let document: DocumentNode;
      if (isDocument(source)) {
        document = source;
      } else {
        if (typeof source !== 'string' && !(source instanceof Source)) {
          throw new PatchbayError(
            INPUT,
            `source must be a string, a Source or a DocumentNode, got ${describe(source)}`,
          );
        }
        try {
          document = parse(source, { maxTokens });
        } catch (error) {
          report.errors.push(parseFailure(error, maxTokens));
          return { ...report, ok: false };
        }
      }
      try {
        for (const operation of analyzeDocument(schema, document, values, settings, fieldInfos)) {
          report.depth = Math.max(report.depth, operation.depth);
          report.cost = Math.max(report.cost, operation.cost);
          report.aliases = Math.max(report.aliases, operation.aliases);
          report.directives = Math.max(report.directives, operation.directives);
          report.rootFields = Math.max(report.rootFields, operation.rootFields);
          report.errors.push(...limitErrors(operation, limits));
        }
      } catch (error) {
        // a cost the schema declares wrongly: the caller's mistake, thrown like a bad schema
        if (error instanceof PatchbayError) throw error;
        report.errors.push(guardFailure(error));
      }
      // Over a limit: reject without running specifiedRules, some of which are superlinear
      // (OverlappingFieldsCanBeMerged) on exactly the documents the limits stop.
      if (report.errors.length === 0) {
        for (const error of validate(schema, document, [...specifiedRules, ...extraRules])) {
          report.errors.push(
            error.extensions.code === undefined ? withCode(error, 'GRAPHQL_VALIDATION_FAILED') : error,
          );
        }
      }
      // a union on `ok`, so checking it gives the caller a document to execute
      return report.errors.length === 0 ? { ...report, ok: true, document } : { ...report, ok: false, document };
    },
  };
}

function flag(value: unknown, fallback: boolean, name: string): boolean {
  if (value === undefined) return fallback;
  assertBoolean(value, name, 'ERR_GRAPHQL_OPTIONS');
  return value;
}

function checkSchema(schema: unknown): void {
  let ok: boolean;
  try {
    ok = isSchema(schema);
  } catch (error) {
    // graphql in development mode throws here on a schema built by another copy of graphql
    throw new PatchbayError(INPUT, 'schema must be a GraphQLSchema of the graphql patchbay imports', {
      cause: error,
    });
  }
  if (!ok) throw new PatchbayError(INPUT, `schema must be a GraphQLSchema, got ${describe(schema)}`);
  // Not left to validate(), which throws graphql's plain Error, and only when no limit was
  // exceeded first. graphql caches the result on the schema: later calls cost a property read.
  try {
    assertValidSchema(schema as GraphQLSchema);
  } catch (error) {
    throw new PatchbayError(INPUT, `schema is not valid: ${(error as Error).message}`, { cause: error });
  }
}

function isDocument(source: unknown): source is DocumentNode {
  const document = source as Partial<DocumentNode> | null | undefined;
  return document?.kind === Kind.DOCUMENT && Array.isArray(document.definitions);
}

function parseFailure(error: unknown, maxTokens: number): GraphQLError {
  if (!(error instanceof GraphQLError)) return guardFailure(error);
  // The parser stops at the limit, so the real count is unknown: `value` is a lower bound.
  return TOKEN_LIMIT.test(error.message)
    ? withCode(error, 'GRAPHQL_TOKEN_LIMIT', { value: maxTokens + 1, limit: maxTokens })
    : withCode(error, 'GRAPHQL_PARSE_FAILED');
}

function withCode(error: GraphQLError, code: string, extra: Record<string, unknown> = {}): GraphQLError {
  return rewriteError(error, error.message, { code, ...extra });
}
