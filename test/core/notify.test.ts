import { afterEach, describe, expect, it } from 'vitest';
import { notify } from '../../src/core/notify';
import { sleep } from '../../src/core/timeout';
import { recordFaults } from '../support/faults';

let stop: (() => void) | undefined;
afterEach(() => stop?.());

describe('notify', () => {
  it('calls the hook with every argument', () => {
    const seen: unknown[][] = [];
    notify((...args: unknown[]) => seen.push(args), 'a', 2);
    expect(seen).toEqual([['a', 2]]);
  });

  it('drops a hook that throws, a promise that rejects and a thenable whose then throws, with no fault', async () => {
    const recorder = recordFaults();
    stop = recorder.stop;
    notify(() => {
      throw new Error('sync hook bug');
    });
    notify(async () => {
      throw new Error('async hook bug');
    });
    notify(() => ({
      // biome-ignore lint/suspicious/noThenProperty: a foreign thenable is the case under test
      then() {
        throw new Error('foreign thenable bug');
      },
    }));
    notify(() =>
      Object.defineProperty({}, 'then', {
        get() {
          throw new Error('then getter bug');
        },
      }),
    );
    await sleep(20);
    expect(recorder.faults).toEqual([]);
  });
});
