// Runs every file in examples/ as its own Node process (on the built package) and fails if any
// exits non-zero or does not exit within the time limit.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const files = (existsSync('examples') ? readdirSync('examples') : []).filter((f) => f.endsWith('.ts')).sort();
let failed = 0;
for (const file of files) {
  const started = Date.now();
  const result = spawnSync(process.execPath, [`examples/${file}`], { stdio: 'inherit', timeout: 60_000 });
  const ok = result.status === 0;
  if (!ok) failed++;
  const why = result.error ? ` (${result.error.message})` : result.signal ? ` (${result.signal})` : '';
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} examples/${file} ${Date.now() - started} ms${why}\n`);
}
process.stdout.write(`${files.length - failed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
