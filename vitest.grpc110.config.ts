// Runs test/grpc against the oldest grpc-js the peer range allows (1.10, installed as the
// `grpc-js-1.10` alias): patchbay's call layers implement grpc-js's call interfaces, which grew
// between 1.10 and today's release. `npm run test:grpc110`.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default defineConfig({
  ...base,
  resolve: {
    alias: [{ find: /^@grpc\/grpc-js$/, replacement: 'grpc-js-1.10' }],
  },
  test: {
    ...base.test,
    include: ['test/grpc/**/*.test.ts'],
    env: { ...base.test?.env, GRPC_JS_UNDER_TEST: '1.10' },
    // grpc-health-check requires @grpc/grpc-js itself; inlined, it gets 1.10 too.
    server: { deps: { inline: ['grpc-health-check'] } },
  },
});
