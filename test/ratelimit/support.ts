import type { Clock } from '../../src/core/clock';
import { seededRandom } from '../../src/core/random';

/** A clock the test moves by hand. */
export function manualClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void; set(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    set: (ms) => {
      now = ms;
    },
  };
}

/** Bursty random arrival gaps in ms: mostly tight bursts, sometimes long pauses. */
export function arrivals(count: number, seed: number, windowMs: number): number[] {
  const random = seededRandom(seed);
  const gaps: number[] = [];
  for (let i = 0; i < count; i++) {
    const r = random();
    gaps.push(r < 0.6 ? Math.floor(random() * 3) : r < 0.95 ? Math.floor(random() * (windowMs / 10)) : windowMs);
  }
  return gaps;
}

/** Most admitted units within any half-open window [t, t + windowMs) that starts at an admission. */
export function maxInAnyWindow(admitted: readonly { at: number; cost: number }[], windowMs: number): number {
  let max = 0;
  let sum = 0;
  let tail = 0;
  for (let head = 0; head < admitted.length; head++) {
    sum += admitted[head]!.cost;
    while (admitted[head]!.at - admitted[tail]!.at >= windowMs) sum -= admitted[tail++]!.cost;
    max = Math.max(max, sum);
  }
  return max;
}
