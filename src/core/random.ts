/**
 * A source of uniformly distributed numbers in `[0, 1)`, like `Math.random`.
 *
 * @example
 * ```ts
 * const random: RandomSource = Math.random;
 * ```
 */
export type RandomSource = () => number;

/**
 * A small deterministic random source (mulberry32) for reproducible tests and simulations.
 * Not for anything secret.
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * random(); // the same sequence on every run
 * ```
 */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
