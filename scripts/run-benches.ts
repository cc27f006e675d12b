// Runs bench/<module>.ts for each module given on the command line, or all of them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const wanted = process.argv.slice(2);
const files = (existsSync('bench') ? readdirSync('bench') : [])
  .filter((f) => f.endsWith('.ts') && (wanted.length === 0 || wanted.includes(f.replace(/\.ts$/, ''))))
  .sort();
for (const file of files) {
  const result = spawnSync(process.execPath, ['--expose-gc', `bench/${file}`], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
