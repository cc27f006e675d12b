import { type KeyObject, timingSafeEqual } from 'node:crypto';
import { assertNumber } from '../core/assert';
import { type Clock, systemClock } from '../core/clock';
import { PatchbayError } from '../core/errors';
import { assertRawBody, bodyText } from './body';
import { WebhookVerificationError } from './errors';
import type { WebhookHeaders } from './headers';
import { hmac, secretKeys } from './keys';
import { schemeNamed } from './schemes/registry';
import type { Scheme } from './schemes/scheme';

/**
 * Options for {@link createWebhookVerifier}.
 *
 * @example
 * ```ts
 * const options: WebhookVerifierOptions = { scheme: 'stripe', secret: process.env.STRIPE_WEBHOOK_SECRET ?? '' };
 * ```
 */
export interface WebhookVerifierOptions {
  /** The sender's signature scheme. */
  scheme: Scheme;
  /** The signing secret, or several while a secret is being rotated: any one of them may match. */
  secret: string | readonly string[];
  /** How far the signed timestamp may be from now, in the past or the future, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** Source of the current time. Default the system clock. */
  clock?: Clock;
}

/**
 * A delivery that passed verification. `payload` is the body parsed as JSON on first read (so a
 * verifier that only checks signatures never pays for parsing); reading it throws
 * {@link WebhookVerificationError} `ERR_WEBHOOK_PAYLOAD` when the authentic body is not JSON.
 *
 * @example
 * ```ts
 * const event: VerifiedWebhook = verifier.verify(rawBody, req.headers);
 * show(event.id, event.timestamp?.toISOString(), event.payload);
 * ```
 */
export interface VerifiedWebhook {
  /**
   * The delivery id from the headers (`webhook-id`, `X-GitHub-Delivery`); undefined for Stripe,
   * whose id is in the payload. GitHub's signature does not cover `X-GitHub-Delivery`: anyone can
   * change it, so do not deduplicate on it alone.
   */
  readonly id: string | undefined;
  /** The signed timestamp; undefined for GitHub, which signs none. */
  readonly timestamp: Date | undefined;
  /**
   * The body parsed as JSON; undefined for an empty body. For a GitHub delivery sent as
   * `application/x-www-form-urlencoded` (GitHub's default content type), its `payload` field
   * parsed as JSON.
   */
  readonly payload: unknown;
  /** The body as text, exactly as signed. */
  readonly rawBody: string;
}

/**
 * Verifies deliveries. `verify` throws {@link WebhookVerificationError} for anything that must not
 * be trusted and returns the verified delivery otherwise.
 *
 * @example
 * ```ts
 * const verifier: WebhookVerifier = createWebhookVerifier({ scheme: 'github', secret });
 * ```
 */
export interface WebhookVerifier {
  /** The scheme this verifier checks. */
  readonly scheme: Scheme;
  /**
   * Checks `rawBody` (the body exactly as received, as a string or bytes) against `headers`.
   * Throws `ERR_WEBHOOK_PAYLOAD` for a body that is not raw, `ERR_WEBHOOK_HEADERS` for missing,
   * conflicting or malformed headers, `ERR_WEBHOOK_TIMESTAMP` for a timestamp that is not a whole
   * number of seconds or is outside the tolerance, and `ERR_WEBHOOK_SIGNATURE` when no signature
   * matches any secret.
   */
  verify(rawBody: string | Uint8Array, headers: WebhookHeaders): VerifiedWebhook;
}

/**
 * Parses 1 to 12 ASCII digits and nothing else (no sign, spaces, fraction, exponent or hex), or
 * returns -1. Validation and parsing in one pass: this runs on every request.
 */
function wholeSeconds(text: string): number {
  if (text.length === 0 || text.length > 12) return -1;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Creates a webhook verifier for one scheme and one secret (or several, during a rotation).
 * Signatures are compared in constant time; the timestamp must be a whole number of seconds
 * within `toleranceSeconds` of now in either direction; headers are read defensively, so a
 * missing, repeated, garbled or oversized header is an error, never a crash. Throws
 * `ERR_WEBHOOK_OPTIONS` on bad options.
 *
 * @example
 * ```ts
 * import { createWebhookVerifier } from 'patchbay/webhooks';
 *
 * const verifier = createWebhookVerifier({ scheme: 'standard', secret: [newSecret, oldSecret] });
 * const event = verifier.verify(rawBody, req.headers); // rawBody: the bytes as received
 * show(event.id, event.payload);
 * ```
 */
export function createWebhookVerifier(options: WebhookVerifierOptions): WebhookVerifier {
  if (typeof options !== 'object' || options === null) {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'createWebhookVerifier needs an options object');
  }
  const scheme = schemeNamed(options.scheme);
  const keys = secretKeys(scheme, options.secret);
  const { toleranceSeconds = 300, clock = systemClock } = options;
  assertNumber(toleranceSeconds, 'toleranceSeconds', 'ERR_WEBHOOK_OPTIONS', { min: 0 });
  if (typeof clock?.now !== 'function') {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'clock must be an object with a now() method');
  }

  const checkTimestamp = (text: string): number => {
    const seconds = wholeSeconds(text);
    if (seconds < 0) {
      throw new WebhookVerificationError(
        'ERR_WEBHOOK_TIMESTAMP',
        'the signed timestamp is not a whole number of seconds',
      );
    }
    const skew = clock.now() / 1000 - seconds;
    if (skew > toleranceSeconds) {
      throw new WebhookVerificationError('ERR_WEBHOOK_TIMESTAMP', 'the signed timestamp is older than the tolerance');
    }
    if (-skew > toleranceSeconds) {
      throw new WebhookVerificationError(
        'ERR_WEBHOOK_TIMESTAMP',
        'the signed timestamp is further in the future than the tolerance',
      );
    }
    return seconds;
  };

  return {
    scheme: scheme.name,
    verify(rawBody, headers) {
      assertRawBody(rawBody);
      const signed = scheme.read(headers);
      const seconds = signed.timestamp === undefined ? undefined : checkTimestamp(signed.timestamp);
      const { signatures } = signed;
      let matched = false;
      if (signatures.length > 0) {
        const prefix = scheme.prefix(signed.id, signed.timestamp);
        for (let k = 0; k < keys.length && !matched; k++) {
          const expected = hmac(keys[k] as KeyObject, prefix, rawBody);
          for (let s = 0; s < signatures.length; s++) {
            // candidates were decoded to digest length, which is public, so timingSafeEqual never throws
            if (timingSafeEqual(signatures[s] as Buffer, expected)) matched = true;
          }
        }
      }
      if (!matched) {
        throw new WebhookVerificationError('ERR_WEBHOOK_SIGNATURE', 'no signature matches the body and the secret');
      }
      return new Verified(signed.id, seconds, rawBody, signed.form === true);
    },
  };
}

// A class rather than an object literal with getters: V8 builds a literal with accessors on a slow
// path, which cost more than the rest of verification on small bodies (see bench/webhooks.ts).
class Verified implements VerifiedWebhook {
  readonly id: string | undefined;
  readonly #seconds: number | undefined;
  readonly #body: string | Uint8Array;
  readonly #form: boolean;
  #text: string | undefined;
  #parsed: { value: unknown } | undefined;

  constructor(id: string | undefined, seconds: number | undefined, body: string | Uint8Array, form: boolean) {
    this.id = id;
    this.#seconds = seconds;
    this.#body = body;
    this.#form = form;
  }

  /** A new Date on each read, so a caller that mutates it cannot change what others see. */
  get timestamp(): Date | undefined {
    return this.#seconds === undefined ? undefined : new Date(this.#seconds * 1000);
  }

  get rawBody(): string {
    this.#text ??= bodyText(this.#body);
    return this.#text;
  }

  get payload(): unknown {
    this.#parsed ??= { value: parseJson(this.#form ? formPayload(this.rawBody) : this.rawBody) };
    return this.#parsed.value;
  }

  /** Logging or serialising an event shows what it holds, not its private fields. */
  toJSON(): { id: string | undefined; timestamp: Date | undefined; payload: unknown; rawBody: string } {
    return { id: this.id, timestamp: this.timestamp, payload: this.payload, rawBody: this.rawBody };
  }
}

/** The `payload` field of a form-encoded body. */
function formPayload(text: string): string {
  const payload = new URLSearchParams(text).get('payload');
  if (payload === null || payload === '') {
    throw new WebhookVerificationError('ERR_WEBHOOK_PAYLOAD', 'the verified form body has no payload field');
  }
  return payload;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WebhookVerificationError('ERR_WEBHOOK_PAYLOAD', 'the verified body is not valid JSON', { cause: error });
  }
}
