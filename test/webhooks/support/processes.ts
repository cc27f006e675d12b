import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('../../..', import.meta.url).pathname;

/** A receiver running in its own Node process. */
export interface ReceiverProcess {
  readonly url: string;
  /** Resolves once the process has printed `text`. */
  waitFor(text: string): Promise<void>;
  /** SIGKILL: the process dies mid-work, as in a crash or an OOM kill. */
  kill(): Promise<void>;
}

/**
 * Bundles test/webhooks/support/receiver-process.ts (with esbuild, like test/support/isolated.ts)
 * and starts `count` copies with `env`. Stop them with the returned `stopAll`.
 */
export async function startReceivers(
  count: number,
  env: Record<string, string>,
): Promise<{ receivers: ReceiverProcess[]; stopAll(): Promise<void> }> {
  const dir = join(root, '.tmp');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `receiver-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`);
  const bundled = await build({
    entryPoints: [join(root, 'test/webhooks/support/receiver-process.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    logLevel: 'silent',
  });
  await writeFile(file, bundled.outputFiles[0]?.text ?? '');
  const children: ChildProcess[] = [];
  try {
    const receivers = await Promise.all(
      Array.from({ length: count }, async () => {
        const child = spawn(process.execPath, [file], {
          cwd: root,
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        let output = '';
        const waiters: { text: string; resolve: () => void }[] = [];
        const onOutput = (chunk: Buffer): void => {
          output += chunk.toString();
          for (const waiter of waiters.filter((w) => output.includes(w.text))) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        };
        child.stdout?.on('data', onOutput);
        child.stderr?.on('data', onOutput);
        const waitFor = (text: string): Promise<void> =>
          output.includes(text)
            ? Promise.resolve()
            : new Promise<void>((resolve, reject) => {
                waiters.push({ text, resolve });
                child.once('exit', () => reject(new Error(`receiver exited before printing ${text}: ${output}`)));
              });
        await waitFor('listening ');
        const port = /listening (\d+)/.exec(output)?.[1];
        return {
          url: `http://127.0.0.1:${port}/hooks`,
          waitFor,
          kill: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const exited = once(child, 'exit');
            child.kill('SIGKILL');
            await exited;
          },
        };
      }),
    );
    const stopAll = async (): Promise<void> => {
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGKILL');
          await exited;
        }),
      );
      await rm(file, { force: true });
    };
    return { receivers, stopAll };
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    await rm(file, { force: true });
    throw error;
  }
}
