import { buildSchema, graphql } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createLoaders } from '../../src/graphql/index';
import { posts, testSchema, type UserRow, users } from './schema';

const query = '{ users(first: 20) { posts(first: 3) { title author { name } } } }';

describe('createLoaders', () => {
  it('turns N+1 into 2 queries: one for the posts list, one batch for every author', async () => {
    const queries: string[] = [];
    const db = {
      usersByIds: (ids: readonly string[]) => {
        queries.push(`SELECT * FROM users WHERE id IN (${ids.join(',')})`);
        return ids.map((id) => users.find((u) => u.id === id) as UserRow);
      },
    };
    // Without loaders: one query per author of each of the 60 posts, after the list
    const naive = testSchema((id) => db.usersByIds([id])[0] as UserRow);
    queries.push('SELECT * FROM users LIMIT 20');
    const before = await graphql({ ...naive, source: query });
    expect(before.errors).toBeUndefined();
    expect(queries.length).toBe(1 + 60);

    queries.length = 0;
    const newLoaders = createLoaders({ userById: async (ids: readonly string[]) => db.usersByIds(ids) });
    const batched = testSchema((id, context) =>
      (context as { loaders: ReturnType<typeof newLoaders> }).loaders.userById.load(id),
    );
    queries.push('SELECT * FROM users LIMIT 20');
    const after = await graphql({ ...batched, source: query, contextValue: { loaders: newLoaders() } });
    expect(after.data).toEqual(before.data);
    expect(queries).toHaveLength(2);
    expect(queries[1]).toBe(`SELECT * FROM users WHERE id IN (${users.map((u) => u.id).join(',')})`);
    expect(posts.length).toBeGreaterThan(0);
  });

  it('caches per request: a second request loads again, the same request does not', async () => {
    const calls: (readonly string[])[] = [];
    const newLoaders = createLoaders({
      userById: async (ids: readonly string[]) => {
        calls.push(ids);
        return ids.map((id) => ({ id }));
      },
    });
    const first = newLoaders();
    await Promise.all([first.userById.load('a'), first.userById.load('b'), first.userById.load('a')]);
    await first.userById.load('a');
    expect(calls).toEqual([['a', 'b']]);
    await newLoaders().userById.load('a');
    expect(calls).toEqual([['a', 'b'], ['a']]);
    expect(newLoaders().userById).not.toBe(newLoaders().userById);
  });

  it('splits batches at maxBatchSize and passes errors to the load that asked', async () => {
    const sizes: number[] = [];
    const newLoaders = createLoaders(
      {
        itemById: async (ids: readonly number[]) => {
          sizes.push(ids.length);
          return ids.map((id) => (id === 3 ? new Error('no item 3') : id * 10));
        },
      },
      { maxBatchSize: 2 },
    );
    const loaders = newLoaders();
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((id) => loaders.itemById.load(id)));
    expect(sizes).toEqual([2, 2, 1]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      10,
      20,
      'no item 3',
      40,
      50,
    ]);
  });

  it('a batch function returning the wrong number of values is ERR_GRAPHQL_LOADER, naming the loader, not the data', async () => {
    // the classic mistake: the rows an IN query found, not one value per key
    const newLoaders = createLoaders({
      emailById: async (ids: readonly string[]) => users.filter((u) => ids.includes(u.id)).map((u) => u.email),
    });
    const schema = buildSchema('type Query { emails(ids: [ID!]!): [String] }');
    const rootValue = {
      emails: ({ ids }: { ids: string[] }, context: { loaders: ReturnType<typeof newLoaders> }) =>
        ids.map((id) => context.loaders.emailById.load(id)),
    };
    const result = await graphql({
      schema,
      rootValue,
      source: '{ emails(ids: ["u1", "u2", "nobody"]) }',
      contextValue: { loaders: newLoaders() },
    });
    expect(result.errors).toHaveLength(3);
    for (const error of result.errors ?? []) {
      expect(error.originalError).toMatchObject({ code: 'ERR_GRAPHQL_LOADER' });
      expect(error.message).toContain('emailById');
      expect(error.message).toContain('2 values for 3 keys');
      // the message reaches the client: it must not carry the batch's keys or values
      expect(error.message).not.toMatch(/u1|user1@example\.com/);
    }
    // a batch function that forgets to return
    const noValues = createLoaders({ a: async (_keys: readonly number[]) => undefined as never })();
    await expect(noValues.a.load(1)).rejects.toMatchObject({ code: 'ERR_GRAPHQL_LOADER' });
  });

  it('bad options throw ERR_GRAPHQL_OPTIONS', () => {
    for (const [fns, options] of [
      [{ a: 1 }, {}],
      [null, {}],
      [{ a: async () => [] }, { maxBatchSize: 0 }],
      [{ a: async () => [] }, null],
      [{ a: async () => [] }, 'x'],
    ] as const) {
      expect(() => createLoaders(fns as never, options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' }),
      );
    }
    // the value as given: a string is quoted, so '2' does not read as the number 2
    expect(() => createLoaders({ a: async () => [] }, { maxBatchSize: '2' as never })).toThrow(
      'maxBatchSize must be an integer >= 1, got "2"',
    );
  });
});
