import pRetry, { type Options as RetryOptions, AbortError as StopRetrying } from 'p-retry';
import { assertClock, assertNumber, describe, isStringRecord } from '../core/assert';
import { type Clock, systemClock } from '../core/clock';
import { PatchbayError } from '../core/errors';
import { jsonText } from '../core/json';
import { sleep, withTimeout } from '../core/timeout';
import { retryAfterMs } from './retry-after';
import { assertRetryOptions } from './retry-options';
import type { Scheme } from './schemes/scheme';
import { createWebhookSigner, defaultId } from './sign';

/**
 * Options for {@link createWebhookSender}.
 *
 * @example
 * ```ts
 * const options: WebhookSenderOptions = {
 *   scheme: 'standard',
 *   secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
 *   retry: { retries: 8 },
 *   onDeadLetter: (report) => queue.push(report),
 * };
 * ```
 */
export interface WebhookSenderOptions {
  /** The signature scheme the receivers expect. */
  scheme: Scheme;
  /** The signing secret; several (standard and stripe) sign with each, for a rotation. */
  secret: string | readonly string[];
  /**
   * p-retry options. Default `{ retries: 5, minTimeout: 1_000, factor: 2, maxTimeout: 60_000, randomize: true }`:
   * six attempts over about a minute. Your `onFailedAttempt` and `shouldRetry` are called too.
   * Aborting `signal` ends the delivery at once, cancelling the request in flight: the report's
   * outcome is `aborted`. An object with p-retry's types and ranges (`retries` an integer ≥ 0 or
   * `Infinity`, `factor` and `minTimeout` finite numbers ≥ 0, `maxTimeout` and `maxRetryTime`
   * numbers ≥ 0, `signal` an `AbortSignal`), or the factory throws `ERR_WEBHOOK_OPTIONS`.
   */
  retry?: RetryOptions;
  /** Budget of each attempt (connect, send, response headers), in ms. Default 10 000. */
  timeoutMs?: number;
  /** Longest `Retry-After` honoured, in ms; longer ones wait this long. Default 300 000. */
  maxRetryAfterMs?: number;
  /** The fetch to use. Default the global `fetch`. */
  fetch?: typeof fetch;
  /**
   * Extra headers sent with every delivery (a `user-agent`, say). The content type, type and
   * signature headers the sender sets replace any of the same name, in any case.
   * Names and values must be ones fetch accepts (values without CR, LF or NUL, and no character
   * above U+00FF), or the factory throws `ERR_WEBHOOK_OPTIONS`.
   */
  headers?: Record<string, string>;
  /** Called with the report of every delivery that failed: out of attempts, gone (410) or rejected (4xx); not when aborted. */
  onDeadLetter?(report: DeliveryReport): void | Promise<void>;
  /** Source of the current time for signing timestamps: an object with `now()`. Default the system clock. */
  clock?: Clock;
}

/**
 * One event to deliver.
 *
 * @example
 * ```ts
 * const event: OutgoingWebhook = { type: 'invoice.paid', payload: { invoiceId: 'in_1' } };
 * ```
 */
export interface OutgoingWebhook {
  /**
   * Delivery id, the same on every attempt so the receiver can deduplicate. Default a random id;
   * with the stripe scheme, the payload's own `id` (which it must have), as Stripe events carry it.
   */
  id?: string;
  /**
   * Event type, sent as `x-github-event` (github) or `webhook-type` (standard, stripe): a
   * non-empty header value, without CR, LF or NUL and with no character above U+00FF.
   */
  type?: string;
  /** The body, sent as JSON. */
  payload: unknown;
}

/**
 * One attempt of a delivery.
 *
 * @example
 * ```ts
 * const attempt: DeliveryAttempt = { attempt: 1, status: 503, durationMs: 12, retryAfterMs: 2_000 };
 * ```
 */
export interface DeliveryAttempt {
  /** 1 for the first attempt. */
  attempt: number;
  /** The HTTP status, when a response arrived. */
  status?: number;
  /** Why no response arrived: a network error or the attempt timeout. */
  error?: string;
  durationMs: number;
  /** The receiver's `Retry-After`, in ms, when it sent one. */
  retryAfterMs?: number;
}

/**
 * What happened to a delivery: `delivered` (a 2xx), `gone` (410: stop sending to this endpoint),
 * `rejected` (another non-retryable answer: a 4xx other than 408 and 429, or a redirect, which is
 * not followed), `exhausted` (every attempt failed) or `aborted` (the retry signal fired before
 * any 2xx arrived; a 2xx that arrived first stands, so the report says `delivered`).
 *
 * @example
 * ```ts
 * const report: DeliveryReport = await sender.send(url, { payload });
 * if (report.outcome === 'gone') await disableEndpoint(url);
 * ```
 */
export interface DeliveryReport {
  id: string;
  url: string;
  type: string | undefined;
  delivered: boolean;
  outcome: 'delivered' | 'gone' | 'rejected' | 'exhausted' | 'aborted';
  attempts: DeliveryAttempt[];
}

/**
 * Sends signed webhooks.
 *
 * @example
 * ```ts
 * const sender: WebhookSender = createWebhookSender({ scheme: 'standard', secret });
 * ```
 */
export interface WebhookSender {
  /**
   * Delivers `webhook` to `url` and resolves with the report; it does not reject because the
   * delivery failed. Rejects with `ERR_WEBHOOK_INPUT` for a bad url, id or type, or a payload that
   * is not JSON-serialisable, and with whatever `onDeadLetter` throws.
   */
  send(url: string | URL, webhook: OutgoingWebhook): Promise<DeliveryReport>;
}

/** An answer that ends the delivery without more attempts. */
class FinalAnswer extends Error {
  constructor(readonly outcome: 'gone' | 'rejected') {
    super(outcome);
  }
}

class RetryableFailure extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

/**
 * Creates a webhook sender: each delivery is signed (afresh on every attempt, so the timestamp
 * stays within the receiver's tolerance), POSTed as JSON with a per-attempt timeout, and retried
 * with exponential backoff through p-retry on 5xx, 408, 429 and network errors, waiting at least
 * the receiver's `Retry-After`. Other 4xx are not retried; 410 means the endpoint is gone. Each
 * attempt is reported; `onDeadLetter` receives every delivery that did not succeed. Throws
 * `ERR_WEBHOOK_OPTIONS` on bad options.
 *
 * @example
 * ```ts
 * import { createWebhookSender } from 'patchbay/webhooks';
 *
 * const sender = createWebhookSender({
 *   scheme: 'standard',
 *   secret: process.env.WEBHOOK_SECRET ?? '',
 *   onDeadLetter: (report) => console.error('undeliverable', report.id, report.outcome),
 * });
 * const report = await sender.send('https://customer.example/hooks', { type: 'invoice.paid', payload: { id: 'in_1' } });
 * show(report.delivered, report.attempts.length);
 * ```
 */
export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  if (typeof options !== 'object' || options === null) {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'createWebhookSender needs an options object');
  }
  const clock = options.clock ?? systemClock;
  assertClock(clock, 'clock', 'ERR_WEBHOOK_OPTIONS');
  assertRetryOptions(options.retry);
  const signer = createWebhookSigner({ scheme: options.scheme, secret: options.secret, clock });
  const { timeoutMs = 10_000, maxRetryAfterMs = 300_000, onDeadLetter, headers: extraHeaders = {} } = options;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  assertNumber(timeoutMs, 'timeoutMs', 'ERR_WEBHOOK_OPTIONS', { min: 0, exclusiveMin: true });
  assertNumber(maxRetryAfterMs, 'maxRetryAfterMs', 'ERR_WEBHOOK_OPTIONS', { min: 0 });
  if (typeof fetchImpl !== 'function') throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'fetch must be a function');
  if (onDeadLetter !== undefined && typeof onDeadLetter !== 'function') {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'onDeadLetter must be a function');
  }
  if (!isStringRecord(extraHeaders)) {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'headers must be an object of header names to string values');
  }
  // checked here: fetch would refuse them on every attempt, which would be retried and dead-lettered
  const headersRefused = headerError(Object.entries(extraHeaders));
  if (headersRefused !== undefined) {
    throw new PatchbayError(
      'ERR_WEBHOOK_OPTIONS',
      'headers holds a name or value that fetch refuses (values: no CR, LF or NUL, nothing above U+00FF)',
      { cause: headersRefused },
    );
  }
  const retry: RetryOptions = {
    retries: 5,
    minTimeout: 1_000,
    factor: 2,
    maxTimeout: 60_000,
    randomize: true,
    ...options.retry,
  };
  const typeHeader = options.scheme === 'github' ? 'x-github-event' : 'webhook-type';
  // lower-cased like the signer's own names, so those replace a caller's `Content-Type` or
  // `Webhook-Signature` instead of fetch joining the two values into one header
  const extra = Object.fromEntries(Object.entries(extraHeaders).map(([name, value]) => [name.toLowerCase(), value]));

  return {
    async send(url, webhook) {
      const target = parseUrl(url);
      if (typeof webhook !== 'object' || webhook === null) {
        throw new PatchbayError('ERR_WEBHOOK_INPUT', 'send() needs a { payload, id?, type? } object');
      }
      const body = jsonText(webhook.payload, 'ERR_WEBHOOK_INPUT', 'payload is not JSON-serialisable');
      const { type } = webhook;
      if (type !== undefined) {
        if (typeof type !== 'string' || type.length === 0) {
          throw new PatchbayError('ERR_WEBHOOK_INPUT', `type must be a non-empty string, got ${describe(type)}`);
        }
        // fetch would refuse it on every attempt, which would be retried and dead-lettered
        const refused = headerError([[typeHeader, type]]);
        if (refused !== undefined) {
          throw new PatchbayError(
            'ERR_WEBHOOK_INPUT',
            `type must be a valid header value (no CR, LF or NUL, nothing above U+00FF), got ${describe(type)}`,
            { cause: refused },
          );
        }
      }
      const id = options.scheme === 'stripe' ? stripeEventId(webhook) : (webhook.id ?? defaultId(options.scheme));
      // signing once up front rejects a bad id at this call rather than on the first attempt
      signer.sign({ id, body });
      const report: DeliveryReport = { id, url: target, type, delivered: false, outcome: 'exhausted', attempts: [] };

      const attempt = async (attemptNumber: number): Promise<void> => {
        const headers: Record<string, string> = {
          ...extra,
          'content-type': 'application/json',
          ...(type === undefined ? {} : { [typeHeader]: type }),
          ...signer.sign({ id, body }),
        };
        const started = performance.now();
        let answered: Response | undefined;
        let response: Response;
        try {
          response = await withTimeout(
            async (signal) => {
              const answer = await fetchImpl(target, { method: 'POST', body, headers, signal, redirect: 'manual' });
              answered = answer;
              // the receiver's body is not needed; cancelling it frees the connection
              await answer.body?.cancel().catch(() => undefined);
              return answer;
            },
            timeoutMs,
            // the caller's signal cancels the request in flight, not only the wait between attempts
            { signal: retry.signal ?? undefined, message: `no response within ${timeoutMs} ms` },
          );
        } catch (error) {
          // an abort or timeout while the body is discarded changes nothing: the receiver has answered
          if (answered === undefined) {
            const message = error instanceof Error ? error.message : String(error);
            report.attempts.push({ attempt: attemptNumber, error: message, durationMs: elapsed(started) });
            throw new RetryableFailure(message, undefined);
          }
          response = answered;
        }
        const { status } = response;
        const wait = retryAfterMs(response.headers.get('retry-after'), clock.now());
        report.attempts.push({
          attempt: attemptNumber,
          status,
          durationMs: elapsed(started),
          ...(wait === undefined ? {} : { retryAfterMs: wait }),
        });
        if (status >= 200 && status < 300) {
          report.delivered = true;
          report.outcome = 'delivered';
          return;
        }
        if (status === 410) throw new StopRetrying(new FinalAnswer('gone'));
        if (status >= 500 || status === 429 || status === 408) throw new RetryableFailure(`HTTP ${status}`, wait);
        throw new StopRetrying(new FinalAnswer('rejected'));
      };

      const started = Date.now();
      try {
        await pRetry(attempt, {
          ...retry,
          // The receiver's Retry-After is waited out here, once p-retry and the caller's own
          // shouldRetry have decided on another attempt: waiting before that decision held send()
          // for nothing when no attempt followed.
          shouldRetry: async (context) => {
            if (retry.shouldRetry !== undefined && !(await retry.shouldRetry(context))) return false;
            const wanted = context.error instanceof RetryableFailure ? context.error.retryAfterMs : undefined;
            if (wanted === undefined || wanted <= context.retryDelay) return true;
            const wait = Math.min(wanted, maxRetryAfterMs);
            // p-retry measures maxRetryTime with Date.now(); past it, it would give up after the wait
            if (Date.now() - started + wait >= (retry.maxRetryTime ?? Number.POSITIVE_INFINITY)) return false;
            // p-retry waits retryDelay after this returns; only the difference is added here
            await sleep(Math.max(0, wait - context.retryDelay), { signal: retry.signal ?? undefined });
            return true;
          },
        });
      } catch (error) {
        // p-retry rejects when the signal fired during an attempt that got a 2xx; the receiver has
        // the event all the same, and a caller told otherwise would send it twice
        if (!report.delivered) {
          report.outcome = retry.signal?.aborted
            ? 'aborted'
            : error instanceof FinalAnswer
              ? error.outcome
              : 'exhausted';
        }
      }
      if (report.delivered) return report;
      // cancelled on purpose: the caller knows, and nothing was lost that it did not choose to drop
      if (report.outcome !== 'aborted') await onDeadLetter?.(report);
      return report;
    },
  };
}

/**
 * The stripe scheme sends no id header: receivers deduplicate on the event's own `id`, inside
 * the signed body, so that is the delivery id. A payload without one could not be deduplicated,
 * and patchbay's own handler refuses it.
 */
function stripeEventId({ id, payload }: OutgoingWebhook): string {
  const own = (payload as { id?: unknown } | null)?.id;
  if (typeof payload !== 'object' || Array.isArray(payload) || typeof own !== 'string' || own.length === 0) {
    throw new PatchbayError(
      'ERR_WEBHOOK_INPUT',
      'the stripe scheme carries the event id in the payload: payload must be an object with a non-empty string id',
    );
  }
  if (id !== undefined && id !== own) {
    throw new PatchbayError('ERR_WEBHOOK_INPUT', `id ${describe(id)} differs from payload.id ${describe(own)}`);
  }
  return own;
}

/**
 * Why fetch would refuse these headers, or undefined. The `Headers` constructor applies the Fetch
 * standard's checks (names are tokens; values are byte strings without CR, LF or NUL), the same
 * ones the global fetch applies to each request, rather than a copy of them that could drift.
 */
function headerError(entries: [string, string][]): unknown {
  try {
    new Headers(entries);
    return undefined;
  } catch (error) {
    return error;
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

function parseUrl(url: unknown): string {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' || url instanceof URL ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new PatchbayError('ERR_WEBHOOK_INPUT', `url must be an absolute http(s) URL, got ${describe(String(url))}`);
  }
  return parsed.href;
}
