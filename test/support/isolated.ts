import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('../..', import.meta.url).pathname;

/** What a script run by {@link runIsolated} did. */
export interface IsolatedResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** True when the process had to be killed because it did not exit on its own. */
  hung: boolean;
  durationMs: number;
}

/**
 * Runs TypeScript `source` (which may import from `src/`, resolved from the repository root) in a
 * fresh Node process and waits for it to exit by itself. A leaked timer, socket or listener keeps
 * the process alive past `exitWithinMs`, which reports `hung: true`: that is how tests prove a
 * component lets its host process exit.
 */
export async function runIsolated(
  source: string,
  { exitWithinMs = 5_000, env = {} as Record<string, string> } = {},
): Promise<IsolatedResult> {
  const dir = join(root, '.tmp');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `isolated-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`);
  const bundled = await build({
    stdin: { contents: source, resolveDir: root, loader: 'ts', sourcefile: 'isolated.ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    loader: { '.lua': 'text' },
    write: false,
    logLevel: 'silent',
  });
  await writeFile(file, bundled.outputFiles[0]?.text ?? '');
  try {
    return await new Promise<IsolatedResult>((resolve, reject) => {
      const started = Date.now();
      const child = spawn(process.execPath, [file], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      });
      let stdout = '';
      let stderr = '';
      let hung = false;
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      const killer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, exitWithinMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(killer);
        resolve({ code, stdout, stderr, hung, durationMs: Date.now() - started });
      });
    });
  } finally {
    await rm(file, { force: true });
  }
}
