import { describe, expect, it } from 'vitest';
import { AbortError, PatchbayError, TimeoutError } from '../../src/core/errors';
import { sleep } from '../../src/core/timeout';
import { createPrewarmer, type PrewarmEvent, type PrewarmReport } from '../../src/prewarm/index';
import { recordFaults } from '../support/faults';
import { runIsolated } from '../support/isolated';
import { maxOverlap, recorder, span } from './support/tasks';

const statusOf = (report: PrewarmReport, name: string) => report.tasks.find((task) => task.name === name);
const fast = { initialMs: 5, maxMs: 20 };

describe('createPrewarmer: dependency order and concurrency', () => {
  it('starts each task only after its dependencies have ended, and runs independent tasks side by side', async () => {
    const rec = recorder();
    const report = await createPrewarmer({ concurrency: 4 })
      .add({ name: 'd', run: rec.task('d', 10), dependsOn: ['b', 'c'] })
      .add({ name: 'a', run: rec.task('a', 30) })
      .add({ name: 'b', run: rec.task('b', 30), dependsOn: ['a'] })
      .add({ name: 'c', run: rec.task('c', 30), dependsOn: ['a'] })
      .run();

    expect(report.ready).toBe(true);
    expect(report.tasks.map((task) => [task.name, task.status])).toEqual([
      ['d', 'ok'],
      ['a', 'ok'],
      ['b', 'ok'],
      ['c', 'ok'],
    ]);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => span(rec.spans, name)) as [
      ReturnType<typeof span>,
      ReturnType<typeof span>,
      ReturnType<typeof span>,
      ReturnType<typeof span>,
    ];
    expect(b.start).toBeGreaterThanOrEqual(a.end);
    expect(c.start).toBeGreaterThanOrEqual(a.end);
    expect(d.start).toBeGreaterThanOrEqual(Math.max(b.end, c.end));
    // b and c only wait for a, so they overlap.
    expect(b.start).toBeLessThan(c.end);
    expect(c.start).toBeLessThan(b.end);
  });

  it('never runs more tasks at once than the concurrency limit', async () => {
    const rec = recorder();
    const prewarmer = createPrewarmer({ concurrency: 3 });
    for (let i = 0; i < 12; i++) prewarmer.add({ name: `t${i}`, run: rec.task(`t${i}`, 15) });
    const report = await prewarmer.run();

    expect(report.tasks.every((task) => task.status === 'ok')).toBe(true);
    expect(rec.spans).toHaveLength(12);
    expect(maxOverlap(rec.spans)).toBeLessThanOrEqual(3);
    expect(rec.maxInFlight()).toBe(3);
  });
});

describe('createPrewarmer: timeouts, retries and failures', () => {
  it('times out a hanging task and aborts the signal it was given', async () => {
    let seen: AbortSignal | undefined;
    const report = await createPrewarmer()
      .add({
        name: 'hang',
        timeoutMs: 40,
        run: (signal) => {
          seen = signal;
          return new Promise(() => {});
        },
      })
      .run();

    const task = statusOf(report, 'hang');
    expect(task?.status).toBe('timed-out');
    expect(task?.attempts).toBe(1);
    expect(task?.error).toBeInstanceOf(TimeoutError);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TimeoutError);
    expect(report.ready).toBe(false);
  });

  it('retries a flaky task with backoff until it succeeds', async () => {
    let calls = 0;
    const events: PrewarmEvent[] = [];
    const report = await createPrewarmer({ backoff: fast, onEvent: (event) => events.push(event) })
      .add({
        name: 'flaky',
        retries: 3,
        run: async () => {
          calls++;
          if (calls < 3) throw new Error(`flake ${calls}`);
          return 'warm';
        },
      })
      .run();

    const task = statusOf(report, 'flaky');
    expect(task).toMatchObject({ status: 'ok', attempts: 3, result: 'warm' });
    expect(task?.error).toBeUndefined();
    const retries = events.filter((event) => event.type === 'task-retry');
    expect(retries.map((event) => event.type === 'task-retry' && (event.error as Error).message)).toEqual([
      'flake 1',
      'flake 2',
    ]);
    expect(report.ready).toBe(true);
  });

  it('reports failed with the last error once retries are spent', async () => {
    let calls = 0;
    const report = await createPrewarmer({ backoff: fast })
      .add({
        name: 'down',
        retries: 2,
        run: async () => {
          calls++;
          throw new Error(`refused ${calls}`);
        },
      })
      .run();
    expect(statusOf(report, 'down')).toMatchObject({ status: 'failed', attempts: 3 });
    expect(statusOf(report, 'down')?.error).toMatchObject({ message: 'refused 3' });
    expect(calls).toBe(3);
  });

  it('retries a timed-out attempt, and a task that throws synchronously fails cleanly', async () => {
    let calls = 0;
    const report = await createPrewarmer({ backoff: fast })
      .add({
        name: 'slow-then-fast',
        timeoutMs: 30,
        retries: 1,
        run: (signal) => (++calls === 1 ? sleep(10_000, { signal }) : Promise.resolve()),
      })
      .add({
        name: 'sync-throw',
        required: false,
        run: () => {
          throw new Error('sync');
        },
      })
      .run();
    expect(statusOf(report, 'slow-then-fast')).toMatchObject({ status: 'ok', attempts: 2 });
    expect(statusOf(report, 'sync-throw')).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('a required failure makes the service not ready and skips its dependents, transitively', async () => {
    const ran: string[] = [];
    const prewarmer = createPrewarmer()
      .add({
        name: 'redis',
        run: async () => {
          throw new Error('ECONNREFUSED');
        },
      })
      .add({ name: 'cache', dependsOn: ['redis'], run: async () => void ran.push('cache') })
      .add({ name: 'hot-keys', dependsOn: ['cache'], run: async () => void ran.push('hot-keys') })
      .add({ name: 'dns', run: async () => void ran.push('dns') });
    const report = await prewarmer.run();

    expect(report.ready).toBe(false);
    expect(ran).toEqual(['dns']);
    expect(statusOf(report, 'redis')?.status).toBe('failed');
    for (const name of ['cache', 'hot-keys']) {
      const task = statusOf(report, name);
      expect(task).toMatchObject({ status: 'skipped', attempts: 0 });
      expect(task?.error).toMatchObject({ code: 'ERR_PREWARM_DEPENDENCY' });
    }
    expect(prewarmer.readiness()).toEqual({
      ready: false,
      degraded: false,
      pending: [],
      failed: ['redis', 'cache', 'hot-keys'],
    });
  });

  it('an optional failure leaves the service ready but degraded', async () => {
    const prewarmer = createPrewarmer()
      .add({ name: 'core', run: async () => {} })
      .add({
        name: 'recommendations',
        required: false,
        run: async () => {
          throw new Error('503');
        },
      });
    const report = await prewarmer.run();
    expect(report).toMatchObject({ ready: true, degraded: true });
    expect(prewarmer.readiness()).toEqual({ ready: true, degraded: true, pending: [], failed: ['recommendations'] });
  });
});

describe('createPrewarmer: machinery that throws', () => {
  it("fails the task with the error when the backoff's random source throws, and the run settles", async () => {
    const faults = recordFaults();
    try {
      const broken = new Error('random source failed');
      const prewarmer = createPrewarmer({
        backoff: {
          random: () => {
            throw broken;
          },
        },
      })
        .add({ name: 'flaky', retries: 2, run: async () => Promise.reject(new Error('not yet')) })
        .add({ name: 'after', dependsOn: ['flaky'], run: async () => {} });
      const report = await prewarmer.run();
      expect(report.ready).toBe(false);
      expect(report.tasks).toMatchObject([
        { name: 'flaky', status: 'failed', attempts: 1, error: broken },
        { name: 'after', status: 'skipped', error: { code: 'ERR_PREWARM_DEPENDENCY' } },
      ]);
      // the run is over: tasks can be added again
      expect(() => prewarmer.add({ name: 'late', run: async () => {} })).not.toThrow();
      await sleep(20);
      expect(faults.faults).toEqual([]);
    } finally {
      faults.stop();
    }
  });

  it('rejects run() with the error when the clock throws as the run starts or ends, and lets add() work again', async () => {
    const faults = recordFaults();
    try {
      const broken = new Error('clock failed');
      let reads = 0;
      let failAt = 1;
      const clock = {
        now: () => {
          if (++reads === failAt) throw broken;
          return Date.now();
        },
      };
      const prewarmer = createPrewarmer({ clock }).add({ name: 'a', run: async () => {} });
      await expect(prewarmer.run()).rejects.toBe(broken); // the run's start
      expect(() => prewarmer.add({ name: 'b', run: async () => {} })).not.toThrow();
      reads = 0;
      failAt = 6; // run start, then a and b each read it at start and end: the run's end
      await expect(prewarmer.run()).rejects.toBe(broken);
      expect(() => prewarmer.add({ name: 'c', run: async () => {} })).not.toThrow();
      await sleep(20);
      expect(faults.faults).toEqual([]);
    } finally {
      faults.stop();
    }
  });
});

describe('createPrewarmer: deadline and cancellation', () => {
  it('aborts running tasks at the deadline and skips those not started', async () => {
    let seen: AbortSignal | undefined;
    const events: PrewarmEvent[] = [];
    const started: string[] = [];
    const report = await createPrewarmer({ deadlineMs: 60, concurrency: 1, onEvent: (event) => events.push(event) })
      .add({
        name: 'slow',
        run: (signal) => {
          seen = signal;
          started.push('slow');
          return sleep(10_000, { signal });
        },
      })
      .add({ name: 'after', dependsOn: ['slow'], run: async () => void started.push('after') })
      .add({ name: 'queued', run: async () => void started.push('queued') })
      .run();

    expect(started).toEqual(['slow']);
    expect(seen?.aborted).toBe(true);
    expect(statusOf(report, 'slow')?.status).toBe('timed-out');
    expect(statusOf(report, 'slow')?.error).toBeInstanceOf(TimeoutError);
    expect(statusOf(report, 'after')?.status).toBe('skipped');
    expect(statusOf(report, 'queued')?.status).toBe('skipped');
    expect(report.ready).toBe(false);
    expect(events.find((event) => event.type === 'deadline')).toMatchObject({
      deadlineMs: 60,
      unfinished: ['slow', 'after', 'queued'],
    });
  });

  it('stops retrying at the deadline', async () => {
    let calls = 0;
    const report = await createPrewarmer({ deadlineMs: 80, backoff: { initialMs: 1_000, maxMs: 1_000 } })
      .add({
        name: 'flaky',
        retries: 10,
        run: async () => {
          calls++;
          throw new Error('nope');
        },
      })
      .run();
    expect(statusOf(report, 'flaky')?.status).toBe('timed-out');
    expect(calls).toBeLessThan(11);
  });

  it('a caller signal aborts the run: running tasks fail with AbortError, the rest are skipped', async () => {
    const controller = new AbortController();
    const running = createPrewarmer({ concurrency: 1 })
      .add({ name: 'a', run: (signal) => sleep(10_000, { signal }) })
      .add({ name: 'b', run: async () => {} })
      .run({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error('SIGTERM')), 20);
    const report = await running;
    expect(statusOf(report, 'a')?.status).toBe('failed');
    expect(statusOf(report, 'a')?.error).toBeInstanceOf(AbortError);
    expect(statusOf(report, 'b')?.status).toBe('skipped');
  });

  it('lets the process exit right after the deadline, with no timer or listener left behind', async () => {
    const result = await runIsolated(`
      import { createPrewarmer } from './src/prewarm/index.ts';
      import { sleep } from './src/core/timeout.ts';
      const started = Date.now();
      const report = await createPrewarmer({ deadlineMs: 100, backoff: { initialMs: 60_000, maxMs: 60_000 } })
        .add({ name: 'polite', run: (signal) => sleep(60_000, { signal }) })
        .add({ name: 'deaf', run: () => new Promise(() => {}) })
        .add({ name: 'retrying', retries: 5, run: async () => { throw new Error('down'); } })
        .add({ name: 'per-task', timeoutMs: 60_000, run: (signal) => sleep(60_000, { signal }) })
        .run();
      console.log(JSON.stringify(report.tasks.map((t) => t.status)));
    `);
    expect(result.stderr).toBe('');
    expect(result.hung).toBe(false);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(['timed-out', 'timed-out', 'timed-out', 'timed-out']);
  });
});

describe('createPrewarmer: the task graph and bad input', () => {
  it('rejects bad options with ERR_PREWARM_OPTIONS', () => {
    for (const options of [{ concurrency: 0 }, { concurrency: 1.5 }, { deadlineMs: -1 }, { deadlineMs: Number.NaN }]) {
      expect(() => createPrewarmer(options)).toThrow(expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }));
    }
    expect(() => createPrewarmer({ backoff: { initialMs: -5 } })).toThrow(
      expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }),
    );
    expect(() => createPrewarmer({ backoff: 'slow' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }),
    );
  });

  it('refuses a run or keep-warm signal that is not an AbortSignal with ERR_PREWARM_OPTIONS', async () => {
    const prewarmer = createPrewarmer().add({ name: 'a', run: async () => {} });
    await expect(prewarmer.run({ signal: 'stop' as never })).rejects.toMatchObject({ code: 'ERR_PREWARM_OPTIONS' });
    await expect(prewarmer.run(null as never)).rejects.toMatchObject({ code: 'ERR_PREWARM_OPTIONS' });
    expect(() => prewarmer.keepWarm({ intervalMs: 10, signal: {} as never })).toThrow(
      expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }),
    );
  });

  it('rejects malformed tasks with ERR_PREWARM_TASK at add', () => {
    const prewarmer = createPrewarmer();
    const run = async (): Promise<void> => {};
    const bad: unknown[] = [
      null,
      { name: '', run },
      { name: 'x' },
      { name: 'x', run, timeoutMs: 0 },
      { name: 'x', run, retries: -1 },
      { name: 'x', run, retries: 1.5 },
      { name: 'x', run, dependsOn: 'a' },
      { name: 'x', run, dependsOn: ['a', 'a'] },
      { name: 'x', run, required: 'yes' },
    ];
    for (const task of bad) {
      expect(() => prewarmer.add(task as never)).toThrow(expect.objectContaining({ code: 'ERR_PREWARM_TASK' }));
    }
  });

  it('rejects a duplicate name with ERR_PREWARM_DUPLICATE', () => {
    const prewarmer = createPrewarmer().add({ name: 'dns', run: async () => {} });
    expect(() => prewarmer.add({ name: 'dns', run: async () => {} })).toThrow(
      expect.objectContaining({ code: 'ERR_PREWARM_DUPLICATE' }),
    );
  });

  it('rejects a dependency cycle with ERR_PREWARM_CYCLE at the add that closes it, naming the path', () => {
    const run = async (): Promise<void> => {};
    const prewarmer = createPrewarmer()
      .add({ name: 'a', run, dependsOn: ['c'] })
      .add({ name: 'b', run, dependsOn: ['a'] });
    let error: unknown;
    try {
      prewarmer.add({ name: 'c', run, dependsOn: ['b'] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PatchbayError);
    expect(error).toMatchObject({ code: 'ERR_PREWARM_CYCLE', message: expect.stringContaining('c → b → a → c') });
    expect(() => createPrewarmer().add({ name: 'self', run, dependsOn: ['self'] })).toThrow(
      expect.objectContaining({ code: 'ERR_PREWARM_CYCLE' }),
    );
    // The rejected task was not added, so the rest still runs.
    expect(prewarmer.readiness().pending).toEqual(['a', 'b']);
  });

  it('rejects an unknown dependency with ERR_PREWARM_UNKNOWN_DEPENDENCY at run', async () => {
    const prewarmer = createPrewarmer().add({ name: 'api', run: async () => {}, dependsOn: ['dns'] });
    await expect(prewarmer.run()).rejects.toMatchObject({
      code: 'ERR_PREWARM_UNKNOWN_DEPENDENCY',
      message: expect.stringContaining('"dns"'),
    });
  });
});

describe('createPrewarmer: events, readiness and re-runs', () => {
  it('reports progress as typed events, and a throwing observer changes nothing', async () => {
    const events: PrewarmEvent[] = [];
    const report = await createPrewarmer({
      onEvent: (event) => {
        events.push(event);
        throw new Error('observer bug');
      },
    })
      .add({ name: 'a', run: async () => {} })
      .add({ name: 'b', dependsOn: ['a'], run: async () => {} })
      .run();
    expect(report.ready).toBe(true);
    expect(
      events.map((event) =>
        event.type.startsWith('task')
          ? `${event.type}:${'name' in event ? event.name : event.type === 'task-end' ? event.task.name : ''}`
          : event.type,
      ),
    ).toEqual(['run-start', 'task-start:a', 'task-end:a', 'task-start:b', 'task-end:b', 'run-end']);
    expect(events.at(-1)).toEqual({ type: 'run-end', mode: 'run', report });
  });

  it('finishes the run with no unhandled rejection when an async observer rejects', async () => {
    const faults = recordFaults();
    try {
      let seen = 0;
      const report = await createPrewarmer({
        onEvent: async () => {
          seen++;
          throw new Error('async observer bug');
        },
      })
        .add({ name: 'a', run: async () => {} })
        .run();
      expect(report.ready).toBe(true);
      expect(seen).toBe(4);
      await sleep(20);
      expect(faults.faults).toEqual([]);
    } finally {
      faults.stop();
    }
  });

  it('is not ready before the first run, lists pending tasks during it, and is ready after', async () => {
    let release: () => void = () => {};
    const prewarmer = createPrewarmer()
      .add({ name: 'fast', run: async () => {} })
      .add({ name: 'slow', run: () => new Promise<void>((resolve) => (release = resolve)) });
    expect(prewarmer.readiness()).toEqual({ ready: false, degraded: false, pending: ['fast', 'slow'], failed: [] });
    expect(prewarmer.lastReport()).toBeUndefined();

    const running = prewarmer.run();
    expect(prewarmer.run()).toBe(running);
    expect(() => prewarmer.add({ name: 'late', run: async () => {} })).toThrow(
      expect.objectContaining({ code: 'ERR_PREWARM_STATE' }),
    );
    await sleep(10);
    expect(prewarmer.readiness()).toEqual({ ready: false, degraded: false, pending: ['slow'], failed: [] });
    release();
    const report = await running;
    expect(prewarmer.readiness()).toEqual({ ready: true, degraded: false, pending: [], failed: [] });
    expect(prewarmer.lastReport()).toBe(report);
  });

  it('is ready once the required tasks are done, while an optional one still runs', async () => {
    const prewarmer = createPrewarmer()
      .add({ name: 'required', run: async () => {} })
      .add({ name: 'optional', required: false, run: (signal) => sleep(10_000, { signal }) });
    const controller = new AbortController();
    const running = prewarmer.run({ signal: controller.signal });
    await sleep(10);
    expect(prewarmer.readiness()).toEqual({ ready: true, degraded: false, pending: ['optional'], failed: [] });
    controller.abort();
    await running;
  });

  it('runs again after a run has finished, and an empty prewarmer is ready once run', async () => {
    let calls = 0;
    const prewarmer = createPrewarmer().add({ name: 'a', run: async () => void calls++ });
    await prewarmer.run();
    await prewarmer.run();
    expect(calls).toBe(2);
    const empty = createPrewarmer();
    expect(empty.readiness().ready).toBe(false);
    expect(await empty.run()).toMatchObject({ ready: true, tasks: [] });
    expect(empty.readiness().ready).toBe(true);
  });
});
