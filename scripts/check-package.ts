// Packs the package as npm would publish it and checks the tarball with publint (strict) and
// @arethetypeswrong/cli (esm-only profile: patchbay ships no CommonJS on purpose).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

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
const run = (command: string, args: string[]): void => {
  execFileSync(command, args, { stdio: 'inherit' });
};
run('publint', ['run', tarball, '--strict']);
run('attw', [tarball, '--profile', 'esm-only']);
process.stdout.write(`check:package: ${files.length} files in ${packed[0]?.filename}, publint and attw clean\n`);
