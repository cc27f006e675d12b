export { PatchbayError, type PatchbayErrorOptions } from '../core/errors';
export { type WebhookVerificationCode, WebhookVerificationError } from './errors';
export type { WebhookHeaders } from './headers';
export type { Scheme } from './schemes/scheme';
export { createWebhookSigner, type WebhookMessage, type WebhookSigner, type WebhookSignerOptions } from './sign';
export {
  createWebhookVerifier,
  type VerifiedWebhook,
  type WebhookVerifier,
  type WebhookVerifierOptions,
} from './verify';
