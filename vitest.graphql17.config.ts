// Runs test/graphql against graphql 17 (installed as the `graphql-17` alias): every `graphql`
// import, in tests, in src and in the inlined peers, resolves to it, so one graphql-js instance
// serves the run. `npm run test:graphql17`.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default defineConfig({
  ...base,
  resolve: {
    alias: [
      { find: /^graphql$/, replacement: 'graphql-17' },
      { find: /^graphql\/(.*)$/, replacement: 'graphql-17/$1' },
    ],
  },
  test: {
    ...base.test,
    include: ['test/graphql/**/*.test.ts'],
    env: { ...base.test?.env, GRAPHQL_MAJOR: '17' },
    // CommonJS packages that require('graphql') would otherwise load graphql 16 from node_modules.
    server: { deps: { inline: ['graphql-depth-limit', 'graphql-query-complexity', 'dataloader'] } },
  },
});
