import { assertBoolean, assertNumber } from '../../core/assert';
import { AbortError, PatchbayError } from '../../core/errors';
import { throwIfAborted } from '../../core/timeout';
import { never, type Warmer } from './warmer';

const code = 'ERR_PREWARM_OPTIONS';

/**
 * Where {@link warmCache} writes. A `Map` fits; so does a thin wrapper over Redis or an LRU.
 * With `has` or `get`, keys already present are counted as hits and not loaded again.
 *
 * @example
 * ```ts
 * const store: CacheStore<string, string> = {
 *   get: (key) => redis.get(`cache:${key}`),
 *   set: (key, value) => redis.set(`cache:${key}`, value, 'EX', 300),
 * };
 * ```
 */
export interface CacheStore<K, V> {
  /** Writes one loaded value; may return a promise. */
  set(key: K, value: V): unknown;
  /** Whether `key` is cached already (truthy, or a promise of it). Preferred over `get` when both exist. */
  has?(key: K): unknown;
  /** The cached value of `key`, or `null` / `undefined` (or a promise of it) when absent. */
  get?(key: K): unknown;
}

/**
 * The keys to warm: a list, a (possibly async) iterable that can be iterated again, or a function
 * that produces one, so a large key set can be streamed rather than held in memory. Every attempt
 * and keep-warm round iterates the keys anew, so a one-shot iterator (a generator object,
 * `map.keys()`) is refused: pass the function that makes it instead.
 *
 * @example
 * ```ts
 * const keys: CacheKeys<string> = async function* () { yield* await topProductIds(1_000); };
 * ```
 */
export type CacheKeys<K> =
  | Iterable<K>
  | AsyncIterable<K>
  | ((signal: AbortSignal) => Iterable<K> | AsyncIterable<K> | Promise<Iterable<K> | AsyncIterable<K>>);

/**
 * Options of {@link warmCache}.
 *
 * @example
 * ```ts
 * const options: WarmCacheOptions<string, Product> = { keys: ['p1', 'p2'], load: (id) => db.product(id), store: new Map() };
 * ```
 */
export interface WarmCacheOptions<K, V> {
  keys: CacheKeys<K>;
  /** Loads one value; receives the task's signal. */
  load: (key: K, signal: AbortSignal) => Promise<V> | V;
  store: CacheStore<K, V>;
  /** Loads running at once. Default 16. */
  concurrency?: number;
  /** Load and write every key, even those already in the store (for keep-warm refreshes). A boolean; default false. */
  refresh?: boolean;
  /** Failed keys tolerated before the warm-up itself fails. Default 0. */
  maxFailures?: number;
}

/**
 * What {@link warmCache} did: `hits` were already in the store, `misses` were loaded and
 * written, `failures` could not be loaded or written (the first few are in `errors`).
 *
 * @example
 * ```ts
 * const { hits, misses, failures }: CacheWarmResult = await warmCache({ keys, load, store })();
 * ```
 */
export interface CacheWarmResult {
  keys: number;
  hits: number;
  misses: number;
  failures: number;
  errors: { key: unknown; error: unknown }[];
}

const keptErrors = 5;

/**
 * Loads the hot keys into a cache before traffic arrives, `concurrency` loads at a time so the
 * backing database is not stampeded by the warm-up itself. Rejects with `ERR_PREWARM_CACHE` when
 * more than `maxFailures` keys fail or when the key source throws (its error as `cause`), and with
 * `AbortError` when its signal aborts (no new load starts after that; a generator key source gets
 * its `return()` called, so its `finally` runs). Throws `ERR_PREWARM_OPTIONS` at once on bad
 * options, a one-shot key iterator among them (each attempt reads the keys anew).
 *
 * @example
 * ```ts
 * const products = new Map<string, Product>();
 * prewarmer.add({
 *   name: 'product-cache',
 *   run: warmCache({ keys: () => db.topProductIds(10_000), load: (id) => db.product(id), store: products, concurrency: 32 }),
 *   required: false,
 * });
 * ```
 */
export function warmCache<K, V>(options: WarmCacheOptions<K, V>): Warmer<CacheWarmResult> {
  if (typeof options !== 'object' || options === null)
    throw new PatchbayError(code, 'warmCache options must be an object');
  const { keys, load, store, concurrency = 16, refresh = false, maxFailures = 0 } = options;
  if (typeof load !== 'function') throw new PatchbayError(code, 'warmCache load must be a function');
  if (typeof store?.set !== 'function')
    throw new PatchbayError(code, 'warmCache store must have a set(key, value) method');
  if (!isKeySource(keys)) {
    throw new PatchbayError(code, 'warmCache keys must be an iterable, an async iterable or a function returning one');
  }
  if (isOneShot(keys)) {
    throw new PatchbayError(
      code,
      'warmCache keys is a one-shot iterator (a generator object?): a retry or keep-warm round would find it empty. ' +
        'Pass a function that returns a fresh iterable, e.g. keys: () => hotKeys()',
    );
  }
  assertNumber(concurrency, 'warmCache concurrency', code, { min: 1, integer: true });
  assertNumber(maxFailures, 'warmCache maxFailures', code, { min: 0 });
  assertBoolean(refresh, 'warmCache refresh', code);

  const present = async (key: K): Promise<boolean> => {
    if (refresh) return false;
    if (typeof store.has === 'function') return Boolean(await store.has(key));
    if (typeof store.get === 'function') return (await store.get(key)) != null;
    return false;
  };

  return async (signal = never) => {
    throwIfAborted(signal);
    let source: Iterable<K> | AsyncIterable<K>;
    try {
      source = typeof keys === 'function' ? await keys(signal) : keys;
    } catch (error) {
      throw keySourceError(error, signal);
    }
    if (!isKeySource(source))
      throw new PatchbayError('ERR_PREWARM_CACHE', 'warmCache keys() did not return an iterable');
    const iterator = toIterator(source);
    const result: CacheWarmResult = { keys: 0, hits: 0, misses: 0, failures: 0, errors: [] };
    // true once the iterator is done or threw: then it has nothing left to close
    let ended = false;

    const worker = async (): Promise<void> => {
      for (;;) {
        throwIfAborted(signal);
        let next: IteratorResult<K>;
        try {
          next = await iterator.next();
        } catch (error) {
          ended = true;
          throw keySourceError(error, signal);
        }
        if (next.done) {
          ended = true;
          return;
        }
        const key = next.value;
        result.keys++;
        try {
          if (await present(key)) {
            result.hits++;
            continue;
          }
          const value = await load(key, signal);
          await store.set(key, value);
          result.misses++;
        } catch (error) {
          throwIfAborted(signal);
          result.failures++;
          if (result.errors.length < keptErrors) result.errors.push({ key, error });
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: concurrency }, worker));
    } catch (error) {
      if (!ended) close(iterator);
      throw error;
    }

    if (result.failures > maxFailures) {
      throw new PatchbayError(
        'ERR_PREWARM_CACHE',
        `${result.failures} of ${result.keys} cache keys failed to load (${result.hits} hits, ${result.misses} loaded)`,
        { cause: result.errors[0]?.error },
      );
    }
    return result;
  };
}

/** An iterator that is its own iterable (a generator object) can be walked once only. */
function isOneShot(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  // looked at only when it has next(): no iterable's [Symbol.iterator]() is called for nothing
  const candidate = value as {
    next?: unknown;
    [Symbol.iterator]?: () => unknown;
    [Symbol.asyncIterator]?: () => unknown;
  };
  if (typeof candidate.next !== 'function') return false;
  return candidate[Symbol.iterator]?.() === value || candidate[Symbol.asyncIterator]?.() === value;
}

/**
 * Lets a key source that was left mid-way run its cleanup (close a database cursor), as a for-of
 * loop would. Not awaited, so an abort returns at once even when the source is stuck in a pending
 * next(); a cleanup that fails must not hide why the warm-up stopped.
 */
function close(iterator: AsyncIterator<unknown> | Iterator<unknown>): void {
  try {
    Promise.resolve(iterator.return?.()).catch(() => undefined);
  } catch {
    // a sync generator's finally threw: nothing more to do with it
  }
}

/** A failing key source, as the warm-up's own error; an abort stays an `AbortError`. */
function keySourceError(error: unknown, signal: AbortSignal): Error {
  if (signal.aborted) return new AbortError(signal.reason);
  return new PatchbayError('ERR_PREWARM_CACHE', 'warmCache could not read its keys', { cause: error });
}

function isKeySource(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null) return false;
  return Symbol.iterator in value || Symbol.asyncIterator in value;
}

/** One iterator the workers share; async generators queue concurrent next() calls themselves. */
function toIterator<K>(source: Iterable<K> | AsyncIterable<K>): AsyncIterator<K> | Iterator<K> {
  return Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
}
