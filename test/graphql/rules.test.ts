// Each rule on its own, as users add them to validate() without the guard.
import { buildSchema, parse, specifiedRules, type ValidationRule, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  aliasLimitRule,
  costLimitRule,
  depthLimitRule,
  directiveLimitRule,
  introspectionListLimitRule,
  rootFieldLimitRule,
} from '../../src/graphql/index';
import { sdl, testSchema } from './schema';

const { schema } = testSchema();
const run = (rule: ValidationRule, query: string) =>
  validate(schema, parse(query), [...specifiedRules, rule]).map((e) => e.extensions);

describe('standalone rules', () => {
  it('depthLimitRule', () => {
    expect(run(depthLimitRule(2), '{ me { id } }')).toEqual([]);
    expect(run(depthLimitRule(2), '{ me { friends { id } } }')).toEqual([
      { code: 'GRAPHQL_DEPTH_LIMIT', value: 3, limit: 2 },
    ]);
  });

  it('costLimitRule reads variables', () => {
    const query = 'query($n: Int) { users(first: $n) { id } }';
    expect(run(costLimitRule({ maxCost: 100, variables: { n: 10 } }), query)).toEqual([]);
    expect(run(costLimitRule({ maxCost: 100, variables: { n: 500 } }), query)).toEqual([
      { code: 'GRAPHQL_COST_LIMIT', value: 1000, limit: 100 },
    ]);
    expect(run(costLimitRule({ maxCost: 100, defaultListSize: 100 }), '{ users { id } }')).toEqual([
      { code: 'GRAPHQL_COST_LIMIT', value: 200, limit: 100 },
    ]);
  });

  it('aliasLimitRule, directiveLimitRule, rootFieldLimitRule', () => {
    expect(run(aliasLimitRule(1), '{ a: me { id } b: me { id } }')).toEqual([
      { code: 'GRAPHQL_ALIAS_LIMIT', value: 2, limit: 1 },
    ]);
    expect(run(directiveLimitRule(1), '{ me { id @skip(if: false) name @skip(if: false) } }')).toEqual([
      { code: 'GRAPHQL_DIRECTIVE_LIMIT', value: 2, limit: 1 },
    ]);
    expect(
      run(rootFieldLimitRule(2), '{ a: me { id } b: me { id } ...R } fragment R on Query { c: me { id } }'),
    ).toEqual([{ code: 'GRAPHQL_ROOT_FIELD_LIMIT', value: 3, limit: 2 }]);
  });

  it('directiveLimitRule counts directives on variable definitions', () => {
    const withVariableDirective = buildSchema(`directive @t repeatable on VARIABLE_DEFINITION\n${sdl}`);
    const query = parse('query($n: Int @t @t @t) { users(first: $n) { id } }');
    expect(validate(withVariableDirective, query, specifiedRules)).toEqual([]);
    expect(
      validate(withVariableDirective, query, [...specifiedRules, directiveLimitRule(2)]).map((e) => e.extensions),
    ).toEqual([{ code: 'GRAPHQL_DIRECTIVE_LIMIT', value: 3, limit: 2 }]);
  });

  it('introspectionListLimitRule', () => {
    expect(run(introspectionListLimitRule(3), '{ __schema { types { fields { args { name } } } } }')).toEqual([]);
    // graphql-js 16.9+ also stops this in specifiedRules (MaxIntrospectionDepthRule, no code): the rule alone here
    const nested = parse('{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }');
    expect(validate(schema, nested, [introspectionListLimitRule(3)]).map((e) => e.extensions)).toEqual([
      { code: 'GRAPHQL_INTROSPECTION_LIMIT', value: 4, limit: 3 },
    ]);
  });

  it('bad limits throw ERR_GRAPHQL_OPTIONS', () => {
    for (const make of [
      () => depthLimitRule(0),
      () => aliasLimitRule(-1),
      () => costLimitRule({ maxCost: Number.NaN }),
      () => costLimitRule(null as never),
      () => costLimitRule(undefined as never),
    ]) {
      expect(make).toThrow(expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' }));
    }
  });
});
