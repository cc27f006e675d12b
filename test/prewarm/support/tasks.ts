import { sleep } from '../../../src/core/timeout';

/** When a task ran, in `performance.now()` ms. */
export interface Span {
  name: string;
  start: number;
  end: number;
}

/** Records when tasks start and end, and how many run at once. */
export function recorder(): {
  spans: Span[];
  maxInFlight: () => number;
  task: (name: string, ms: number) => (signal: AbortSignal) => Promise<void>;
} {
  const spans: Span[] = [];
  let inFlight = 0;
  let max = 0;
  return {
    spans,
    maxInFlight: () => max,
    task: (name, ms) => async (signal) => {
      const start = performance.now();
      inFlight++;
      max = Math.max(max, inFlight);
      try {
        await sleep(ms, { signal });
      } finally {
        inFlight--;
        spans.push({ name, start, end: performance.now() });
      }
    },
  };
}

/** The most spans that overlap at one instant, from their timestamps alone. */
export function maxOverlap(spans: readonly Span[]): number {
  const edges = spans.flatMap(({ start, end }) => [
    { at: start, delta: 1 },
    { at: end, delta: -1 },
  ]);
  // At equal times, ends come first: a task that starts as another ends does not overlap it.
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const { delta } of edges) {
    current += delta;
    max = Math.max(max, current);
  }
  return max;
}

/** The span of task `name`; throws when it never ran. */
export function span(spans: readonly Span[], name: string): Span {
  const found = spans.find((s) => s.name === name);
  if (found === undefined) throw new Error(`task ${name} never ran`);
  return found;
}
