export { AbortError, PatchbayError, type PatchbayErrorOptions, TimeoutError } from '../core/errors';
export type { KeepWarmHandle, KeepWarmOptions } from './keep-warm';
export { createPrewarmer, type Prewarmer, type PrewarmerOptions, type PrewarmRunOptions } from './orchestrator';
export { type ReadinessSource, readinessHandler } from './readiness';
export type {
  PrewarmEvent,
  PrewarmMode,
  PrewarmReadiness,
  PrewarmReport,
  PrewarmTask,
  PrewarmTaskReport,
  PrewarmTaskStatus,
} from './types';
