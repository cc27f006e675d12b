// Bundles each entry alone and fails if the bundle holds another module's code, a `node:`
// import in a browser module, or a package the module does not need. Prints minified sizes.
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { modules } from './modules.ts';

const peers = ['graphql', '@grpc/grpc-js', 'ioredis', 'ws'];
const packages = [...new Set([...modules.flatMap((m) => m.dependencies), ...peers])];
const packageOf = (specifier: string): string =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? specifier);

async function bundle(entry: string, browser: boolean): Promise<{ metafile: Metafile; text: string }> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: browser ? 'browser' : 'node',
    write: false,
    metafile: true,
    outdir: '.tmp/treeshake',
    external: [...packages, ...packages.map((name) => `${name}/*`), 'node:*'],
    loader: { '.lua': 'text' },
    logLevel: 'silent',
  });
  return { metafile: result.metafile, text: result.outputFiles[0]?.text ?? '' };
}

const failures: string[] = [];
const rows: string[] = [];
for (const { name, dependencies, browser } of modules) {
  // Source bundle: which files of src/ reach the output, after tree-shaking.
  const source = await bundle(`src/${name}/index.ts`, browser);
  for (const output of Object.values(source.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const owner = /^src\/([^/]+)\//.exec(input)?.[1];
      if (bytesInOutput > 0 && owner !== undefined && owner !== name && owner !== 'core') {
        failures.push(`${name}: bundle contains ${input} from module ${owner}`);
      }
    }
  }
  // Published bundle: what a user of dist/<name>.js pulls in.
  const published = await bundle(`dist/${name}.js`, browser);
  for (const output of Object.values(published.metafile.outputs)) {
    for (const { path, external } of output.imports) {
      if (!external) continue;
      if (path.startsWith('node:')) {
        if (browser) failures.push(`${name}: must run in browsers but imports ${path}`);
      } else if (!dependencies.includes(packageOf(path))) {
        failures.push(`${name}: imports ${path}, which it does not need`);
      }
    }
  }
  const bytes = Buffer.byteLength(published.text);
  rows.push(
    `${name.padEnd(10)} ${String(bytes).padStart(8)} B min ${String(gzipSync(published.text).length).padStart(7)} B gzip`,
  );
}

process.stdout.write(`entry      minified (own code; dependencies external)\n${rows.join('\n')}\n`);
if (failures.length > 0) {
  process.stderr.write(`\ncheck:treeshake failed:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('check:treeshake: every entry holds only its own code and dependencies\n');
