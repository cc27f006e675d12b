import { PatchbayError } from '../core/errors';

/**
 * Why a webhook was refused: `ERR_WEBHOOK_SIGNATURE` (no signature matched any secret),
 * `ERR_WEBHOOK_TIMESTAMP` (not a whole number of seconds, or outside the tolerance),
 * `ERR_WEBHOOK_HEADERS` (a header is missing, empty, conflicting, malformed or too long),
 * `ERR_WEBHOOK_PAYLOAD` (the body is not the raw bytes, or not JSON when the payload is read).
 *
 * @example
 * ```ts
 * const code: WebhookVerificationCode = 'ERR_WEBHOOK_SIGNATURE';
 * ```
 */
export type WebhookVerificationCode =
  | 'ERR_WEBHOOK_SIGNATURE'
  | 'ERR_WEBHOOK_TIMESTAMP'
  | 'ERR_WEBHOOK_HEADERS'
  | 'ERR_WEBHOOK_PAYLOAD';

/**
 * Thrown by a verifier when a delivery must not be trusted. Messages name the header at fault
 * but never a secret or an expected signature, so they are safe to send back to the caller.
 *
 * @example
 * ```ts
 * import { WebhookVerificationError } from 'patchbay/webhooks';
 *
 * try {
 *   verifier.verify(rawBody, req.headers);
 * } catch (error) {
 *   if (error instanceof WebhookVerificationError && error.code === 'ERR_WEBHOOK_TIMESTAMP') {
 *     // a replay, or a sender whose clock is far off
 *   }
 * }
 * ```
 */
export class WebhookVerificationError extends PatchbayError {
  declare readonly code: WebhookVerificationCode;

  constructor(code: WebhookVerificationCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
