export type { Clock } from '../core/clock';
export { PatchbayError, type PatchbayErrorOptions } from '../core/errors';
export type { RedisArg, RedisScriptClient } from '../core/redis-script';
export { type WebhookVerificationCode, WebhookVerificationError } from './errors';
export { type WebhookHandlerOptions, webhookHandler } from './handler';
export type { WebhookHeaders } from './headers';
export { type MemoryIdempotencyStoreOptions, memoryIdempotencyStore } from './idempotency/memory';
export {
  type IdempotencyRedisClient,
  type RedisIdempotencyStoreOptions,
  redisIdempotencyStore,
} from './idempotency/redis';
export type { IdempotencyClaim, IdempotencyStore, IdempotencyTtlOptions } from './idempotency/store';
export { type ProcessOnceResult, processOnce } from './process-once';
export type { Scheme } from './schemes/scheme';
export {
  createWebhookSender,
  type DeliveryAttempt,
  type DeliveryReport,
  type OutgoingWebhook,
  type WebhookSender,
  type WebhookSenderOptions,
} from './sender';
export { createWebhookSigner, type WebhookMessage, type WebhookSigner, type WebhookSignerOptions } from './sign';
export {
  createWebhookVerifier,
  type VerifiedWebhook,
  type WebhookVerifier,
  type WebhookVerifierOptions,
} from './verify';
