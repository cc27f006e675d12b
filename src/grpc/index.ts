export type { BackoffOptions } from '../core/backoff';
export type { Clock } from '../core/clock';
export { PatchbayError, type PatchbayErrorOptions } from '../core/errors';
export type { RandomSource } from '../core/random';
export {
  type AuthInterceptorOptions,
  authInterceptor,
  type TokenResult,
} from './client/auth';
export { type DeadlineInterceptorOptions, deadlineInterceptor } from './client/deadline';
export { type LoggingInterceptorOptions, loggingInterceptor } from './client/logging';
export { type CallMetrics, type MetricsInterceptorOptions, metricsInterceptor } from './client/metrics';
export { type RetryEvent, type RetryInterceptorOptions, retryInterceptor } from './client/retry';
export {
  type HealthService,
  type HealthServiceOptions,
  healthService,
  type ServingStatus,
} from './health';
export { defaultLogLevel, type GrpcLogEntry, type GrpcLogger, type GrpcLogLevel } from './logger';
export {
  bearerToken,
  identityOf,
  type ServerAuthInterceptorOptions,
  serverAuthInterceptor,
} from './server/auth';
export { type ServerDeadlineInterceptorOptions, serverDeadlineInterceptor } from './server/deadline';
export { type ServerLoggingInterceptorOptions, serverLoggingInterceptor } from './server/logging';
export {
  type GrpcServerCall,
  type ServerRateLimitInterceptorOptions,
  serverRateLimitInterceptor,
} from './server/rate-limit';
export {
  type RecoveryEvent,
  recoverHandlers,
  type ServerRecoveryInterceptorOptions,
  serverRecoveryInterceptor,
} from './server/recovery';
export type { GrpcCallType } from './status';
