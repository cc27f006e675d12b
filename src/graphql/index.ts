export { PatchbayError, type PatchbayErrorOptions } from '../core/errors';
export type { RedisArg, RedisScriptClient } from '../core/redis-script';
export type { FieldCost } from './analysis';
export {
  createGraphQLGuard,
  type GraphQLGuard,
  type GraphQLGuardOptions,
  type GuardReport,
} from './guard';
export type { CostModelOptions, GuardErrorCode } from './limits';
export {
  createLoaders,
  type LoaderBatchFunctions,
  type Loaders,
  type LoadersOptions,
} from './loaders';
export {
  type MemoryPersistedQueryStoreOptions,
  memoryPersistedQueryStore,
  type PersistedQueries,
  type PersistedQueriesOptions,
  type PersistedQueryBody,
  type PersistedQueryError,
  type PersistedQueryManifest,
  type PersistedQueryStore,
  persistedQueries,
  type RedisPersistedQueryStoreOptions,
  redisPersistedQueryStore,
} from './persisted-queries';
export { aliasLimitRule } from './rules/aliases';
export { type CostLimitOptions, costLimitRule } from './rules/cost';
export { depthLimitRule } from './rules/depth';
export { directiveLimitRule } from './rules/directives';
export { introspectionListLimitRule } from './rules/introspection-lists';
export { noIntrospectionRule } from './rules/no-introspection';
export { rootFieldLimitRule } from './rules/root-fields';
export { maskSuggestions, maskSuggestionsRule } from './rules/suggestions';
