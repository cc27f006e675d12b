import { describe, expect, it } from 'vitest';
import { AbortError, TimeoutError } from '../../src/core/errors';
import { sleep, throwIfAborted, withTimeout } from '../../src/core/timeout';
import { runIsolated } from '../support/isolated';

describe('sleep', () => {
  it('waits about the given time', async () => {
    const started = performance.now();
    await sleep(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(28);
  });

  it('rejects with AbortError carrying the reason when aborted midway', async () => {
    const controller = new AbortController();
    const reason = new Error('shutdown');
    setTimeout(() => controller.abort(reason), 10);
    const error = await sleep(10_000, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toBe(reason);
  });

  it('rejects at once when the signal is already aborted', async () => {
    await expect(sleep(10, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
  });

  it('waits a duration longer than a timer can count instead of returning after 1 ms', async () => {
    const controller = new AbortController();
    let settled = false;
    const pending = sleep(3_000_000_000, { signal: controller.signal }).then(
      () => 'resolved',
      (e: unknown) => (e as AbortError).code,
    );
    void pending.then(() => {
      settled = true;
    });
    await sleep(50);
    expect(settled).toBe(false);
    controller.abort();
    await expect(pending).resolves.toBe('ERR_ABORTED');
  });

  it('rejects a negative or non-finite duration', () => {
    expect(() => sleep(-1)).toThrow(expect.objectContaining({ code: 'ERR_TIMEOUT_OPTIONS' }));
    expect(() => sleep(Number.NaN)).toThrow(expect.objectContaining({ code: 'ERR_TIMEOUT_OPTIONS' }));
  });
});

describe('withTimeout', () => {
  it('resolves with the value when the work finishes in time', async () => {
    await expect(withTimeout(Promise.resolve(42), 1_000)).resolves.toBe(42);
  });

  it('passes through the rejection of the work', async () => {
    await expect(withTimeout(Promise.reject(new Error('boom')), 1_000)).rejects.toThrow('boom');
  });

  it('turns a synchronous throw of the work function into a rejection', async () => {
    const work = (): Promise<never> => {
      throw new Error('sync boom');
    };
    await expect(withTimeout(work, 1_000)).rejects.toThrow('sync boom');
  });

  it('rejects with TimeoutError when the work is too slow, and aborts the work signal', async () => {
    let seen: AbortSignal | undefined;
    const error = await withTimeout(
      (signal) => {
        seen = signal;
        return new Promise(() => {});
      },
      20,
      { message: 'too slow' },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toBe('too slow');
    expect((error as TimeoutError).timeoutMs).toBe(20);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(error);
  });

  it('cancels real I/O through the signal: a hung HTTP response is aborted', async () => {
    const { createServer } = await import('node:http');
    const server = createServer(() => {
      // never responds
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const error = await withTimeout((signal) => fetch(`http://127.0.0.1:${port}/`, { signal }), 50).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TimeoutError);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects with AbortError when the outer signal aborts first', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort('stop'), 10);
    const error = await withTimeout(new Promise(() => {}), 5_000, { signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toBe('stop');
  });

  it('rejects at once with an already-aborted signal, without running the work', async () => {
    let ran = false;
    const work = async (): Promise<void> => {
      ran = true;
    };
    await expect(withTimeout(work, 100, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(ran).toBe(false);
  });

  it('with an infinite timeout, is bounded by the signal alone', async () => {
    await expect(
      withTimeout(
        sleep(10).then(() => 'late'),
        Number.POSITIVE_INFINITY,
      ),
    ).resolves.toBe('late');
    const outer = new AbortController();
    let seen: AbortSignal | undefined;
    const pending = withTimeout(
      (signal) => {
        seen = signal;
        return new Promise(() => {});
      },
      Number.POSITIVE_INFINITY,
      { signal: outer.signal },
    ).catch((e: unknown) => e);
    outer.abort('shutting down');
    const error = await pending;
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toBe('shutting down');
    expect(seen?.aborted).toBe(true);
  });

  it('treats a timeout longer than a timer can count as no limit, not as one that fires at once', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      await expect(
        withTimeout(
          sleep(30).then(() => 'done'),
          3_000_000_000,
        ),
      ).resolves.toBe('done');
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => w.name)).not.toContain('TimeoutOverflowWarning');
  });

  it('rejects a non-positive timeout', () => {
    expect(() => withTimeout(Promise.resolve(1), 0)).toThrow(expect.objectContaining({ code: 'ERR_TIMEOUT_OPTIONS' }));
  });
});

describe('throwIfAborted', () => {
  it('throws AbortError only for an aborted signal', () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
    expect(() => throwIfAborted(AbortSignal.abort())).toThrow(AbortError);
  });
});

describe('no leaked timers', () => {
  it('lets the process exit right after long timeouts and sleeps have settled', async () => {
    const result = await runIsolated(`
      import { withTimeout, sleep } from './src/core/timeout';
      const results = [];
      results.push(await withTimeout(Promise.resolve('fast'), 60_000));
      results.push(await withTimeout(Promise.reject(new Error('x')), 60_000).catch((e) => e.message));
      const controller = new AbortController();
      const pending = sleep(60_000, { signal: controller.signal }).catch((e) => e.code);
      const outer = new AbortController();
      const raced = withTimeout(new Promise(() => {}), 60_000, { signal: outer.signal }).catch((e) => e.code);
      const unbounded = withTimeout(new Promise(() => {}), Infinity, { signal: outer.signal }).catch((e) => e.code);
      controller.abort();
      outer.abort();
      results.push(await pending, await raced, await unbounded);
      console.log(JSON.stringify(results));
    `);
    expect(result.hung).toBe(false);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(['fast', 'x', 'ERR_ABORTED', 'ERR_ABORTED', 'ERR_ABORTED']);
    expect(result.durationMs).toBeLessThan(4_000);
  });
});
