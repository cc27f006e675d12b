import DataLoader, { type BatchLoadFn } from 'dataloader';
import { assertOptionsObject, describe } from '../core/assert';
import { PatchbayError } from '../core/errors';
import { optionsError } from './limits';

/**
 * Batch functions by loader name: each takes the keys requested in one tick and returns their
 * values (or `Error`s) in the same order.
 *
 * @example
 * ```ts
 * const batchFns = {
 *   userById: async (ids: readonly string[]) => {
 *     const rows = await db.users.findMany({ where: { id: { in: [...ids] } } });
 *     return ids.map((id) => rows.find((r) => r.id === id) ?? new Error(`no user ${id}`));
 *   },
 * } satisfies LoaderBatchFunctions;
 * ```
 */
export type LoaderBatchFunctions = Record<string, BatchLoadFn<never, unknown>>;

/**
 * One DataLoader for each batch function, keyed and typed after it.
 *
 * @example
 * ```ts
 * const loaders: Loaders<typeof batchFns> = newLoaders();
 * const user = await loaders.userById.load('u1');
 * ```
 */
export type Loaders<T extends LoaderBatchFunctions> = {
  [K in keyof T]: T[K] extends BatchLoadFn<infer Key, infer Value> ? DataLoader<Key, Value> : never;
};

/**
 * Options of {@link createLoaders}.
 *
 * @example
 * ```ts
 * const options: LoadersOptions = { maxBatchSize: 100 };
 * ```
 */
export interface LoadersOptions {
  /** Most keys per batch call, e.g. to stay under a database's parameter limit (default: no limit). */
  maxBatchSize?: number;
}

/**
 * Returns a factory of DataLoaders to call once per request: loads in one tick are batched into
 * one call of the batch function, and each request gets its own cache, so one user's data is never
 * served to another and nothing outlives the request. Put the result on the GraphQL context.
 * A batch function that does not return one value per key fails that batch's loads with
 * `PatchbayError` `ERR_GRAPHQL_LOADER`, naming the loader but none of the keys or values.
 *
 * @example
 * ```ts
 * import { graphql } from 'graphql';
 * import { createLoaders } from 'patchbay/graphql';
 *
 * const newLoaders = createLoaders({ userById: (ids: readonly string[]) => db.usersByIds(ids) }, { maxBatchSize: 100 });
 * const result = await graphql({ schema, source, contextValue: { loaders: newLoaders() } });
 * // resolver: author: (post, _args, { loaders }) => loaders.userById.load(post.authorId)
 * ```
 */
export function createLoaders<T extends LoaderBatchFunctions>(
  batchFns: T,
  options: LoadersOptions = {},
): () => Loaders<T> {
  assertOptionsObject(batchFns, 'batchFns', 'ERR_GRAPHQL_OPTIONS');
  for (const [name, fn] of Object.entries(batchFns)) {
    if (typeof fn !== 'function') throw optionsError(`batchFns.${name} must be a function`);
  }
  assertOptionsObject(options, 'createLoaders options', 'ERR_GRAPHQL_OPTIONS');
  const { maxBatchSize } = options;
  if (maxBatchSize !== undefined && (!Number.isInteger(maxBatchSize) || maxBatchSize < 1)) {
    throw optionsError(`maxBatchSize must be an integer >= 1, got ${describe(maxBatchSize)}`);
  }
  const loaderOptions = maxBatchSize === undefined ? {} : { maxBatchSize };
  return () => {
    const loaders: Record<string, DataLoader<never, unknown>> = {};
    for (const [name, fn] of Object.entries(batchFns)) {
      const loader: DataLoader<never, unknown> = new DataLoader(
        async (keys) => checkValues(name, keys, await fn.call(loader, keys)),
        loaderOptions,
      );
      loaders[name] = loader;
    }
    return loaders as Loaders<T>;
  };
}

// DataLoader's own TypeError for this puts every key and value of the batch in its message,
// which graphql-js sends to the client, and does not say which loader it was.
function checkValues(name: string, keys: readonly unknown[], values: unknown): ArrayLike<unknown> {
  const length = (values as { length?: unknown } | null | undefined)?.length;
  if (typeof values !== 'object' || values === null || typeof length !== 'number') {
    throw new PatchbayError('ERR_GRAPHQL_LOADER', `Loader ${name}: the batch function did not return an array`);
  }
  if (length !== keys.length) {
    throw new PatchbayError(
      'ERR_GRAPHQL_LOADER',
      `Loader ${name}: the batch function returned ${length} values for ${keys.length} keys; ` +
        'return one value or Error per key, in the order of the keys',
    );
  }
  return values as ArrayLike<unknown>;
}
