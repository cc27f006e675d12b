import {
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type FragmentSpreadNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  Kind,
  type OperationDefinitionNode,
  SchemaMetaFieldDef,
  type SelectionNode,
  type SelectionSetNode,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  type ValueNode,
  valueFromASTUntyped,
  versionInfo,
} from 'graphql';
import { assertNumber, describe } from '../core/assert';
import { PatchbayError } from '../core/errors';

/**
 * The cost of one field: `value` is what the field costs by itself (default 1), `multipliers`
 * names the arguments whose values multiply the field and everything below it.
 *
 * @example
 * ```ts
 * const search: FieldCost = { value: 5, multipliers: ['first'] };
 * ```
 */
export interface FieldCost {
  value?: number;
  multipliers?: readonly string[];
}

/**
 * How cost is computed, shared by {@link costLimitRule} and the guard.
 *
 * @example
 * ```ts
 * const settings: CostSettings = { defaultListSize: 10, listArguments: ['first', 'last', 'limit'], costs: { 'Query.search': 5 } };
 * ```
 */
export interface CostSettings {
  /** The multiplier of a list field that has none of the list arguments. */
  defaultListSize: number;
  /** Arguments whose value is the length of a list field's result (`first`, `last`, `limit`). */
  listArguments: readonly string[];
  /** Per-field costs by `Type.field`, ahead of schema extensions and `@cost` directives. */
  costs: Readonly<Record<string, number | FieldCost>>;
}

/**
 * What one operation measures. Numbers count the document as executed: a fragment spread twice
 * counts twice, although each fragment is measured only once.
 *
 * @example
 * ```ts
 * const m: Measures = { depth: 3, cost: 120, aliases: 0, directives: 1, rootFields: 2, introspectionLists: 0, unsizedItems: 0 };
 * ```
 */
export interface Measures {
  /** Levels of nested fields: `{ a }` is 1, `{ a { b } }` is 2. Introspection fields count. */
  depth: number;
  /** Fields weighted by list multipliers; introspection is free (it has its own limit). */
  cost: number;
  /** Aliased fields. */
  aliases: number;
  /** Directive applications. */
  directives: number;
  /** Fields at the top of the selection set. */
  rootFields: number;
  /** The deepest nesting of list fields inside introspection (`types { fields { args } }` is 3). */
  introspectionLists: number;
  /**
   * What one item costs, summed over the lists directly in the selection set that had no page
   * argument and were priced at `defaultListSize`: a connection field (`users(first: 5) { edges }`)
   * prices them at its page size instead.
   */
  unsizedItems: number;
}

/** {@link Measures} of one operation of a document. */
export interface OperationMeasures extends Measures {
  node: OperationDefinitionNode;
}

/**
 * What the walk needs of a field definition, worked out once per definition and cached: graphql
 * 16's type predicates (isListType, isCompositeType…) are slow when they answer false.
 */
export interface FieldInfo {
  value: number;
  multipliers: readonly string[] | undefined;
  isList: boolean;
  /** The named return type when it has fields to select, else undefined. */
  selectable: GraphQLNamedType | undefined;
}

const ZERO: Measures = {
  depth: 0,
  cost: 0,
  aliases: 0,
  directives: 0,
  rootFields: 0,
  introspectionLists: 0,
  unsizedItems: 0,
};

/**
 * Measures every operation of `document` in one walk. Each fragment is measured once per
 * operation and reused at every spread, so fan-out (`F0 { ...F1 ...F1 }`, `F1 { ...F2 ...F2 }` …)
 * is linear in the document; a spread of a fragment that is still being measured counts as empty,
 * so cycles end (NoFragmentCyclesRule reports them).
 */
export function analyzeDocument(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | undefined,
  settings: CostSettings,
  fieldInfos: WeakMap<object, FieldInfo>,
): OperationMeasures[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(definition.name.value)) {
      fragments.set(definition.name.value, definition);
    }
  }
  const results: OperationMeasures[] = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const values: Record<string, unknown> = {};
    // `query($a: Int @d @d …)`: directives on variable definitions are applications too
    let variableDirectives = 0;
    for (const variable of definition.variableDefinitions ?? []) {
      variableDirectives += variable.directives?.length ?? 0;
      if (variable.defaultValue) values[variable.variable.name.value] = valueFromASTUntyped(variable.defaultValue);
    }
    Object.assign(values, variables);
    const walker = new Walker(schema, fragments, values, settings, fieldInfos);
    const measures = walker.selectionSet(
      definition.selectionSet,
      schema.getRootType(definition.operation) ?? undefined,
    );
    results.push({
      ...measures,
      // 0 × Infinity (first: 0 above lists too large for a double): NaN would fail even maxCost: Infinity
      cost: Number.isNaN(measures.cost) ? Number.POSITIVE_INFINITY : measures.cost,
      directives: measures.directives + (definition.directives?.length ?? 0) + variableDirectives,
      node: definition,
    });
  }
  return results;
}

// graphql 16's legacy fragment variables are the operation's; 17's are the spread's arguments.
const FRAGMENT_ARGUMENTS = versionInfo.major >= 17;
const FRAGMENT_ARGUMENT_WALKS = 1_000;
// graphql 16's types have no arguments on a spread
type SpreadWithArguments = FragmentSpreadNode & {
  readonly arguments?: readonly { readonly name: { readonly value: string }; readonly value: ValueNode }[];
};

class Walker {
  // undefined while a fragment is being measured: a spread reaching it again is a cycle
  private readonly memo = new Map<string, Measures | undefined>();
  // the variables in scope: the operation's, or inside a fragment with arguments, those too
  private scope: Readonly<Record<string, unknown>>;
  private argumentWalks = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly variables: Readonly<Record<string, unknown>>,
    private readonly settings: CostSettings,
    private readonly fieldInfos: WeakMap<object, FieldInfo>,
  ) {
    this.scope = variables;
  }

  selectionSet(set: SelectionSetNode, parent: GraphQLNamedType | undefined): Measures {
    const sum = { ...ZERO };
    for (const selection of set.selections) {
      const directives = selection.directives;
      if (directives !== undefined && directives.length > 0) {
        sum.directives += directives.length;
        if (this.skipped(directives)) {
          // Not executed, so it costs nothing; its directives still cost parsing and validation.
          const skipped = { ...ZERO };
          this.selection(selection, parent, skipped);
          sum.directives += skipped.directives;
          continue;
        }
      }
      this.selection(selection, parent, sum);
    }
    return sum;
  }

  private selection(selection: SelectionNode, parent: GraphQLNamedType | undefined, sum: Measures): void {
    if (selection.kind === Kind.FIELD) {
      this.field(selection, parent, sum);
      return;
    }
    let inner: Measures;
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : parent;
      inner = this.selectionSet(selection.selectionSet, condition ?? undefined);
    } else {
      inner = this.fragment(selection);
    }
    // A union's branches are added, not maxed: an over-estimate that stays cheap and safe.
    sum.depth = Math.max(sum.depth, inner.depth);
    sum.cost += inner.cost;
    sum.aliases += inner.aliases;
    sum.directives += inner.directives;
    sum.rootFields += inner.rootFields;
    sum.introspectionLists = Math.max(sum.introspectionLists, inner.introspectionLists);
    sum.unsizedItems += inner.unsizedItems;
  }

  /**
   * Whether `@skip(if: true)` or `@include(if: false)` leaves the selection out, as graphql-js
   * decides it. A condition that is not exactly true or false here (a variable the guard was not
   * given) keeps it: execution would then include it or fail.
   */
  private skipped(directives: readonly DirectiveNode[]): boolean {
    for (const directive of directives) {
      const name = directive.name.value;
      if (name !== 'skip' && name !== 'include') continue;
      const condition = directive.arguments?.find((argument) => argument.name.value === 'if');
      if (condition && valueFromASTUntyped(condition.value, this.scope) === (name === 'skip')) return true;
    }
    return false;
  }

  private fragment(spread: FragmentSpreadNode): Measures {
    const name = spread.name.value;
    const definition = this.fragments.get(name);
    if (FRAGMENT_ARGUMENTS && definition?.variableDefinitions?.length) return this.withArguments(spread, definition);
    if (this.memo.has(name)) return this.memo.get(name) ?? ZERO;
    if (!definition) return ZERO;
    this.memo.set(name, undefined);
    // graphql 17 gives a fragment without a signature the operation's variables, not its parent fragment's
    const outer = this.scope;
    this.scope = this.variables;
    const measures = this.definition(definition);
    this.scope = outer;
    this.memo.set(name, measures);
    return measures;
  }

  /**
   * graphql 17's fragment arguments (`...Users(n: 5)`, `fragment Users($n: Int = 1)`): the
   * fragment's variables take the spread's arguments or their defaults, so it is measured once
   * per distinct set of values, and nested spreads can make those exponentially many: past
   * FRAGMENT_ARGUMENT_WALKS the walk gives up, and the guard fails closed.
   */
  private withArguments(spread: FragmentSpreadNode, definition: FragmentDefinitionNode): Measures {
    const signature = definition.variableDefinitions ?? [];
    const scope: Record<string, unknown> = { ...this.variables };
    const values: unknown[] = [];
    for (const variable of signature) {
      const name = variable.variable.name.value;
      const argument = (spread as SpreadWithArguments).arguments?.find((a) => a.name.value === name);
      let value = argument && valueFromASTUntyped(argument.value, this.scope);
      if (value === undefined && variable.defaultValue) value = valueFromASTUntyped(variable.defaultValue);
      // set even when undefined: a fragment variable shadows the operation's of the same name
      scope[name] = value;
      values.push(value);
    }
    const key = `${definition.name.value}(${JSON.stringify(values)})`;
    if (this.memo.has(key)) return this.memo.get(key) ?? ZERO;
    if (++this.argumentWalks > FRAGMENT_ARGUMENT_WALKS) {
      throw new Error(`More than ${FRAGMENT_ARGUMENT_WALKS} fragment spreads with distinct arguments`);
    }
    this.memo.set(key, undefined);
    const outer = this.scope;
    this.scope = scope;
    const measures = this.definition(definition);
    this.scope = outer;
    this.memo.set(key, measures);
    return measures;
  }

  private definition(definition: FragmentDefinitionNode): Measures {
    const inner = this.selectionSet(definition.selectionSet, this.schema.getType(definition.typeCondition.name.value));
    let directives = inner.directives + (definition.directives?.length ?? 0);
    for (const variable of definition.variableDefinitions ?? []) directives += variable.directives?.length ?? 0;
    return { ...inner, directives };
  }

  private field(node: FieldNode, parent: GraphQLNamedType | undefined, sum: Measures): void {
    const name = node.name.value;
    const definition = parent && fieldDefinition(this.schema, parent, name);
    const info = definition && parent ? this.fieldInfo(definition, parent) : UNKNOWN_FIELD;
    const child = node.selectionSet ? this.selectionSet(node.selectionSet, info.selectable) : ZERO;
    // Names starting with __ are reserved for introspection: no user type or field has one.
    const introspective = name.startsWith('__') || parent?.name.startsWith('__') === true;
    sum.rootFields += 1;
    if (node.alias) sum.aliases += 1;
    sum.depth = Math.max(sum.depth, child.depth + 1);
    sum.aliases += child.aliases;
    sum.directives += child.directives;
    sum.introspectionLists = Math.max(
      sum.introspectionLists,
      child.introspectionLists + (introspective && info.isList ? 1 : 0),
    );
    if (introspective) return;
    let childCost = child.cost;
    let multiplier: number | undefined;
    if (info.multipliers) {
      multiplier = this.argumentValue(node, info.multipliers, true);
    } else if (info.isList) {
      multiplier = this.argumentValue(node, this.settings.listArguments, false);
    } else if (child.unsizedItems > 0) {
      // A Relay connection is an object, not a list: its first/last bound the edges and nodes in it.
      const size = this.argumentValue(node, this.settings.listArguments, false);
      if (size !== undefined) childCost += (size - this.settings.defaultListSize) * child.unsizedItems;
    }
    if (multiplier === undefined && info.isList) {
      multiplier = this.settings.defaultListSize;
      sum.unsizedItems += info.value + childCost;
    }
    sum.cost += (multiplier ?? 1) * (info.value + childCost);
  }

  private argumentValue(node: FieldNode, names: readonly string[], compound: boolean): number | undefined {
    let found: number | undefined;
    for (const argument of node.arguments ?? []) {
      if (!names.includes(argument.name.value)) continue;
      const value = this.number(argument.value);
      if (value === undefined) continue;
      // first/last/limit are alternatives (the largest bounds the list); named multipliers compound
      found = found === undefined ? value : compound ? found * value : Math.max(found, value);
    }
    return found;
  }

  private number(node: ValueNode): number | undefined {
    const value = valueFromASTUntyped(node, this.scope);
    if (Array.isArray(value)) return value.length;
    // A negative page size is no bound at all to some backends (SQLite's LIMIT -1): price it as absent.
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) return undefined;
    return value;
  }

  private fieldInfo(definition: GraphQLField<unknown, unknown>, parent: GraphQLNamedType): FieldInfo {
    let info = this.fieldInfos.get(definition);
    if (!info) {
      const returned = getNamedType(definition.type);
      info = {
        ...this.price(definition, parent),
        isList: isListType(getNullableType(definition.type)),
        selectable: isCompositeType(returned) ? returned : undefined,
      };
      this.fieldInfos.set(definition, info);
    }
    return info;
  }

  /**
   * A field's price. Asked through an interface, the highest of the interface's own and every
   * implementation's: the object that answers is one of them, and a per-type cost (User.search)
   * must not be dodged by asking for the field through the interface.
   */
  private price(
    definition: GraphQLField<unknown, unknown>,
    parent: GraphQLNamedType,
  ): Pick<FieldInfo, 'value' | 'multipliers'> {
    let highest = resolveCost(this.declared(definition, parent.name));
    if (!isInterfaceType(parent)) return highest;
    for (const type of this.schema.getPossibleTypes(parent)) {
      const field = type.getFields()[definition.name];
      if (!field) continue;
      const cost = resolveCost(this.declared(field, type.name));
      if (cost.value > highest.value) highest = cost;
    }
    return highest;
  }

  private declared(definition: GraphQLField<unknown, unknown>, typeName: string): number | FieldCost | undefined {
    const coordinate = `${typeName}.${definition.name}`;
    return this.settings.costs[coordinate] ?? declaredCost(definition, coordinate);
  }
}

const UNKNOWN_FIELD: FieldInfo = { value: 1, multipliers: undefined, isList: false, selectable: undefined };

function fieldDefinition(
  schema: GraphQLSchema,
  parent: GraphQLNamedType,
  name: string,
): GraphQLField<unknown, unknown> | undefined {
  if (name === '__typename') return TypeNameMetaFieldDef;
  if (parent === schema.getQueryType()) {
    if (name === '__schema') return SchemaMetaFieldDef;
    if (name === '__type') return TypeMetaFieldDef;
  }
  // Object and interface types have fields; asking isObjectType/isInterfaceType of a union is slow on graphql 16.
  return 'getFields' in parent ? (parent.getFields()[name] as GraphQLField<unknown, unknown> | undefined) : undefined;
}

const INPUT = 'ERR_GRAPHQL_INPUT';

/**
 * A cost declared in the schema: `extensions.cost` (code-first) or `@cost(value, multipliers)` in
 * SDL. Checked as strictly as the `costs` option, but here, when a field is first walked (then
 * cached with its FieldInfo): the schema is not known when the guard is made.
 */
function declaredCost(definition: GraphQLField<unknown, unknown>, coordinate: string): number | FieldCost | undefined {
  const extension = definition.extensions?.cost;
  if (extension !== undefined) {
    checkCost(extension, `${coordinate} extensions.cost`, INPUT);
    return extension;
  }
  const directive = definition.astNode?.directives?.find((d) => d.name.value === 'cost');
  if (!directive) return undefined;
  const cost: { value?: number; multipliers?: readonly string[] } = {};
  for (const argument of directive.arguments ?? []) {
    const value = valueFromASTUntyped(argument.value);
    if (argument.name.value === 'value') {
      assertNumber(value, `${coordinate} @cost(value:)`, INPUT, { min: 0 });
      cost.value = value;
    }
    if (argument.name.value === 'multipliers') {
      // GraphQL reads one value given for a list argument as a list of one
      const names = typeof value === 'string' ? [value] : value;
      if (!isNameList(names)) {
        throw new PatchbayError(
          INPUT,
          `${coordinate} @cost(multipliers:) must be an array of argument names, got ${describe(value)}`,
        );
      }
      cost.multipliers = names;
    }
  }
  return cost;
}

/**
 * Throws `code` unless `cost` is one the walk can sum: a finite number >= 0, or `{ value?,
 * multipliers? }` with such a value and argument names. Anything else would price the field at
 * NaN, Infinity, below nothing, or silently at 1 (a `complexity` property, say).
 */
export function checkCost(cost: unknown, name: string, code: string): asserts cost is number | FieldCost {
  if (typeof cost === 'number') {
    assertNumber(cost, name, code, { min: 0 });
    return;
  }
  if (typeof cost !== 'object' || cost === null || Array.isArray(cost)) {
    throw new PatchbayError(code, `${name} must be a number >= 0 or { value?, multipliers? }, got ${describe(cost)}`);
  }
  const unknown = Object.keys(cost).find((property) => property !== 'value' && property !== 'multipliers');
  if (unknown !== undefined) {
    throw new PatchbayError(code, `${name} has an unknown property "${unknown}" (a cost has value and multipliers)`);
  }
  const { value, multipliers } = cost as FieldCost;
  if (value !== undefined) assertNumber(value, `${name}.value`, code, { min: 0 });
  if (multipliers !== undefined && !isNameList(multipliers)) {
    throw new PatchbayError(
      code,
      `${name}.multipliers must be an array of argument names, got ${describe(multipliers)}`,
    );
  }
}

export function isNameList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((name) => typeof name === 'string' && name.length > 0);
}

// Every cost reaching here was checked, by costSettings or by declaredCost.
function resolveCost(cost: number | FieldCost | undefined): Pick<FieldInfo, 'value' | 'multipliers'> {
  if (typeof cost === 'number') return { value: cost, multipliers: undefined };
  return { value: cost?.value ?? 1, multipliers: cost?.multipliers };
}
