import { defineConfig } from 'tsup';

export const modules = ['oidc', 'webhooks', 'ratelimit', 'graphql', 'grpc', 'cqrs', 'realtime', 'prewarm'];

export default defineConfig({
  entry: Object.fromEntries(modules.map((name) => [name, `src/${name}/index.ts`])),
  format: ['esm'],
  target: 'node22',
  platform: 'neutral',
  dts: true,
  clean: true,
  splitting: true,
  treeshake: true,
  sourcemap: true,
  outDir: 'dist',
  external: ['node:*'],
});
