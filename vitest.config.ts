import { readFile } from 'node:fs/promises';
import { defineConfig, type Plugin } from 'vitest/config';

/** Imports `.lua` files as their text, as tsup's text loader does in the build. */
const luaAsText: Plugin = {
  name: 'lua-as-text',
  async load(id) {
    if (!id.endsWith('.lua')) return null;
    return `export default ${JSON.stringify(await readFile(id, 'utf8'))};`;
  },
};

export default defineConfig({
  plugins: [luaAsText],
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // memory-bound tests force a collection before measuring the heap
    execArgv: ['--expose-gc'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
