// A GraphQL API on plain graphql-js over node:http with patchbay's guard, Automatic Persisted
// Queries and per-request DataLoaders: a normal query is answered with its authors loaded in one
// batch, abusive queries get 400 with an error code, so does a body the server cannot read (not
// JSON, a malformed persisted query), and an APQ client registers its query once.
// Run: npm run build && node examples/graphql.ts
// With Redis, pass `store: redisPersistedQueryStore(new Redis(url))` to share registered queries.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema, execute } from 'graphql';
import {
  createGraphQLGuard,
  createLoaders,
  PatchbayError,
  type PersistedQueryBody,
  persistedQueries,
} from 'patchbay/graphql';

const schema = buildSchema(`
  type Query { posts(first: Int): [Post!]! }
  type Post { id: ID! title: String! author: User! }
  type User { id: ID! name: String! friends(first: Int): [User!]! }
`);
const people = ['Ada', 'Grace', 'Edsger'].map((name, i) => ({ id: `u${i}`, name }));

let userQueries = 0;
const newLoaders = createLoaders({
  userById: async (ids: readonly string[]) => {
    userQueries++; // one "SELECT ... WHERE id IN (...)" per batch
    return ids.map((id) => people.find((p) => p.id === id) ?? new Error(`no user ${id}`));
  },
});
type Context = { loaders: ReturnType<typeof newLoaders> };

const user = (row: { id: string; name: string }) => ({
  ...row,
  friends: () => people.filter((p) => p !== row).map(user),
});
const rootValue = {
  posts: ({ first = 10 }: { first?: number }) =>
    Array.from({ length: Math.min(first, 30) }, (_, i) => ({
      id: `p${i}`,
      title: `Post ${i}`,
      author: async (_args: unknown, context: Context) => user(await context.loaders.userById.load(`u${i % 3}`)),
    })),
};

const guard = createGraphQLGuard({ introspection: false, suggestions: false });
const pq = persistedQueries();

const server = createServer(async (req, res) => {
  // GraphQL over HTTP's own media type, with which a request that fails validation is a 400
  const send = (status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/graphql-response+json' }).end(JSON.stringify(body));
  // a request the server cannot read at all is a 400 too, with the same shape of body
  const malformed = (message: string) => send(400, { errors: [{ message }] });
  let text = '';
  for await (const chunk of req) text += chunk;
  let body: PersistedQueryBody & { variables?: Record<string, unknown> | null };
  try {
    body = JSON.parse(text);
  } catch {
    malformed('The body is not JSON');
    return;
  }
  let resolved: Awaited<ReturnType<typeof pq.resolve>>;
  try {
    resolved = await pq.resolve(body);
  } catch (error) {
    // ERR_GRAPHQL_PERSISTED_QUERY: not an object, no string query, a bad hash or version. Else the
    // store failed (ERR_GRAPHQL_STORE): no fault of the client's.
    if (error instanceof PatchbayError && error.code === 'ERR_GRAPHQL_PERSISTED_QUERY') malformed(error.message);
    else send(503, { errors: [{ message: 'Persisted queries are unavailable' }] });
    return;
  }
  if ('error' in resolved) {
    send(200, { errors: [{ message: resolved.error, extensions: { code: resolved.error } }] });
    return;
  }
  // GraphQL over HTTP: variables are a JSON object; anything else is a malformed request
  const { variables = null } = body;
  if (variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
    malformed('variables must be an object');
    return;
  }
  const report = guard.check(schema, resolved.query, variables);
  if (!report.ok) {
    send(400, { errors: report.errors });
    return;
  }
  const contextValue: Context = { loaders: newLoaders() };
  send(200, await execute({ schema, document: report.document, rootValue, contextValue, variableValues: variables }));
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;

// a string is sent as it is, to show what a body that is not JSON gets
async function post(label: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const json = await response.json();
  const summary = json.errors
    ? json.errors
        .map((e: { message: string; extensions?: { code?: string } }) =>
          [e.extensions?.code, e.message].filter(Boolean).join(': '),
        )
        .join('; ')
    : `${JSON.stringify(json.data).slice(0, 70)}…`;
  console.log(`${label.padEnd(34)} ${response.status} ${summary}`);
}

await post('posts with authors', { query: '{ posts(first: 20) { title author { name } } }' });
console.log(`  20 authors loaded with ${userQueries} batched user query`);
await post('first: 1000000 (as a variable)', {
  query: 'query($n: Int) { posts(first: $n) { title } }',
  variables: { n: 1_000_000 },
});
await post('depth 20 through friends', {
  query: `{ posts { author { ${'friends { '.repeat(18)}name${' }'.repeat(18)} } } }`,
});
await post('1000 aliases', { query: `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: posts { id }`).join(' ')} }` });
await post('introspection (disabled here)', { query: '{ __schema { types { name } } }' });
await post('typo (suggestions masked)', { query: '{ posts { titel } }' });
await post('a body that is not JSON', '{ posts { title } }');

const query = '{ posts(first: 2) { id title } }';
const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') };
await post('APQ: hash only', { extensions: { persistedQuery } });
await post('APQ: hash + query (registers)', { query, extensions: { persistedQuery } });
await post('APQ: hash only, again', { extensions: { persistedQuery } });
await post('APQ: malformed hash', { extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } });

server.close();
