// The graphql-js major version this run uses: 16 by default, 17 under `npm run test:graphql17`.
// Guard errors are instances of the test's GraphQLError, so src and tests share one graphql-js.
import { GraphQLError, versionInfo } from 'graphql';
import { expect, it } from 'vitest';
import { createGraphQLGuard } from '../../src/graphql/index';
import { testSchema } from './schema';

it(`runs on graphql ${process.env.GRAPHQL_MAJOR ?? 16}, one instance for src and tests`, () => {
  expect(versionInfo.major).toBe(Number(process.env.GRAPHQL_MAJOR ?? 16));
  const [error] = createGraphQLGuard({ maxDepth: 1 }).check(testSchema().schema, '{ me { id } }').errors;
  expect(error).toBeInstanceOf(GraphQLError);
  expect(error?.extensions.code).toBe('GRAPHQL_DEPTH_LIMIT');
});
