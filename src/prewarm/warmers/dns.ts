import { lookup as systemLookup } from 'node:dns/promises';
import { assertOptionsObject, describe } from '../../core/assert';
import { PatchbayError } from '../../core/errors';
import { withTimeout } from '../../core/timeout';
import { codeOf, textOf } from '../text';
import { never, type Warmer } from './warmer';

/**
 * A resolver with the shape of `dns.promises.lookup` called with `{ all: true }`.
 *
 * @example
 * ```ts
 * import CacheableLookup from 'cacheable-lookup';
 * const cacheable = new CacheableLookup();
 * const lookup: DnsLookup = (hostname, options) => cacheable.lookupAsync(hostname, options);
 * ```
 */
export type DnsLookup = (
  hostname: string,
  options: { all: true },
) => Promise<readonly { address: string; family: number }[]>;

/**
 * Options of {@link warmDns}.
 *
 * @example
 * ```ts
 * const options: WarmDnsOptions = { lookup: (hostname, opts) => cacheable.lookupAsync(hostname, opts) };
 * ```
 */
export interface WarmDnsOptions {
  /**
   * The resolver to warm. Node itself caches no DNS answers, so pass the caching lookup your
   * HTTP agents use; the default `dns.promises.lookup` warms the operating system's cache (nscd,
   * systemd-resolved) where there is one.
   */
  lookup?: DnsLookup;
}

/**
 * What {@link warmDns} resolved, host by host.
 *
 * @example
 * ```ts
 * const { hosts }: DnsWarmResult = await warmDns(['localhost'])();
 * ```
 */
export interface DnsWarmResult {
  hosts: { host: string; addresses: string[]; durationMs: number }[];
}

/**
 * Resolves every host (all at once) and reports its addresses. Rejects with `ERR_PREWARM_DNS`
 * naming each host that did not resolve, after trying them all. Throws `ERR_PREWARM_OPTIONS`
 * at once when `hosts` is not a non-empty list of host names, or `options` is not an object
 * with, if any, a `lookup` function.
 *
 * @example
 * ```ts
 * prewarmer.add({ name: 'dns', run: warmDns(['api.example.com', 'auth.example.com']), retries: 2 });
 * ```
 */
export function warmDns(hosts: readonly string[], options: WarmDnsOptions = {}): Warmer<DnsWarmResult> {
  if (!Array.isArray(hosts) || hosts.length === 0 || !hosts.every((h) => typeof h === 'string' && h.length > 0)) {
    throw new PatchbayError(
      'ERR_PREWARM_OPTIONS',
      `warmDns hosts must be a non-empty array of host names, got ${describe(hosts)}`,
    );
  }
  assertOptionsObject(options, 'warmDns options', 'ERR_PREWARM_OPTIONS');
  const lookup: DnsLookup = options.lookup ?? ((hostname, opts) => systemLookup(hostname, opts));
  if (typeof lookup !== 'function') throw new PatchbayError('ERR_PREWARM_OPTIONS', 'warmDns lookup must be a function');
  const list = [...new Set(hosts)];
  return (signal = never) =>
    withTimeout(
      async () => {
        const outcomes = await Promise.allSettled(
          list.map(async (host) => {
            const started = performance.now();
            const answers = await lookup(host, { all: true });
            return {
              host,
              addresses: answers.map((answer) => answer.address),
              durationMs: performance.now() - started,
            };
          }),
        );
        const failures = outcomes.flatMap((outcome, i) =>
          outcome.status === 'rejected' ? [{ host: list[i], error: outcome.reason as unknown }] : [],
        );
        if (failures.length > 0) {
          const detail = failures.map(({ host, error }) => `${host} (${errorCode(error)})`).join(', ');
          throw new PatchbayError('ERR_PREWARM_DNS', `could not resolve ${detail}`, {
            cause: failures.length === 1 ? failures[0]?.error : new AggregateError(failures.map((f) => f.error)),
          });
        }
        return { hosts: outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : [])) };
      },
      Number.POSITIVE_INFINITY,
      { signal },
    );
}

function errorCode(error: unknown): string {
  return codeOf(error) ?? textOf(error);
}
