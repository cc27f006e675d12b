// The guard, persisted queries and loaders wired into a plain graphql-js server over node:http,
// as a user would: attacks get HTTP 400 with the error code, legitimate queries are answered.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execute } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphQLGuard, createLoaders, PatchbayError, persistedQueries } from '../../src/graphql/index';
import { attacks, legitQueries, mediumQuery } from './queries';
import { testSchema, type UserRow, users } from './schema';

let batches = 0;
const newLoaders = createLoaders({
  userById: async (ids: readonly string[]) => {
    batches++;
    return ids.map((id) => users.find((u) => u.id === id) ?? new Error(`no user ${id}`));
  },
});
const { schema, rootValue } = testSchema((id, context) =>
  (context as { loaders: ReturnType<typeof newLoaders> }).loaders.userById.load(id),
);
const guard = createGraphQLGuard({ suggestions: false });
const pq = persistedQueries();

async function readText(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const text = await readText(req);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text);
    } catch {
      return send(400, { errors: [{ message: 'The body is not JSON' }] });
    }
    let resolved: Awaited<ReturnType<typeof pq.resolve>>;
    try {
      resolved = await pq.resolve(body);
    } catch (error) {
      // a malformed body: not an object, no string query, a bad persisted query hash or version
      if (!(error instanceof PatchbayError) || error.code !== 'ERR_GRAPHQL_PERSISTED_QUERY') throw error;
      return send(400, { errors: [{ message: error.message }] });
    }
    if ('error' in resolved)
      return send(200, { errors: [{ message: resolved.error, extensions: { code: resolved.error } }] });
    // GraphQL over HTTP: variables are a JSON object; anything else is a malformed request
    const variables = body.variables ?? null;
    if (variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
      return send(400, { errors: [{ message: 'variables must be an object' }] });
    }
    const report = guard.check(schema, resolved.query, variables as Record<string, unknown> | null);
    if (!report.ok || !report.document) return send(400, { errors: report.errors });
    const result = await execute({
      schema,
      document: report.document,
      rootValue,
      variableValues: variables as Record<string, unknown> | null,
      contextValue: { loaders: newLoaders() },
    });
    send(200, result);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

async function post(body: unknown): Promise<{
  status: number;
  json: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
}> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe('a graphql-js server with the guard', () => {
  for (const attack of attacks) {
    it(`answers ${attack.name} with 400 and ${attack.checkCode}`, async () => {
      const { status, json } = await post({ query: attack.query, variables: attack.variables });
      expect(status).toBe(400);
      expect(json.errors?.map((e) => e.extensions?.code)).toContain(attack.checkCode);
      expect(json.data).toBeUndefined();
    });
  }

  for (const legit of legitQueries) {
    it(`answers ${legit.name}`, async () => {
      const { status, json } = await post({ query: legit.query, variables: legit.variables });
      expect(json.errors).toBeUndefined();
      expect(status).toBe(200);
      expect(json.data).toBeTypeOf('object');
    });
  }

  it('answers the medium query with real data, authors loaded in one batch per level', async () => {
    batches = 0;
    const { json } = await post({ query: mediumQuery, variables: { term: 'x', first: 3 } });
    const data = json.data as { me: { name: string }; feed: { posts: { author: UserRow }[] }[] };
    expect(data.me.name).toBe('User 1');
    expect(data.feed).toHaveLength(3);
    expect(data.feed[0]?.posts[0]?.author.name).toBe('User 0');
    expect(batches).toBeLessThanOrEqual(3);
  });

  it('answers variables that are not an object with 400, and keeps serving', async () => {
    const query = 'query($n: Int) { users(first: $n) { id } }';
    for (const variables of ['{"n":1000000}', [1_000_000], 5]) {
      const { status, json } = await post({ query, variables });
      expect(status).toBe(400);
      expect(json.errors?.[0]?.message).toBe('variables must be an object');
    }
    expect((await post({ query, variables: null })).status).toBe(200);
  });

  it('answers a body that is not JSON, or a malformed persisted query body, with 400, and keeps serving', async () => {
    const notJson = await fetch(url, { method: 'POST', body: '{ me { id } }' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ errors: [{ message: 'The body is not JSON' }] });
    const malformed: [unknown, string][] = [
      [
        { extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } },
        'persistedQuery.sha256Hash must be 64 hex digits',
      ],
      [
        { extensions: { persistedQuery: { version: 2, sha256Hash: 'a'.repeat(64) } } },
        'persistedQuery.version 2 is not supported (1 is)',
      ],
      [{ query: 5 }, 'query must be a string'],
      [{}, 'The body has neither a query nor a persisted query hash'],
      [null, 'The body must be an object'],
    ];
    for (const [body, message] of malformed) {
      const { status, json } = await post(body);
      expect(status, JSON.stringify(body)).toBe(400);
      expect(json.errors).toEqual([{ message }]);
    }
    expect((await post({ query: '{ me { id } }' })).status).toBe(200);
  });

  it('masks suggestions in the errors it sends', async () => {
    const { status, json } = await post({ query: '{ me { nam } }' });
    expect(status).toBe(400);
    expect(json.errors?.[0]?.message).toBe('Cannot query field "nam" on type "User".');
  });

  it('speaks APQ: hash alone → PERSISTED_QUERY_NOT_FOUND, then registered, then by hash', async () => {
    const query = '{ me { id name } }';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const first = await post({ extensions });
    expect(first.json.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await post({ query, extensions })).json.data).toEqual({ me: { id: 'u1', name: 'User 1' } });
    expect((await post({ extensions })).json.data).toEqual({ me: { id: 'u1', name: 'User 1' } });
  });
});
