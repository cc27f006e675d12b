// The schema every graphql test runs against: users, posts and comments with lists bounded by
// first/last/limit, an interface, a union, a field priced with @cost, and real resolvers over
// generated data, so guarded queries are also executed.
import { buildSchema, type GraphQLSchema } from 'graphql';

export const sdl = /* GraphQL */ `
  directive @cost(value: Int, multipliers: [String!]) on FIELD_DEFINITION

  type Query {
    me: User
    user(id: ID!): User
    users(first: Int, after: String): [User!]!
    search(term: String!, limit: Int): [SearchResult!]! @cost(value: 5, multipliers: ["limit"])
    node(id: ID!): Node
    login(user: String!, password: String!): Boolean
  }
  interface Node { id: ID! }
  union SearchResult = User | Post
  enum Role { ADMIN MEMBER }
  type User implements Node {
    id: ID!
    name: String!
    email: String
    role: Role!
    friends(first: Int): [User!]!
    posts(first: Int, last: Int): [Post!]!
  }
  type Post implements Node {
    id: ID!
    title: String!
    body: String
    author: User!
    comments(limit: Int): [Comment!]!
  }
  type Comment implements Node { id: ID! text: String! author: User! }
`;

export interface UserRow {
  id: string;
  name: string;
  email: string;
  role: 'ADMIN' | 'MEMBER';
}
export interface PostRow {
  id: string;
  title: string;
  body: string;
  authorId: string;
}

export const users: UserRow[] = Array.from({ length: 20 }, (_, i) => ({
  id: `u${i}`,
  name: `User ${i}`,
  email: `user${i}@example.com`,
  role: i === 0 ? 'ADMIN' : 'MEMBER',
}));
export const posts: PostRow[] = Array.from({ length: 60 }, (_, i) => ({
  id: `p${i}`,
  title: `Post ${i}`,
  body: `Body ${i}`,
  authorId: `u${i % 20}`,
}));

/** Resolves a user's author and friends through `lookupUser`, so tests can count the lookups. */
export type LookupUser = (id: string, context: unknown) => UserRow | Promise<UserRow>;

const byId = (id: string): UserRow => users.find((u) => u.id === id) ?? (users[0] as UserRow);

function userObject(row: UserRow, lookupUser: LookupUser) {
  return {
    ...row,
    __typename: 'User',
    friends: ({ first = 10 }: { first?: number }) =>
      users
        .filter((u) => u.id !== row.id)
        .slice(0, first)
        .map((u) => userObject(u, lookupUser)),
    posts: ({ first = 10 }: { first?: number }) =>
      posts
        .filter((p) => p.authorId === row.id)
        .slice(0, first)
        .map((p) => postObject(p, lookupUser)),
  };
}

function postObject(row: PostRow, lookupUser: LookupUser) {
  return {
    ...row,
    __typename: 'Post',
    author: async (_args: unknown, context: unknown) => userObject(await lookupUser(row.authorId, context), lookupUser),
    comments: ({ limit = 3 }: { limit?: number }) =>
      Array.from({ length: limit }, (_, i) => ({
        id: `${row.id}c${i}`,
        text: `Comment ${i}`,
        author: async (_args: unknown, context: unknown) =>
          userObject(await lookupUser(`u${i % 20}`, context), lookupUser),
      })),
  };
}

/** The schema and a root value whose resolvers look users up through `lookupUser`. */
export function testSchema(lookupUser: LookupUser = byId): { schema: GraphQLSchema; rootValue: object } {
  const schema = buildSchema(sdl);
  const rootValue = {
    me: () => userObject(byId('u1'), lookupUser),
    user: ({ id }: { id: string }) => userObject(byId(id), lookupUser),
    users: ({ first = 10 }: { first?: number }) => users.slice(0, first).map((u) => userObject(u, lookupUser)),
    search: ({ limit = 10 }: { limit?: number }) =>
      [
        ...users.slice(0, 2).map((u) => userObject(u, lookupUser)),
        ...posts.slice(0, 2).map((p) => postObject(p, lookupUser)),
      ].slice(0, limit),
    node: ({ id }: { id: string }) => userObject(byId(id), lookupUser),
    login: () => false,
  };
  return { schema, rootValue };
}
