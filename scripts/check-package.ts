// Packs the package as npm would publish it and checks the tarball with publint (strict) and
// @arethetypeswrong/cli (esm-only profile: patchbay ships no CommonJS on purpose). Then follows
// each entry's declaration files, as a type-checker does, and fails when they need a package
// the module does not list in scripts/modules.ts (another module's optional peer, say).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { modules } from './modules.ts';

const dir = resolve('.tmp/pack');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { encoding: 'utf8' })) as {
  filename: string;
  files: { path: string }[];
}[];
const tarball = join(dir, packed[0]?.filename ?? '');
const files = packed[0]?.files.map((f) => f.path) ?? [];
const stray = files.filter((f) => !/^(dist\/|README\.md$|CHANGELOG\.md$|LICENSE$|package\.json$)/.test(f));
if (stray.length > 0) {
  process.stderr.write(`check:package: the tarball holds files users do not need:\n  ${stray.join('\n  ')}\n`);
  process.exit(1);
}
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<string, string | { types?: string }>;
};
const packageOf = (specifier: string): string =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? specifier);
// Module specifiers a declaration file's type-checker resolves; TSDoc comments (whose
// @example snippets import peers) and line comments are not code.
const specifiersOf = (file: string): string[] => {
  const text = readFileSync(file, 'utf8');
  const references = [...text.matchAll(/^\/\/\/\s*<reference\s+types="([^"]+)"/gm)].map((m) => m[1] ?? '');
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const imports = [...code.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
  return [...references, ...imports];
};
const typeProblems: string[] = [];
for (const { name, dependencies, browser } of modules) {
  const target = manifest.exports[`./${name}`];
  const types = typeof target === 'object' ? target.types : undefined;
  if (types === undefined) {
    typeProblems.push(`patchbay/${name}: no "types" condition in package.json exports`);
    continue;
  }
  const entry = resolve(types);
  const via = new Map<string, string[]>([[entry, [relative('.', entry)]]]);
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const chain = via.get(file) ?? [];
    for (const specifier of specifiersOf(file)) {
      if (specifier.startsWith('.')) {
        const next = resolve(dirname(file), specifier.replace(/\.js$/, '.d.ts'));
        if (!via.has(next)) {
          via.set(next, [...chain, relative('.', next)]);
          queue.push(next);
        }
      } else if (specifier.startsWith('node:') ? browser : !dependencies.includes(packageOf(specifier))) {
        typeProblems.push(`patchbay/${name}: its types need '${specifier}' (${chain.join(' -> ')})`);
      }
    }
  }
}
if (typeProblems.length > 0) {
  process.stderr.write(
    `check:package: declaration files need what a user of the entry may not have installed:\n  ${typeProblems.join('\n  ')}\n`,
  );
  process.exit(1);
}
const run = (command: string, args: string[]): void => {
  execFileSync(command, args, { stdio: 'inherit' });
};
run('publint', ['run', tarball, '--strict']);
run('attw', [tarball, '--profile', 'esm-only']);
process.stdout.write(
  `check:package: ${files.length} files in ${packed[0]?.filename}, publint and attw clean, types need only their entry's dependencies\n`,
);
