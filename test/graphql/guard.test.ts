import {
  buildSchema,
  type DocumentNode,
  execute,
  GraphQLError,
  GraphQLID,
  GraphQLObjectType,
  GraphQLSchema,
  graphql,
  type ParseOptions,
  parse,
  Source,
  specifiedRules,
  validate,
  versionInfo,
} from 'graphql';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { costLimitRule, createGraphQLGuard, PatchbayError } from '../../src/graphql/index';
import { attacks, fanOut, legitQueries } from './queries';
import { sdl, testSchema } from './schema';

const { schema, rootValue } = testSchema();
const guard = createGraphQLGuard();
const codes = (errors: readonly GraphQLError[]) => errors.map((e) => e.extensions.code);

describe('the attack catalogue', () => {
  for (const attack of attacks) {
    it(`check() rejects ${attack.name} with ${attack.checkCode}`, () => {
      const report = guard.check(schema, attack.query, attack.variables);
      expect(report.ok).toBe(false);
      expect(codes(report.errors)).toContain(attack.checkCode);
      for (const error of report.errors) expect(error).toBeInstanceOf(GraphQLError);
    });

    it(`guard.rules() after parse(source, guard.parseOptions) reject ${attack.name}`, () => {
      let errors: readonly GraphQLError[];
      try {
        const document = parse(attack.query, guard.parseOptions);
        // guard rules first: where they report, validation must not be left to specifiedRules alone
        errors = validate(schema, document, [...guard.rules(attack.variables), ...specifiedRules]);
      } catch (error) {
        expect((error as GraphQLError).message).toMatch(/more tha[nt] 2000 tokens/);
        return;
      }
      expect(errors.length).toBeGreaterThan(0);
      if (attack.ruleCode) expect(codes(errors)).toContain(attack.ruleCode);
    });

    if (attack.ruleCode) {
      it(`guard.rules() alone stop ${attack.name} even with no token limit (${attack.ruleCode})`, () => {
        const errors = validate(schema, parse(attack.query), guard.rules(attack.variables));
        expect(codes(errors)).toContain(attack.ruleCode);
        const error = errors.find((e) => e.extensions.code === attack.ruleCode);
        expect(error?.extensions.value).toBeGreaterThan(error?.extensions.limit as number);
      });
    }
  }

  it('measures each fragment once: 2^26 fan-out looks up User fields a handful of times, not 2^26', () => {
    const counted = testSchema().schema;
    const user = counted.getType('User') as unknown as { getFields: () => object };
    const getFields = user.getFields.bind(user);
    let lookups = 0;
    user.getFields = () => {
      lookups++;
      return getFields();
    };
    const report = createGraphQLGuard({ maxCost: Number.POSITIVE_INFINITY }).check(counted, parse(fanOut));
    expect(report.cost).toBe(2 ** 26 + 1);
    expect(lookups).toBeLessThan(10);
  });

  it('fragment cycles end without recursion: rules alone (no NoFragmentCyclesRule) report nothing and return', () => {
    for (const name of ['circular fragments (spreads only)', 'circular fragments (through fields)']) {
      const attack = attacks.find((a) => a.name === name);
      expect(validate(schema, parse(attack?.query ?? ''), guard.rules())).toEqual([]);
      expect(codes(validate(schema, parse(attack?.query ?? ''), specifiedRules))).toEqual([undefined]);
    }
  });

  it('never throws out of validate(): an analysis failure is reported, closed', () => {
    const broken = testSchema().schema;
    const me = broken.getQueryType()?.getFields().me as unknown as { extensions: object };
    me.extensions = {
      get cost(): never {
        throw new Error('boom');
      },
    };
    const errors = validate(broken, parse('{ me { name } }'), guard.rules());
    expect(codes(errors)).toEqual(['GRAPHQL_GUARD_FAILED']);
    expect(codes(guard.check(broken, '{ me { name } }').errors)).toEqual(['GRAPHQL_GUARD_FAILED']);
  });
});

describe('legitimate queries', () => {
  for (const legit of legitQueries) {
    it(`passes and executes: ${legit.name}`, async () => {
      const report = guard.check(schema, legit.query, legit.variables);
      expect(report.errors).toEqual([]);
      expect(report.ok).toBe(true);
      const document = parse(legit.query, guard.parseOptions);
      expect(validate(schema, document, [...specifiedRules, ...guard.rules(legit.variables)])).toEqual([]);
      const result = await graphql({ schema, source: legit.query, rootValue, variableValues: legit.variables ?? null });
      expect(result.errors).toBeUndefined();
    });
  }

  it('reports the numbers when ok: depth 8 and cost 1,531 for the depth-8 query', () => {
    const report = guard.check(schema, legitQueries[0]?.query ?? '');
    expect(report).toMatchObject({ ok: true, depth: 8, cost: 1_531, aliases: 0, directives: 0, rootFields: 1 });
  });
});

describe('measuring', () => {
  it('gives a document typed as present once ok is checked, to execute without parsing again', async () => {
    const report = guard.check(schema, '{ me { name } }');
    if (!report.ok) throw new Error(`rejected: ${report.errors.map((e) => e.message).join('; ')}`);
    expectTypeOf(report.document).toEqualTypeOf<DocumentNode>();
    const result = await execute({ schema, document: report.document, rootValue: { me: { name: 'Ada' } } });
    expect(result).toEqual({ data: { me: { name: 'Ada' } } });
    const rejected = guard.check(schema, '{ me { ');
    expect(rejected).toMatchObject({ ok: false });
    expect(rejected.document).toBeUndefined();
  });

  it('counts aliases, directives and root fields as executed (through fragments)', () => {
    const report = guard.check(
      schema,
      'query Q { a: me { ...F @include(if: true) } b: me { ...F } } fragment F on User { x: name y: id @skip(if: false) ... @include(if: true) { id } }',
    );
    expect(report).toMatchObject({ ok: true, aliases: 6, directives: 5, rootFields: 2, depth: 2 });
  });

  it('counts directives on variable definitions, so maxDirectives bounds them too', () => {
    const withVariableDirective = buildSchema(`directive @t repeatable on VARIABLE_DEFINITION | FIELD\n${sdl}`);
    const query = 'query($n: Int @t @t) { users(first: $n) { id @t } }';
    expect(guard.check(withVariableDirective, query)).toMatchObject({ ok: true, directives: 3 });
    const strict = createGraphQLGuard({ maxDirectives: 2 }).check(withVariableDirective, query);
    expect(strict.ok).toBe(false);
    expect(codes(strict.errors)).toEqual(['GRAPHQL_DIRECTIVE_LIMIT']);
  });

  it('prices lists by first/last/limit, variables, variable defaults and defaultListSize', () => {
    const cost = (query: string, variables?: Record<string, unknown>) => guard.check(schema, query, variables).cost;
    expect(cost('{ users(first: 5) { id } }')).toBe(10);
    expect(cost('{ users { id } }')).toBe(20);
    expect(cost('{ users(first: -1) { id } }')).toBe(20);
    expect(cost('query($n: Int) { users(first: $n) { id } }', { n: 7 })).toBe(14);
    expect(cost('query($n: Int = 3) { users(first: $n) { id } }')).toBe(6);
    expect(cost('query($n: Int = 3) { users(first: $n) { id } }', { n: 4 })).toBe(8);
    expect(cost('{ me { posts(first: 2, last: 9) { id } } }')).toBe(1 + 9 * 2);
    expect(createGraphQLGuard({ defaultListSize: 100 }).check(schema, '{ users { id } }').cost).toBe(200);
  });

  it('takes per-field costs from @cost(value, multipliers), extensions.cost and the costs option', () => {
    // search is @cost(value: 5, multipliers: ["limit"]); it returns a union: __typename is free
    expect(guard.check(schema, '{ search(term: "x", limit: 4) { __typename } }').cost).toBe(20);
    const extended = testSchema().schema;
    const me = (extended.getQueryType()?.getFields().me ?? {}) as { extensions: Record<string, unknown> };
    me.extensions = { cost: { value: 50 } };
    expect(guard.check(extended, '{ me { id } }').cost).toBe(51);
    const priced = createGraphQLGuard({
      costs: { 'User.name': 10, 'Query.users': { value: 2, multipliers: ['first'] } },
    });
    expect(priced.check(schema, '{ users(first: 3) { name } }').cost).toBe(3 * (2 + 10));
  });

  it('introspection is free for cost but counts toward depth and nested introspection lists', () => {
    const report = guard.check(schema, '{ __schema { types { fields { name } } } }');
    expect(report).toMatchObject({ ok: true, cost: 0, depth: 4 });
  });

  it('returns the numbers of the largest operation', () => {
    const report = guard.check(
      schema,
      'query A { me { id } } query B { users(first: 2) { friends(first: 2) { id } } }',
    );
    expect(report).toMatchObject({ ok: true, depth: 3, cost: 2 * (1 + 2 * 2) });
  });
});

describe('errors', () => {
  it('carry the code, the measured value, the limit and the operation', () => {
    const report = createGraphQLGuard({ maxDepth: 2 }).check(schema, 'query Deep { me { friends { id } } }');
    expect(report.errors).toHaveLength(1);
    const [error] = report.errors;
    expect(error?.message).toBe('Operation "Deep" has depth 3, over the limit of 2.');
    expect(error?.extensions).toEqual({ code: 'GRAPHQL_DEPTH_LIMIT', value: 3, limit: 2 });
    expect(error?.locations).toEqual([{ line: 1, column: 1 }]);
  });

  it('token limit: GRAPHQL_TOKEN_LIMIT with the limit; other syntax errors GRAPHQL_PARSE_FAILED', () => {
    const small = createGraphQLGuard({ maxTokens: 5 });
    expect(small.parseOptions).toEqual({ maxTokens: 5 });
    expect(small.check(schema, '{ me { id name email role } }').errors[0]?.extensions).toMatchObject({
      code: 'GRAPHQL_TOKEN_LIMIT',
      limit: 5,
    });
    expect(codes(guard.check(schema, '{ me { ').errors)).toEqual(['GRAPHQL_PARSE_FAILED']);
  });

  it('specifiedRules errors get GRAPHQL_VALIDATION_FAILED', () => {
    expect(codes(guard.check(schema, '{ me { nope } }').errors)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('bad options throw ERR_GRAPHQL_OPTIONS', () => {
    const bad = [
      { maxDepth: 0 },
      { maxCost: -1 },
      { maxAliases: 1.5 },
      { maxTokens: Number.NaN },
      { defaultListSize: -1 },
      { listArguments: 'first' },
      { costs: { nonsense: 1 } },
      { costs: { 'User.name': -3 } },
      { introspection: 'no' },
    ];
    for (const options of bad) {
      expect(() => createGraphQLGuard(options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' }),
      );
    }
    // an array is an object to typeof, and its entries would be silently ignored
    expect(() => createGraphQLGuard([{ maxDepth: 1 }] as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_GRAPHQL_OPTIONS',
        message: 'createGraphQLGuard options must be an object, got an array',
      }),
    );
    expect(() => createGraphQLGuard({ maxDepth: 1 })).not.toThrow(PatchbayError);
    expect(createGraphQLGuard({ maxCost: Number.POSITIVE_INFINITY }).check(schema, fanOut).ok).toBe(true);
  });
});

describe('programming mistakes at the call', () => {
  const inputError = expect.objectContaining({ name: 'PatchbayError', code: 'ERR_GRAPHQL_INPUT' });

  it('check() throws ERR_GRAPHQL_INPUT on a schema that is not a GraphQLSchema, instead of answering the client', () => {
    // the last one looks like a schema of another graphql copy: graphql 16 throws on it, 17 says no
    const bad = [undefined, null, {}, sdl, { getQueryType: () => null }, { [Symbol.toStringTag]: 'GraphQLSchema' }];
    for (const notASchema of bad) {
      expect(() => guard.check(notASchema as never, '{ me { id } }'), String(notASchema)).toThrow(inputError);
    }
    expect(() => guard.check(null as never, '{ me { id } }')).toThrow(/schema must be a GraphQLSchema/);
  });

  it('check() throws ERR_GRAPHQL_INPUT, with the graphql error as cause, on an invalid schema, limits exceeded or not', () => {
    const noQueryType = new GraphQLSchema({
      types: [new GraphQLObjectType({ name: 'User', fields: { id: { type: GraphQLID } } })],
    });
    const emptyQuery = new GraphQLSchema({ query: new GraphQLObjectType({ name: 'Query', fields: {} }) });
    const strict = createGraphQLGuard({ maxDepth: 1 });
    const cases: [GraphQLSchema, RegExp][] = [
      [noQueryType, /^schema is not valid: Query root type must be provided\.$/],
      [emptyQuery, /^schema is not valid: Type Query must define one or more fields\.$/],
    ];
    for (const [invalid, message] of cases) {
      for (const query of ['{ me { id } }', '{ me { friends { id } } }']) {
        for (const checked of [guard, strict]) {
          let thrown: unknown;
          try {
            checked.check(invalid, query);
          } catch (error) {
            thrown = error;
          }
          expect(thrown, `${message} ${query}`).toEqual(inputError);
          expect((thrown as Error).message).toMatch(message);
          expect((thrown as Error).cause).toBeInstanceOf(Error);
        }
      }
    }
  });

  it('check() throws ERR_GRAPHQL_INPUT on a source that is not a string, a Source or a DocumentNode', () => {
    const bad = [undefined, null, 5, {}, ['{ me { id } }'], { body: '{ me { id } }' }, { kind: 'Document' }];
    for (const source of bad) {
      expect(() => guard.check(schema, source as never), JSON.stringify(source)).toThrow(inputError);
    }
    expect(() => guard.check(schema, 5 as never)).toThrow(/source must be a string, a Source or a DocumentNode/);
  });

  it('variables that are not an object throw ERR_GRAPHQL_INPUT from check() and rules(), instead of pricing $n as absent', () => {
    const query = 'query($n: Int) { users(first: $n) { id } }';
    for (const variables of ['{"n":1000000}', [1_000_000], 1_000_000, true]) {
      expect(() => guard.check(schema, query, variables as never), JSON.stringify(variables)).toThrow(inputError);
      expect(() => guard.rules(variables as never), JSON.stringify(variables)).toThrow(inputError);
      expect(() => costLimitRule({ maxCost: 100, variables: variables as never })).toThrow(
        expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' }),
      );
    }
    expect(() => guard.check(schema, query, 'x' as never)).toThrow(/variables must be an object, got "x"/);
    // graphql-js reads null and undefined as no variables, and so does the guard
    expect(guard.check(schema, query, null).cost).toBe(20);
    expect(guard.check(schema, query, undefined).cost).toBe(20);
    expect(validate(schema, parse(query), guard.rules(null))).toEqual([]);
    expect(guard.check(schema, query, { n: 1_000_000 }).cost).toBe(2_000_000);
  });

  it('what the client wrote stays a client error: syntax errors and empty queries are reported, not thrown', () => {
    expect(codes(guard.check(schema, '').errors)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(codes(guard.check(schema, '{ me { id ').errors)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(guard.check(schema, new Source('{ me { id } }')).ok).toBe(true);
    expect(guard.check(schema, parse('{ me { id } }')).ok).toBe(true);
  });
});

describe('the costs option', () => {
  const optionsError = expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' });

  it('refuses an entry the cost sum could not use, naming it, from the guard and from costLimitRule', () => {
    const bad: [unknown, RegExp][] = [
      ['5', /costs\["User\.name"\] must be a number >= 0 or \{ value\?, multipliers\? \}, got "5"/],
      [null, /costs\["User\.name"\] .*got null/],
      [[5], /costs\["User\.name"\] .*got an array/],
      [-1, /costs\["User\.name"\] must be a finite number >= 0, got -1/],
      [Number.NaN, /costs\["User\.name"\] must be a finite number >= 0, got NaN/],
      [Number.POSITIVE_INFINITY, /costs\["User\.name"\] must be a finite number >= 0, got Infinity/],
      [{ value: '5' }, /costs\["User\.name"\]\.value must be a finite number >= 0, got "5"/],
      [{ value: -2 }, /costs\["User\.name"\]\.value must be a finite number >= 0, got -2/],
      [{ value: Number.POSITIVE_INFINITY }, /costs\["User\.name"\]\.value/],
      // graphql-query-complexity's name for it: ignored, the field would silently cost 1
      [{ complexity: '5' }, /costs\["User\.name"\] has an unknown property "complexity"/],
      [{ value: 5, complexity: 5 }, /unknown property "complexity"/],
      [{ multipliers: [5] }, /costs\["User\.name"\]\.multipliers must be an array of argument names/],
      [{ multipliers: [''] }, /costs\["User\.name"\]\.multipliers/],
      [{ multipliers: 'first' }, /costs\["User\.name"\]\.multipliers/],
    ];
    for (const [cost, message] of bad) {
      const costs = { 'User.name': cost } as never;
      expect(() => createGraphQLGuard({ costs }), String(message)).toThrow(optionsError);
      expect(() => createGraphQLGuard({ costs }), String(message)).toThrow(message);
      expect(() => costLimitRule({ maxCost: 100, costs }), String(message)).toThrow(optionsError);
    }
    expect(() => createGraphQLGuard({ costs: { 'User-name': 1 } })).toThrow(
      /costs key "User-name" must be shaped "Type\.field"/,
    );
    for (const costs of [[], 'x', null, 5]) {
      expect(() => createGraphQLGuard({ costs: costs as never }), String(costs)).toThrow(optionsError);
    }
  });

  it('refuses a defaultListSize or maxCost that is not a number, showing the value as given', () => {
    expect(() => createGraphQLGuard({ defaultListSize: '5' as never })).toThrow(
      /defaultListSize must be an integer >= 0, got "5"/,
    );
    expect(() => createGraphQLGuard({ defaultListSize: Number.POSITIVE_INFINITY })).toThrow(optionsError);
    expect(() => createGraphQLGuard({ maxCost: '5' as never })).toThrow(/maxCost must be .*, got "5"/);
    expect(() => costLimitRule({ maxCost: '5' as never })).toThrow(optionsError);
  });

  it('keeps accepting every valid entry', () => {
    const costs = {
      'User.name': 0,
      'User.email': 2.5,
      'Query.users': { value: 2, multipliers: ['first'] },
      'Query.me': {},
      'User.posts': { multipliers: [] },
    };
    expect(createGraphQLGuard({ costs }).check(schema, '{ users(first: 3) { name email } }').cost).toBe(
      3 * (2 + 0 + 2.5),
    );
  });
});

describe('costs declared in the schema', () => {
  const withExtension = (cost: unknown) => {
    const priced = testSchema().schema;
    const me = priced.getQueryType()?.getFields().me as unknown as { extensions: Record<string, unknown> };
    me.extensions = { cost };
    return priced;
  };
  const withDirective = (args: string) => buildSchema(sdl.replace('me: User', `me: User @cost(${args})`));
  const bad: [string, GraphQLSchema, string][] = [
    ['negative', withExtension(-1), 'Query.me extensions.cost must be a finite number >= 0, got -1'],
    ['NaN', withExtension(Number.NaN), 'Query.me extensions.cost must be a finite number >= 0, got NaN'],
    [
      'Infinity',
      withExtension(Number.POSITIVE_INFINITY),
      'Query.me extensions.cost must be a finite number >= 0, got Infinity',
    ],
    [
      'a string',
      withExtension('5'),
      'Query.me extensions.cost must be a number >= 0 or { value?, multipliers? }, got "5"',
    ],
    [
      'null',
      withExtension(null),
      'Query.me extensions.cost must be a number >= 0 or { value?, multipliers? }, got null',
    ],
    [
      'value negative',
      withExtension({ value: -1 }),
      'Query.me extensions.cost.value must be a finite number >= 0, got -1',
    ],
    [
      'value NaN',
      withExtension({ value: Number.NaN }),
      'Query.me extensions.cost.value must be a finite number >= 0, got NaN',
    ],
    [
      'value a string',
      withExtension({ value: '5' }),
      'Query.me extensions.cost.value must be a finite number >= 0, got "5"',
    ],
    [
      'another property',
      withExtension({ complexity: 5 }),
      'Query.me extensions.cost has an unknown property "complexity" (a cost has value and multipliers)',
    ],
    [
      'multipliers a string',
      withExtension({ multipliers: 'first' }),
      'Query.me extensions.cost.multipliers must be an array of argument names, got "first"',
    ],
    ['@cost negative', withDirective('value: -1'), 'Query.me @cost(value:) must be a finite number >= 0, got -1'],
    [
      '@cost overflowing',
      withDirective('value: 1e400'),
      'Query.me @cost(value:) must be a finite number >= 0, got Infinity',
    ],
    ['@cost a string', withDirective('value: "5"'), 'Query.me @cost(value:) must be a finite number >= 0, got "5"'],
    ['@cost null', withDirective('value: null'), 'Query.me @cost(value:) must be a finite number >= 0, got null'],
    [
      '@cost multipliers not names',
      withDirective('multipliers: [5]'),
      'Query.me @cost(multipliers:) must be an array of argument names, got an array',
    ],
  ];

  for (const [name, priced, message] of bad) {
    it(`check() throws ERR_GRAPHQL_INPUT naming the field on a cost that is ${name}, never pricing it`, () => {
      expect(() => guard.check(priced, '{ me { id } }')).toThrow(
        expect.objectContaining({ name: 'PatchbayError', code: 'ERR_GRAPHQL_INPUT', message }),
      );
      // the same when the rest of the operation is over a limit
      expect(() => guard.check(priced, '{ me { id } users(first: 100000) { id } }')).toThrow(message);
      expect(guard.check(priced, '{ users(first: 2) { id } }').ok).toBe(true);
    });

    it(`rules() and costLimitRule report a cost that is ${name} as a server misconfiguration, never throwing`, () => {
      for (const rules of [guard.rules(), [costLimitRule({ maxCost: 1_000 })]]) {
        const errors = validate(priced, parse('{ me { id } }'), rules);
        expect(errors.map((e) => [e.message, e.extensions.code])).toEqual([
          ["The query could not be analyzed: the server's schema is misconfigured.", 'GRAPHQL_GUARD_FAILED'],
        ]);
        expect(errors[0]?.originalError).toEqual(
          expect.objectContaining({ name: 'PatchbayError', code: 'ERR_GRAPHQL_INPUT', message }),
        );
      }
    });
  }

  it('keeps pricing every valid declaration', () => {
    const cost = (priced: GraphQLSchema, query = '{ me { id } }') => guard.check(priced, query).cost;
    expect(cost(withExtension(0))).toBe(1);
    expect(cost(withExtension(2.5))).toBe(3.5);
    expect(cost(withExtension({}))).toBe(2);
    expect(cost(withExtension({ value: 0, multipliers: [] }))).toBe(1);
    expect(cost(withExtension(undefined))).toBe(2);
    expect(cost(withDirective('value: 0'))).toBe(1);
    expect(cost(withDirective('value: 2.5'))).toBe(3.5);
    // GraphQL reads one value given for a list argument as a list of one
    const lastOnly = buildSchema(
      sdl.replace('posts(first: Int, last: Int): [Post!]!', '$& @cost(multipliers: "last")'),
    );
    expect(cost(lastOnly, '{ me { posts(first: 9, last: 2) { id } } }')).toBe(1 + 2 * (1 + 1));
  });

  it('a costs option for the field wins, so a bad declaration it replaces is not read', () => {
    const priced = createGraphQLGuard({ costs: { 'Query.me': 3 } });
    expect(priced.check(withExtension(-1), '{ me { id } }').cost).toBe(4);
    expect(priced.check(withDirective('value: -1'), '{ me { id } }').cost).toBe(4);
  });

  it('reads a declaration once per field, not once per request', () => {
    const counted = testSchema().schema;
    const me = counted.getQueryType()?.getFields().me as unknown as { extensions: object };
    let reads = 0;
    me.extensions = {
      get cost() {
        reads++;
        return 5;
      },
    };
    const once = createGraphQLGuard();
    for (let i = 0; i < 3; i++) expect(once.check(counted, '{ me { id } }').cost).toBe(6);
    expect(reads).toBe(1);
  });
});

describe('introspection and suggestions', () => {
  const locked = createGraphQLGuard({ introspection: false, suggestions: false });

  it('refuse a value that is not a boolean, quoting a string so "false" is not read as false', () => {
    expect(() => createGraphQLGuard({ introspection: 'false' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS', message: 'introspection must be a boolean, got "false"' }),
    );
    expect(() => createGraphQLGuard({ suggestions: 0 as never })).toThrow('suggestions must be a boolean, got 0');
    expect(() => createGraphQLGuard({ suggestions: null as never })).toThrow('suggestions must be a boolean, got null');
  });

  it('introspection: false rejects __schema and __type, in fragments too, and keeps __typename', () => {
    expect(codes(locked.check(schema, '{ __schema { queryType { name } } }').errors)).toEqual([
      'GRAPHQL_INTROSPECTION_DISABLED',
    ]);
    const viaFragment = '{ ...Q } fragment Q on Query { __type(name: "User") { name } }';
    expect(codes(validate(schema, parse(viaFragment), [...specifiedRules, ...locked.rules()]))).toEqual([
      'GRAPHQL_INTROSPECTION_DISABLED',
    ]);
    expect(locked.check(schema, '{ me { __typename id } }').ok).toBe(true);
  });

  it('suggestions: false removes "Did you mean" from every validation error', () => {
    const query = '{ me { nam } users(frist: 2) { id } }';
    const plain = validate(schema, parse(query), specifiedRules).map((e) => e.message);
    expect(plain.join('\n')).toMatch(/Did you mean/);
    const masked = validate(schema, parse(query), [...specifiedRules, ...locked.rules()]);
    expect(masked.map((e) => e.message)).toEqual([
      'Cannot query field "nam" on type "User".',
      'Unknown argument "frist" on field "Query.users".',
    ]);
    expect(
      locked
        .check(schema, query)
        .errors.map((e) => e.message)
        .join('\n'),
    ).not.toMatch(/Did you mean/);
    expect(
      guard
        .check(schema, query)
        .errors.map((e) => e.message)
        .join('\n'),
    ).toMatch(/Did you mean/);
  });
});

describe('Relay connections', () => {
  // users(first: n) returns a connection object, not a list: first bounds the edges and nodes inside
  const relay = buildSchema(`
    type Query { users(first: Int, last: Int, after: String): UserConnection! }
    type UserConnection { edges: [UserEdge!]! nodes: [User!]! pageInfo: PageInfo! totalCount: Int! }
    type UserEdge { cursor: String! node: User! }
    type PageInfo { hasNextPage: Boolean! }
    type User { id: ID! friends(first: Int): UserConnection! }
  `);
  let resolved = 0;
  const user = (id: number): object => ({
    id,
    friends: ({ first = 10 }: { first?: number }) => connection(first),
  });
  const connection = (size: number) => {
    const page = Array.from({ length: size }, (_, i) => {
      resolved += 1;
      return user(i);
    });
    return {
      edges: page.map((node, i) => ({ cursor: String(i), node })),
      nodes: page,
      pageInfo: { hasNextPage: true },
      totalCount: 1_000_000,
    };
  };
  const rootValue = { users: ({ first = 10, last }: { first?: number; last?: number }) => connection(last ?? first) };

  it('a page size on a connection field sizes the lists inside it, literal or variable', async () => {
    const cost = (query: string, variables?: Record<string, unknown>) => guard.check(relay, query, variables).cost;
    expect(cost('{ users(first: 2) { edges { node { id } } } }')).toBe(1 + 2 * (1 + 1 + 1));
    expect(cost('query($n: Int) { users(last: $n) { nodes { id } totalCount } }', { n: 3 })).toBe(1 + 3 * 2 + 1);
    // no page size: the lists inside keep defaultListSize
    expect(cost('{ users { edges { cursor } } }')).toBe(1 + 10 * 2);

    const query = '{ users(first: 5000) { edges { cursor node { id } } pageInfo { hasNextPage } } }';
    const report = guard.check(relay, query);
    expect(report.ok).toBe(false);
    expect(codes(report.errors)).toEqual(['GRAPHQL_COST_LIMIT']);
    expect(report.cost).toBe(1 + 5000 * (1 + 1 + 1 + 1) + 2);
    // what it would have cost the server: 5,000 users resolved
    resolved = 0;
    await graphql({ schema: relay, source: query, rootValue });
    expect(resolved).toBe(5000);
  });

  it('nested connections multiply: a million users each with a million friends is not cheap', () => {
    const query = 'query($n: Int) { users(first: $n) { edges { node { friends(first: $n) { nodes { id } } } } } }';
    const errors = validate(relay, parse(query), [...specifiedRules, ...guard.rules({ n: 1_000_000 })]);
    expect(codes(errors)).toEqual(['GRAPHQL_COST_LIMIT']);
    expect(errors[0]?.extensions.value).toBeGreaterThan(1e12);
  });

  it('through fragments too, each measured once', () => {
    const query =
      'query($n: Int) { users(first: $n) { ...Page } } fragment Page on UserConnection { ... on UserConnection { edges { node { id } } } nodes { id } }';
    expect(guard.check(relay, query, { n: 4 }).cost).toBe(1 + 4 * 3 + 4 * 2);
    expect(guard.check(relay, query, { n: 10_000 }).ok).toBe(false);
  });

  it('a field with its own multipliers keeps them', () => {
    const priced = createGraphQLGuard({ costs: { 'Query.users': { multipliers: ['first'] } } });
    expect(priced.check(relay, '{ users(first: 2) { nodes { id } } }').cost).toBe(2 * (1 + 10 * 2));
  });
});

describe('@skip and @include', () => {
  const expensive = 'posts(first: 1000) { comments(limit: 100) { a: id b: text } }';

  it('a selection left out is not priced, literal or variable, as graphql-js leaves it unexecuted', async () => {
    const query = `query($full: Boolean!) { me { id ${expensive.replace('{', '@include(if: $full) {')} } }`;
    const light = guard.check(schema, query, { full: false });
    expect(light).toMatchObject({ ok: true, cost: 2, depth: 2, aliases: 0, directives: 1 });
    const result = await graphql({ schema, source: query, rootValue, variableValues: { full: false } });
    expect(result).toEqual({ data: { me: { id: 'u1' } } });
    // included, it is priced in full
    const full = guard.check(schema, query, { full: true });
    expect(full.ok).toBe(false);
    expect(codes(full.errors)).toContain('GRAPHQL_COST_LIMIT');
    expect(full.aliases).toBe(2);

    expect(guard.check(schema, `{ me { id ${expensive.replace('{', '@skip(if: true) {')} } }`).cost).toBe(2);
    expect(guard.check(schema, `query($s: Boolean = true) { me { id ... @skip(if: $s) { ${expensive} } } }`).cost).toBe(
      2,
    );
    const spread = `query($s: Boolean!) { me { id ...P @skip(if: $s) } } fragment P on User { ${expensive} }`;
    const errors = validate(schema, parse(spread), [...specifiedRules, ...guard.rules({ s: true })]);
    expect(errors).toEqual([]);
  });

  it('a condition the guard cannot read as true or false counts the selection', () => {
    const query = `query($full: Boolean!) { me { id ${expensive.replace('{', '@include(if: $full) {')} } }`;
    // no variables passed to the guard: priced as included
    expect(codes(guard.check(schema, query).errors)).toContain('GRAPHQL_COST_LIMIT');
    expect(codes(guard.check(schema, query, { full: 'false' }).errors)).toContain('GRAPHQL_COST_LIMIT');
    expect(guard.check(schema, `{ me { id ${expensive.replace('{', '@skip(if: false) {')} } }`).ok).toBe(false);
  });

  it('directives inside a left-out selection still count: parsing and validation pay for them', () => {
    const many = Array.from({ length: 60 }, () => 'id @include(if: true)').join(' ');
    const report = guard.check(schema, `{ me @skip(if: true) { ${many} } }`);
    expect(report.directives).toBe(61);
    expect(codes(report.errors)).toEqual(['GRAPHQL_DIRECTIVE_LIMIT']);
  });
});

describe('fragment arguments (graphql 17, experimentalFragmentArguments)', () => {
  const fragmentArguments = versionInfo.major >= 17;
  // graphql 16 has no such option: parse() ignores it, and the tests below are for 17 only
  const parseWithArguments = (query: string) =>
    parse(query, { ...guard.parseOptions, experimentalFragmentArguments: true } as ParseOptions);
  const rejectedBy = (query: string, variables?: Record<string, unknown>) =>
    codes(validate(schema, parseWithArguments(query), [...specifiedRules, ...guard.rules(variables)]));

  it.skipIf(!fragmentArguments)(
    'prices a fragment at the arguments of each spread, as graphql 17 executes it',
    async () => {
      const query = '{ ...Users(n: 100000) } fragment Users($n: Int = 1) on Query { users(first: $n) { id } }';
      expect(rejectedBy(query)).toEqual(['GRAPHQL_COST_LIMIT']);
      // graphql 17 runs it with first: 100000, not with the default or defaultListSize
      let first: unknown;
      const spy = {
        ...rootValue,
        users: (args: { first?: number }) => {
          first = args.first;
          return [];
        },
      };
      await execute({ schema, document: parseWithArguments(query), rootValue: spy });
      expect(first).toBe(100_000);

      // the default, when the spread passes nothing; a variable of the operation, passed through
      expect(rejectedBy('{ ...U } fragment U($n: Int = 100000) on Query { users(first: $n) { id } }')).toEqual([
        'GRAPHQL_COST_LIMIT',
      ]);
      const passed = 'query($m: Int) { ...U(n: $m) } fragment U($n: Int) on Query { users(first: $n) { id } }';
      expect(rejectedBy(passed, { m: 100_000 })).toEqual(['GRAPHQL_COST_LIMIT']);
      expect(rejectedBy(passed, { m: 5 })).toEqual([]);
      // one fragment spread with different arguments is priced at each
      const twice =
        '{ a: me { ...U(n: 2) } b: me { ...U(n: 100000) } } fragment U($n: Int) on User { friends(first: $n) { id } }';
      expect(rejectedBy(twice)).toEqual(['GRAPHQL_COST_LIMIT']);
      // a fragment variable shadows the operation's variable of the same name
      const shadowed =
        'query($n: Int) { me { friends(first: $n) { id } } ...U(n: 100000) } fragment U($n: Int) on Query { users(first: $n) { id } }';
      expect(rejectedBy(shadowed, { n: 1 })).toEqual(['GRAPHQL_COST_LIMIT']);
      // and decides @skip/@include inside the fragment
      const skip = '{ ...U(s: false) } fragment U($s: Boolean!) on Query { users(first: 100000) @skip(if: $s) { id } }';
      expect(rejectedBy(skip)).toEqual(['GRAPHQL_COST_LIMIT']);
    },
  );

  it.skipIf(!fragmentArguments)(
    'fails closed on exponentially many argument combinations, instead of walking them',
    () => {
      // F_i spreads F_{i+1} twice with one more argument: 2^24 distinct (fragment, arguments) pairs
      const levels = 24;
      const names = (i: number) => Array.from({ length: i }, (_, j) => `a${j}`);
      const fragments = Array.from({ length: levels }, (_, i) => {
        const params = names(i).map((a) => `$${a}: Int`);
        const pass = names(i).map((a) => `${a}: $${a}`);
        const spread = (value: number) => `...F${i + 1}(${[...pass, `a${i}: ${value}`].join(', ')})`;
        const signature = params.length > 0 ? `(${params.join(', ')})` : '';
        return `fragment F${i}${signature} on Query { ${spread(1)} ${spread(2)} }`;
      });
      const last = `fragment F${levels}(${names(levels)
        .map((a) => `$${a}: Int`)
        .join(', ')}) on Query { me { id } }`;
      const document = parse(`{ ...F0 } ${fragments.join(' ')} ${last}`, {
        experimentalFragmentArguments: true,
      } as ParseOptions);
      const errors = validate(schema, document, guard.rules());
      expect(codes(errors)).toEqual(['GRAPHQL_GUARD_FAILED']);
    },
  );

  it.skipIf(fragmentArguments)('graphql 16: legacy fragment variables are the operation variables', () => {
    const query = 'query($n: Int) { ...U } fragment U($n: Int = 1) on Query { users(first: $n) { id } }';
    const document = parse(query, { allowLegacyFragmentVariables: true } as ParseOptions);
    const errors = validate(schema, document, [...specifiedRules, ...guard.rules({ n: 100_000 })]);
    expect(codes(errors)).toEqual(['GRAPHQL_COST_LIMIT']);
  });
});

describe('cost overflow', () => {
  // 40 nested lists of 2^31 - 1 overflow a double to Infinity; first: 0 above them made it NaN
  const overflow = `{ users(first: 0) { ${'friends(first: 2147483647) { '.repeat(40)} id ${'}'.repeat(40)} } }`;

  it('a cost too large for a number is Infinity, never NaN: over any finite limit, and let through by maxCost: Infinity', () => {
    const report = guard.check(schema, overflow);
    expect(report.cost).toBe(Number.POSITIVE_INFINITY);
    expect(report.errors.find((e) => e.extensions.code === 'GRAPHQL_COST_LIMIT')?.extensions.value).toBe(
      Number.POSITIVE_INFINITY,
    );
    const off = createGraphQLGuard({ maxCost: Number.POSITIVE_INFINITY, maxDepth: Number.POSITIVE_INFINITY });
    expect(off.check(schema, overflow)).toMatchObject({ ok: true, errors: [] });
  });
});

describe('fields asked through an interface', () => {
  const schema = buildSchema(`
    directive @cost(value: Int, multipliers: [String]) on FIELD_DEFINITION
    interface Searchable { search(term: String): [String] }
    type User implements Searchable { search(term: String): [String] @cost(value: 50) }
    type Tag implements Searchable { search(term: String): [String] }
    type Query { node: Searchable, user: User }
  `);
  const throughInterface = '{ node { search(term: "x") } }';
  const direct = '{ user { search(term: "x") } }';

  it('are priced as the most expensive implementation, so a per-type cost cannot be dodged', () => {
    const guard = createGraphQLGuard({ maxCost: 1_000 });
    const report = guard.check(schema, throughInterface);
    expect(report.cost).toBe(guard.check(schema, direct).cost);
    // the costs option too, and an inline fragment on the interface
    const byOption = createGraphQLGuard({ maxCost: 1_000, costs: { 'Tag.search': 70 } });
    expect(byOption.check(schema, '{ node { ... on Searchable { search } } }').cost).toBe(1 + 10 * 70);
  });

  it('keep the interface price when it is the highest', () => {
    const guard = createGraphQLGuard({ maxCost: 10_000, costs: { 'Searchable.search': 90 } });
    expect(guard.check(schema, throughInterface).cost).toBe(1 + 10 * 90);
  });
});
