import { describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { createPrewarmer, type PrewarmEvent } from '../../src/prewarm/index';
import { recordFaults } from '../support/faults';
import { runIsolated } from '../support/isolated';

describe('keepWarm', () => {
  it('re-runs only the chosen tasks, in dependency order, every interval', async () => {
    const runs: string[] = [];
    const events: PrewarmEvent[] = [];
    const prewarmer = createPrewarmer({ onEvent: (event) => events.push(event) })
      .add({ name: 'dns', run: async () => void runs.push('dns') })
      .add({ name: 'pool', dependsOn: ['dns'], run: async () => void runs.push('pool') })
      .add({ name: 'cache', run: async () => void runs.push('cache') });
    const keepWarm = prewarmer.keepWarm({ intervalMs: 20, tasks: ['pool', 'dns'] });
    await sleep(110);
    await keepWarm.stop();

    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(runs).not.toContain('cache');
    for (let i = 0; i + 1 < runs.length; i += 2) expect(runs.slice(i, i + 2)).toEqual(['dns', 'pool']);
    const ends = events.filter((event) => event.type === 'run-end');
    expect(ends.every((event) => event.mode === 'keep-warm')).toBe(true);
  });

  it('never overlaps with itself when a round takes longer than the interval', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let rounds = 0;
    const prewarmer = createPrewarmer().add({
      name: 'slow',
      run: async (signal) => {
        inFlight++;
        rounds++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          await sleep(40, { signal });
        } finally {
          inFlight--;
        }
      },
    });
    const keepWarm = prewarmer.keepWarm({ intervalMs: 5 });
    await sleep(200);
    await keepWarm.stop();
    expect(rounds).toBeGreaterThanOrEqual(2);
    expect(maxInFlight).toBe(1);
  });

  it('stop() aborts the round in progress, resolves when it has ended, and no round follows', async () => {
    let seen: AbortSignal | undefined;
    let rounds = 0;
    const prewarmer = createPrewarmer().add({
      name: 'pool',
      run: (signal) => {
        rounds++;
        seen = signal;
        return sleep(10_000, { signal });
      },
    });
    const keepWarm = prewarmer.keepWarm({ intervalMs: 10 });
    await sleep(40);
    expect(rounds).toBe(1);
    await keepWarm.stop();
    expect(seen?.aborted).toBe(true);
    await keepWarm.stop();
    await sleep(50);
    expect(rounds).toBe(1);
  });

  it('does not change readiness, and skips a round while a start-up run is in progress', async () => {
    let fail = false;
    const events: PrewarmEvent[] = [];
    let release: () => void = () => {};
    const prewarmer = createPrewarmer({ onEvent: (event) => events.push(event) })
      .add({
        name: 'api',
        run: async () => {
          if (fail) throw new Error('upstream down');
        },
      })
      .add({ name: 'gate', required: false, run: () => new Promise<void>((resolve) => (release = resolve)) });
    const running = prewarmer.run();
    const keepWarm = prewarmer.keepWarm({ intervalMs: 10, tasks: ['api'] });
    await sleep(40);
    expect(events.some((event) => event.type === 'keep-warm-skip')).toBe(true);
    release();
    await running;
    expect(prewarmer.readiness().ready).toBe(true);

    fail = true;
    await sleep(50);
    await keepWarm.stop();
    const failedRound = events.find(
      (event) => event.type === 'run-end' && event.mode === 'keep-warm' && !event.report.ready,
    );
    expect(failedRound).toBeDefined();
    expect(prewarmer.readiness().ready).toBe(true);
  });

  it('makes a run() called during a round wait for that round to end, so no task runs twice at once', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let starts = 0;
    const events: PrewarmEvent[] = [];
    const prewarmer = createPrewarmer({ onEvent: (event) => events.push(event) }).add({
      name: 'pool',
      run: async (signal) => {
        inFlight++;
        starts++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          await sleep(60, { signal });
        } finally {
          inFlight--;
        }
      },
    });
    const keepWarm = prewarmer.keepWarm({ intervalMs: 5 });
    await until(() => inFlight === 1);
    const running = prewarmer.run();
    expect(prewarmer.run()).toBe(running);
    expect(() => prewarmer.add({ name: 'late', run: async () => {} })).toThrow(
      expect.objectContaining({ code: 'ERR_PREWARM_STATE' }),
    );
    const report = await running;
    await keepWarm.stop();

    expect(report.tasks).toEqual([expect.objectContaining({ name: 'pool', status: 'ok' })]);
    expect(maxInFlight).toBe(1);
    expect(starts).toBeGreaterThanOrEqual(2);
    // the round in progress ran to its end, and the run started after it
    const roundEnd = events.findIndex((event) => event.type === 'run-end' && event.mode === 'keep-warm');
    const runStart = events.findIndex((event) => event.type === 'run-start' && event.mode === 'run');
    expect(events[roundEnd]).toMatchObject({ report: { ready: true } });
    expect(runStart).toBeGreaterThan(roundEnd);
    expect(prewarmer.readiness().ready).toBe(true);
  });

  it('lets a run() waiting for a round be aborted through its signal without waiting any longer', async () => {
    let inFlight = 0;
    const prewarmer = createPrewarmer().add({
      name: 'pool',
      run: async (signal) => {
        inFlight++;
        try {
          await sleep(10_000, { signal });
        } finally {
          inFlight--;
        }
      },
    });
    const keepWarm = prewarmer.keepWarm({ intervalMs: 5 });
    await until(() => inFlight === 1);
    const controller = new AbortController();
    const running = prewarmer.run({ signal: controller.signal });
    await sleep(20);
    controller.abort();
    const report = await running;
    expect(report.tasks).toEqual([expect.objectContaining({ name: 'pool', status: 'skipped', attempts: 0 })]);
    expect(inFlight).toBe(1); // the round goes on until keep-warm is stopped
    await keepWarm.stop();
    expect(inFlight).toBe(0);
  });

  it('stops when its signal aborts, and rejects bad options with ERR_PREWARM_OPTIONS', async () => {
    let rounds = 0;
    const prewarmer = createPrewarmer().add({ name: 'a', run: async () => void rounds++ });
    const controller = new AbortController();
    prewarmer.keepWarm({ intervalMs: 10, signal: controller.signal });
    await sleep(35);
    controller.abort();
    const seen = rounds;
    expect(seen).toBeGreaterThanOrEqual(1);
    await sleep(40);
    expect(rounds).toBe(seen);

    for (const options of [{ intervalMs: 0 }, { intervalMs: 10, tasks: [] }, { intervalMs: 10, tasks: ['nope'] }]) {
      expect(() => prewarmer.keepWarm(options)).toThrow(expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }));
    }
  });

  it('refuses to start while a task depends on one never added, as run() does', () => {
    let runs = 0;
    const prewarmer = createPrewarmer().add({ name: 'pool', dependsOn: ['dns'], run: async () => void runs++ });
    expect(() => prewarmer.keepWarm({ intervalMs: 10 })).toThrow(
      expect.objectContaining({ code: 'ERR_PREWARM_UNKNOWN_DEPENDENCY' }),
    );
    expect(runs).toBe(0);
  });

  it('skips in its rounds, with ERR_PREWARM_UNKNOWN_DEPENDENCY, a task added later whose dependency was never added', async () => {
    const runs: string[] = [];
    const events: PrewarmEvent[] = [];
    const prewarmer = createPrewarmer({ onEvent: (event) => events.push(event) }).add({
      name: 'dns',
      run: async () => void runs.push('dns'),
    });
    const keepWarm = prewarmer.keepWarm({ intervalMs: 10 });
    prewarmer
      .add({ name: 'pool', dependsOn: ['config'], run: async () => void runs.push('pool') })
      .add({ name: 'cache', dependsOn: ['pool'], run: async () => void runs.push('cache') });
    const roundsWith = (name: string) =>
      events.flatMap((event) =>
        event.type === 'run-end' && event.report.tasks.some((task) => task.name === name) ? [event.report] : [],
      );
    await until(() => roundsWith('pool').length >= 2);
    expect(runs).toContain('dns');
    expect(runs).not.toContain('pool');
    expect(runs).not.toContain('cache');
    expect(roundsWith('pool')[0]?.tasks).toEqual([
      expect.objectContaining({ name: 'dns', status: 'ok' }),
      expect.objectContaining({
        name: 'pool',
        status: 'skipped',
        attempts: 0,
        error: expect.objectContaining({
          code: 'ERR_PREWARM_UNKNOWN_DEPENDENCY',
          message: expect.stringContaining('"config"'),
        }),
      }),
      expect.objectContaining({ name: 'cache', status: 'skipped', attempts: 0 }),
    ]);

    // once the dependency is added, the next rounds run the task after it
    prewarmer.add({ name: 'config', run: async () => void runs.push('config') });
    await until(() => runs.includes('cache'));
    await keepWarm.stop();
    expect(runs.indexOf('config')).toBeLessThan(runs.indexOf('pool'));
  });

  it('goes on with the next round, with no uncaught exception, when the clock throws as a round starts', async () => {
    const faults = recordFaults();
    try {
      let fail = false;
      const clock = {
        now: () => {
          if (fail) {
            fail = false;
            throw new Error('clock failed');
          }
          return Date.now();
        },
      };
      let runs = 0;
      const prewarmer = createPrewarmer({ clock }).add({ name: 'b', run: async () => void runs++ });
      await prewarmer.run();
      fail = true; // read first by the first keep-warm round, as it starts
      const keepWarm = prewarmer.keepWarm({ intervalMs: 10 });
      await sleep(80);
      await keepWarm.stop();
      expect(runs).toBeGreaterThanOrEqual(3); // the start-up run, then rounds after the failed one
      expect(faults.faults).toEqual([]);
    } finally {
      faults.stop();
    }
  });

  it('lets the process exit after stop(), even when stopped mid-round, and never holds it open alone', async () => {
    const result = await runIsolated(`
      import { createServer } from 'node:net';
      import { createPrewarmer } from './src/prewarm/index.ts';
      import { sleep } from './src/core/timeout.ts';
      import { connect } from 'node:net';
      // A real socket held open by the round in progress: only an abort closes it.
      const server = createServer(() => {}).listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address();
      let rounds = 0;
      const prewarmer = createPrewarmer().add({
        name: 'socket',
        run: (signal) => new Promise((resolve) => {
          rounds++;
          const socket = connect(port, '127.0.0.1');
          signal.addEventListener('abort', () => { socket.destroy(); resolve(); }, { once: true });
        }),
      });
      const keepWarm = prewarmer.keepWarm({ intervalMs: 10 });
      await sleep(60);
      await keepWarm.stop();
      server.close();
      // A second loop that is never stopped must not keep the process alive either.
      prewarmer.keepWarm({ intervalMs: 60_000 });
      console.log(rounds);
    `);
    expect(result.stderr).toBe('');
    expect(result.hung).toBe(false);
    expect(result.code).toBe(0);
    expect(Number(result.stdout)).toBe(1);
  });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(2);
}
