// The attack catalogue and the legitimate queries, shared by the tests and bench/graphql.ts.
import { getIntrospectionQuery } from 'graphql';

export interface Attack {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  /** What the default guard's check() reports (parse with maxTokens, then the limits). */
  checkCode: string;
  /** What guard.rules() report when the document was parsed with no token limit, if they stop it. */
  ruleCode?: string;
}

const repeat = (count: number, make: (i: number) => string, separator = ' ') =>
  Array.from({ length: count }, (_, i) => make(i)).join(separator);

const nested = (levels: number): string => (levels === 0 ? 'id' : `friends { ${nested(levels - 1)} }`);

/** `F0 { ...F1 ...F1 }` … `F25 { ...F26 ...F26 }`, `F26 { name }`: 2^26 expansions of `name`. */
export const fanOut = `{ me { ...F0 } }\n${repeat(26, (i) => `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`, '\n')}\nfragment F26 on User { name }`;

const hundredKb = (() => {
  let body = '';
  for (let i = 0; body.length < 100 * 1024; i++) body += `f${i}: name `;
  return `{ me { ${body} } }`;
})();

export const attacks: Attack[] = [
  {
    name: 'deep nesting (depth 40)',
    query: `{ me { ${nested(39)} } }`,
    checkCode: 'GRAPHQL_DEPTH_LIMIT',
    ruleCode: 'GRAPHQL_DEPTH_LIMIT',
  },
  {
    name: '1000 aliases',
    query: `{ ${repeat(1000, (i) => `a${i}: login(user: "admin", password: "guess${i}")`)} }`,
    checkCode: 'GRAPHQL_TOKEN_LIMIT',
    ruleCode: 'GRAPHQL_ALIAS_LIMIT',
  },
  {
    name: '5000 duplicate fields',
    query: `{ me { ${repeat(5000, () => 'name')} } }`,
    checkCode: 'GRAPHQL_TOKEN_LIMIT',
  },
  {
    name: '5000 directives',
    query: `{ me { name ${repeat(5000, () => '@skip(if: false)')} } }`,
    checkCode: 'GRAPHQL_TOKEN_LIMIT',
    ruleCode: 'GRAPHQL_DIRECTIVE_LIMIT',
  },
  {
    name: 'circular fragments (spreads only)',
    query: '{ me { ...A } } fragment A on User { name ...B } fragment B on User { id ...A }',
    checkCode: 'GRAPHQL_VALIDATION_FAILED',
  },
  {
    name: 'circular fragments (through fields)',
    query: '{ me { ...A } } fragment A on User { friends { ...B } } fragment B on User { friends { ...A } }',
    checkCode: 'GRAPHQL_VALIDATION_FAILED',
  },
  { name: 'fragment fan-out 2^26', query: fanOut, checkCode: 'GRAPHQL_COST_LIMIT', ruleCode: 'GRAPHQL_COST_LIMIT' },
  {
    name: 'huge first (literal)',
    query: '{ users(first: 1000000) { id name } }',
    checkCode: 'GRAPHQL_COST_LIMIT',
    ruleCode: 'GRAPHQL_COST_LIMIT',
  },
  {
    name: 'huge first (variable)',
    query: 'query Users($n: Int) { users(first: $n) { id name } }',
    variables: { n: 1_000_000 },
    checkCode: 'GRAPHQL_COST_LIMIT',
    ruleCode: 'GRAPHQL_COST_LIMIT',
  },
  {
    name: 'nested introspection',
    query: '{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }',
    checkCode: 'GRAPHQL_INTROSPECTION_LIMIT',
    ruleCode: 'GRAPHQL_INTROSPECTION_LIMIT',
  },
  {
    name: 'deep introspection (ofType chain)',
    query: `{ __type(name: "User") { ${repeat(20, () => 'ofType {', ' ')} name ${repeat(20, () => '}', ' ')} } }`,
    checkCode: 'GRAPHQL_DEPTH_LIMIT',
    ruleCode: 'GRAPHQL_DEPTH_LIMIT',
  },
  { name: '100 KB query', query: hundredKb, checkCode: 'GRAPHQL_TOKEN_LIMIT', ruleCode: 'GRAPHQL_ALIAS_LIMIT' },
];

export interface Legit {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
}

/** A realistic medium query: a feed page with fragments, a union and variables (the bench's medium query). */
export const mediumQuery = /* GraphQL */ `
  query Feed($first: Int = 10, $term: String!) {
    me { ...UserCard friends(first: 5) { ...UserCard } }
    feed: users(first: $first) {
      ...UserCard
      posts(first: 5) { ...PostSummary comments(limit: 3) { id text author { ...UserCard } } }
    }
    search(term: $term, limit: 10) {
      __typename
      ... on User { ...UserCard }
      ... on Post { ...PostSummary }
    }
  }
  fragment UserCard on User { id name role }
  fragment PostSummary on Post { id title author { id name } }
`;

export const legitQueries: Legit[] = [
  {
    name: 'depth 8',
    query:
      '{ me { friends(first: 5) { posts(first: 5) { comments(limit: 5) { author { friends(first: 2) { posts(first: 2) { title } } } } } } } }',
  },
  { name: 'medium feed with fragments and a union', query: mediumQuery, variables: { term: 'graphql' } },
  {
    name: 'a list page, cost in the low thousands',
    query: '{ users(first: 50) { id name email posts(first: 10) { id title } } }',
  },
  {
    name: 'variables with defaults',
    query:
      'query Page($n: Int = 20, $after: String) { users(first: $n, after: $after) { id name friends(first: 3) { id } } }',
    variables: { n: 25 },
  },
  {
    name: 'aliases and directives in moderation',
    query:
      'query($withEmail: Boolean!) { a: user(id: "u1") { name email @include(if: $withEmail) } b: user(id: "u2") { name email @include(if: $withEmail) } node(id: "u3") { id ... on User { name } } }',
    variables: { withEmail: true },
  },
  { name: 'standard introspection query', query: getIntrospectionQuery() },
  {
    name: 'introspection query with every option',
    query: getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
    }),
  },
  {
    name: '__typename and __type lookups',
    query: '{ __typename me { __typename id } __type(name: "User") { name fields { name } } }',
  },
];
