import { randomUUID } from 'node:crypto';
import { assertClock, describe } from '../core/assert';
import { type Clock, systemClock } from '../core/clock';
import { PatchbayError } from '../core/errors';
import { hmac, secretKeys } from './keys';
import { schemeNamed } from './schemes/registry';
import type { Scheme } from './schemes/scheme';

/**
 * Options for {@link createWebhookSigner}.
 *
 * @example
 * ```ts
 * const options: WebhookSignerOptions = { scheme: 'standard', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };
 * ```
 */
export interface WebhookSignerOptions {
  /** The signature scheme to produce. */
  scheme: Scheme;
  /**
   * The signing secret. Several secrets (standard and stripe only) sign each message with every
   * one of them, so receivers holding either the old or the new secret accept it during a rotation.
   */
  secret: string | readonly string[];
  /** Source of the current time for the default timestamp. Default the system clock. */
  clock?: Clock;
}

/**
 * What to sign. `body` must be the exact bytes that will be sent.
 *
 * @example
 * ```ts
 * const message: WebhookMessage = { id: 'msg_1', body: JSON.stringify({ type: 'invoice.paid' }) };
 * ```
 */
export interface WebhookMessage {
  /** Delivery id; default a random `msg_…` id. Stripe signs no id and ignores it. */
  id?: string;
  /** Signing time, as a Date or whole Unix seconds; default now. GitHub signs no time and ignores it. */
  timestamp?: Date | number;
  /** The body exactly as it will be sent. */
  body: string | Uint8Array;
}

/**
 * Signs outgoing webhooks.
 *
 * @example
 * ```ts
 * const signer: WebhookSigner = createWebhookSigner({ scheme: 'stripe', secret });
 * ```
 */
export interface WebhookSigner {
  /** The headers to send with `message.body`. Throws `ERR_WEBHOOK_INPUT` on a bad message. */
  sign(message: WebhookMessage): Record<string, string>;
}

const MAX_ID_LENGTH = 256;

/**
 * Creates a signer for one scheme. `sign` returns the headers to send beside the body, byte-exact
 * with what Standard Webhooks, Stripe and GitHub receivers expect. Throws `ERR_WEBHOOK_OPTIONS`
 * on bad options.
 *
 * @example
 * ```ts
 * import { createWebhookSigner } from 'patchbay/webhooks';
 *
 * const signer = createWebhookSigner({ scheme: 'standard', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
 * const body = JSON.stringify({ type: 'user.created', data: { id: 42 } });
 * await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...signer.sign({ body }) } });
 * ```
 */
export function createWebhookSigner(options: WebhookSignerOptions): WebhookSigner {
  if (typeof options !== 'object' || options === null) {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'createWebhookSigner needs an options object');
  }
  const scheme = schemeNamed(options.scheme);
  const keys = secretKeys(scheme, options.secret);
  if (scheme.name === 'github' && keys.length > 1) {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'the github scheme carries one signature: pass one secret');
  }
  const clock = options.clock ?? systemClock;
  assertClock(clock, 'clock', 'ERR_WEBHOOK_OPTIONS');
  return {
    sign(message) {
      if (typeof message !== 'object' || message === null) {
        throw new PatchbayError('ERR_WEBHOOK_INPUT', 'sign() needs a { body, id?, timestamp? } object');
      }
      const { body } = message;
      if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
        throw new PatchbayError(
          'ERR_WEBHOOK_INPUT',
          `body must be the exact string or bytes to send, got ${describe(body)}; serialise it first (JSON.stringify)`,
        );
      }
      const id = message.id ?? defaultId(scheme.name);
      if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || !/^[!-~]+$/.test(id)) {
        throw new PatchbayError(
          'ERR_WEBHOOK_INPUT',
          `id must be 1 to ${MAX_ID_LENGTH} printable ASCII characters without spaces, got ${describe(id)}`,
        );
      }
      const timestamp = seconds(message.timestamp, clock);
      const prefix = scheme.prefix(id, String(timestamp));
      const signatures = keys.map((key) => hmac(key, prefix, body).toString(scheme.encoding));
      return scheme.headers({ id, timestamp, signatures });
    },
  };
}

function seconds(timestamp: Date | number | undefined, clock: Clock): number {
  if (timestamp === undefined) return Math.floor(clock.now() / 1000);
  const value = timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new PatchbayError(
      'ERR_WEBHOOK_INPUT',
      `timestamp must be a valid Date or whole Unix seconds >= 0, got ${describe(timestamp)}`,
    );
  }
  return value;
}

/** A fresh delivery id in the form the scheme's providers use: a GUID for GitHub, `msg_…` otherwise. */
export function defaultId(scheme: Scheme): string {
  return scheme === 'github' ? randomUUID() : `msg_${randomUUID().replaceAll('-', '')}`;
}
