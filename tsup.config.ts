import { defineConfig } from 'tsup';
import { modules } from './scripts/modules.ts';

export default defineConfig({
  entry: Object.fromEntries(modules.map(({ name }) => [name, `src/${name}/index.ts`])),
  format: ['esm'],
  target: 'node22',
  platform: 'neutral',
  dts: true,
  clean: true,
  // one shared chunk for src/core, so PatchbayError is one class whichever entries a user imports
  splitting: true,
  treeshake: true,
  outDir: 'dist',
  external: [/^node:/],
  // tsup strips `node:` by default; the bare names then look like npm packages to bundlers and check:treeshake.
  removeNodeProtocol: false,
  loader: { '.lua': 'text' },
});
