/**
 * What every built-in warmer returns: a function that does the warming and resolves with a
 * description of what it did. It fits {@link PrewarmTask.run} as it is, so a warmer goes straight
 * into {@link Prewarmer.add}; it can also be called on its own, with or without a signal.
 *
 * @example
 * ```ts
 * const dns: Warmer<DnsWarmResult> = warmDns(['api.example.com']);
 * prewarmer.add({ name: 'dns', run: dns });
 * const { hosts } = await dns(AbortSignal.timeout(2_000)); // or stand-alone
 * ```
 */
export type Warmer<R> = (signal?: AbortSignal) => Promise<R>;

/** A signal that never aborts, for a warmer called without one. */
export const never: AbortSignal = new AbortController().signal;
