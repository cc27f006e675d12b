import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { assertBoolean, assertFunction, assertNumber } from '../core/assert';
import { PatchbayError } from '../core/errors';
import { notify } from '../core/notify';
import { WebhookVerificationError } from './errors';
import { memoryIdempotencyStore } from './idempotency/memory';
import { type IdempotencyStore, MAX_KEY_LENGTH } from './idempotency/store';
import { processOnce } from './process-once';
import { readBody } from './read-body';
import type { Scheme } from './schemes/scheme';
import type { VerifiedWebhook, WebhookVerifier } from './verify';

/**
 * Options for {@link webhookHandler}.
 *
 * @example
 * ```ts
 * const options: WebhookHandlerOptions = {
 *   verifier: createWebhookVerifier({ scheme: 'stripe', secret }),
 *   handle: async (event) => fulfil(event.payload),
 * };
 * ```
 */
export interface WebhookHandlerOptions {
  /** Checks each delivery; see {@link createWebhookVerifier}. */
  verifier: WebhookVerifier;
  /** Processes a verified, not yet processed event. Throwing makes the delivery fail (500) so the sender retries. */
  handle(event: VerifiedWebhook): Promise<void> | void;
  /** Where processed ids are kept. Default a {@link memoryIdempotencyStore}; use a Redis store with several processes. */
  store?: IdempotencyStore;
  /** Largest body accepted, in bytes; larger deliveries get 413 without being buffered. Default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * Answer 202 as soon as the event is verified and claimed, then run `handle`, for senders with
   * short timeouts. The sender then never learns of a failure, so it will not redeliver: `onError`
   * is told instead. A boolean. Default false: answer 200 after `handle` resolves.
   */
  ackBeforeProcessing?: boolean;
  /**
   * The idempotency key of an event. Default: for `standard` and `stripe`, `${scheme}:${id}` with
   * the id from the signed `webhook-id` header or else the signed payload's `id`; for `github`,
   * `github:${sha256 of the body, hex}`, because GitHub's signature does not cover
   * `X-GitHub-Delivery` and a replay could otherwise pass as a new event under a fresh id.
   */
  key?(event: VerifiedWebhook): string | undefined;
  /**
   * Told about failures the sender cannot see or that need attention: a throwing `handle`, a store
   * failure. It may be async; what it throws or rejects with is ignored.
   */
  onError?(error: unknown, event: VerifiedWebhook | undefined): void;
}

const STATUS_OF: Record<string, number> = {
  ERR_WEBHOOK_SIGNATURE: 401,
  ERR_WEBHOOK_TIMESTAMP: 401,
  ERR_WEBHOOK_HEADERS: 400,
  ERR_WEBHOOK_PAYLOAD: 400,
};

/**
 * A node:http request listener (also usable as Connect/Express middleware) that receives
 * webhooks: reads the raw body up to `maxBodyBytes` (413 beyond), verifies it (400 for bad
 * headers or body, 401 for a bad signature or timestamp, with a JSON `{ error: { code, message } }`
 * that never holds a secret), and runs `handle` once per event through the store (see
 * {@link WebhookHandlerOptions.key} for what identifies an event): a redelivery of a processed
 * event gets 200 `duplicate`, one that arrives while the first is still running gets 503 with
 * `Retry-After`. It never throws and never rejects. Throws
 * `ERR_WEBHOOK_OPTIONS` on bad options.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createWebhookVerifier, webhookHandler } from 'patchbay/webhooks';
 *
 * const verifier = createWebhookVerifier({ scheme: 'standard', secret: process.env.WEBHOOK_SECRET ?? '' });
 * createServer(webhookHandler({ verifier, handle: async (event) => show(event.payload) })).listen(3000);
 * ```
 */
export function webhookHandler(options: WebhookHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  if (typeof options !== 'object' || options === null) {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'webhookHandler needs an options object');
  }
  const { verifier, handle, maxBodyBytes = 1_048_576, ackBeforeProcessing = false, onError } = options;
  if (typeof verifier?.verify !== 'function') {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'verifier must come from createWebhookVerifier()');
  }
  if (typeof handle !== 'function') throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'handle must be a function');
  assertNumber(maxBodyBytes, 'maxBodyBytes', 'ERR_WEBHOOK_OPTIONS', { min: 1, integer: true });
  assertBoolean(ackBeforeProcessing, 'ackBeforeProcessing', 'ERR_WEBHOOK_OPTIONS');
  if (options.key !== undefined) assertFunction(options.key, 'key', 'ERR_WEBHOOK_OPTIONS');
  if (onError !== undefined) assertFunction(onError, 'onError', 'ERR_WEBHOOK_OPTIONS');
  const store = options.store ?? memoryIdempotencyStore();
  if (typeof store.claim !== 'function') {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'store must be an IdempotencyStore');
  }
  const keyOf = options.key ?? ((event: VerifiedWebhook) => defaultKey(verifier.scheme, event));

  // a failing error hook, sync or async, must not take the server down
  const report = (error: unknown, event: VerifiedWebhook | undefined): void => {
    if (onError !== undefined) notify(onError, error, event);
  };

  const receive = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return send(res, 405, { error: { code: 'ERR_WEBHOOK_METHOD', message: 'webhooks are delivered with POST' } });
    }
    const read = await readBody(req, maxBodyBytes);
    if (!read.ok) {
      if (read.reason === 'aborted') return;
      if (read.reason === 'parsed') {
        const message =
          'the body was read or parsed before the webhook handler ran; mount it before any JSON body parser';
        report(new PatchbayError('ERR_WEBHOOK_PAYLOAD', message), undefined);
        return send(res, 500, { error: { code: 'ERR_WEBHOOK_PAYLOAD', message } });
      }
      // the rest of an oversized body is not worth reading: close the connection once answered
      res.setHeader('connection', 'close');
      res.once('finish', () => req.destroy());
      return send(res, 413, {
        error: { code: 'ERR_WEBHOOK_BODY_TOO_LARGE', message: `the body is larger than ${maxBodyBytes} bytes` },
      });
    }

    let event: VerifiedWebhook;
    let key: string | undefined;
    try {
      event = verifier.verify(read.body, req.headers);
      void event.payload; // a body that is not JSON is refused here, before anything is claimed
      key = keyOf(event);
    } catch (error) {
      if (error instanceof WebhookVerificationError) {
        return send(res, STATUS_OF[error.code] ?? 400, { error: { code: error.code, message: error.message } });
      }
      throw error;
    }
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      return send(res, 400, {
        error: { code: 'ERR_WEBHOOK_ID', message: 'the delivery carries no usable event id to deduplicate on' },
      });
    }

    const verified = event;
    let outcome: Awaited<ReturnType<typeof processOnce>>;
    try {
      outcome = await processOnce(store, key, async () => {
        if (ackBeforeProcessing) send(res, 202, { status: 'accepted' });
        await handle(verified);
      });
    } catch (error) {
      report(error, verified);
      if (res.headersSent) return;
      if (error instanceof PatchbayError && error.code === 'ERR_WEBHOOK_STORE') {
        res.setHeader('retry-after', '5');
        return send(res, 503, { error: { code: error.code, message: 'the idempotency store is unavailable' } });
      }
      return send(res, 500, { error: { code: 'ERR_WEBHOOK_HANDLER', message: 'the event could not be processed' } });
    }
    if (outcome.storeError !== undefined) report(outcome.storeError, verified);
    if (res.headersSent) return;
    if (outcome.status === 'in-flight') {
      res.setHeader('retry-after', '5');
      return send(res, 503, { status: 'in-flight' });
    }
    send(res, 200, { status: outcome.status });
  };

  return (req, res) => {
    receive(req, res).catch((error: unknown) => {
      report(error, undefined);
      if (!res.headersSent) send(res, 500, { error: { code: 'ERR_WEBHOOK_HANDLER', message: 'internal error' } });
    });
  };
}

/**
 * The key must come from signed content, or a captured delivery replayed under a fresh id would
 * be processed again. Standard Webhooks signs the id, and Stripe's id is in the signed body; both
 * also sign a timestamp, so a replay is refused once it falls outside the tolerance.
 */
function defaultKey(scheme: Scheme, event: VerifiedWebhook): string | undefined {
  // GitHub signs the body alone, with no timestamp: X-GitHub-Delivery can be changed at will. A
  // redelivery resends the same body, so a digest of it still deduplicates those.
  if (scheme === 'github') return `github:${createHash('sha256').update(event.rawBody).digest('hex')}`;
  if (event.id !== undefined) return `${scheme}:${event.id}`;
  const payload = event.payload;
  if (typeof payload === 'object' && payload !== null && 'id' in payload) {
    const id = (payload as { id: unknown }).id;
    if ((typeof id === 'string' && id.length > 0) || typeof id === 'number') return `${scheme}:${id}`;
  }
  return undefined;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}
