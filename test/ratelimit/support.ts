import { seededRandom } from '../../src/core/random';

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
