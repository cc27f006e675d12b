import type { WebhookHeaders } from '../headers';

/**
 * The signature schemes patchbay speaks: `standard` (Standard Webhooks, as sent by Svix and
 * others), `stripe` (`Stripe-Signature`) and `github` (`X-Hub-Signature-256`).
 *
 * @example
 * ```ts
 * const scheme: Scheme = 'standard';
 * ```
 */
export type Scheme = 'standard' | 'stripe' | 'github';

/** What a scheme reads from a delivery's headers before any HMAC is computed. */
export interface SignedHeaders {
  id: string | undefined;
  /** The timestamp exactly as sent, still unparsed; undefined for schemes without one. */
  timestamp: string | undefined;
  /** Decoded candidate signatures, each the length of a SHA-256 digest. */
  signatures: Buffer[];
  /** The body is a form whose `payload` field holds the JSON (GitHub's `form` content type). */
  form?: boolean;
}

/** The message a signer signs, with defaults already filled in. */
export interface SigningInput {
  id: string;
  timestamp: number;
  signatures: string[];
}

/** One scheme's wire format. Internal: users pick a scheme by its {@link Scheme} name. */
export interface SchemeDefinition {
  readonly name: Scheme;
  readonly encoding: 'base64' | 'hex';
  /** Turns a configured secret into HMAC key bytes, or returns an error message. */
  secretKey(secret: string): Buffer | string;
  /** Reads and checks the scheme's headers; throws WebhookVerificationError when they are unusable. */
  read(headers: WebhookHeaders): SignedHeaders;
  /** What is hashed before the body, for this id and timestamp. */
  prefix(id: string | undefined, timestamp: string | undefined): string;
  /** The headers a sender sets. */
  headers(input: SigningInput): Record<string, string>;
}

const HEX_DIGEST = /^[0-9a-f]{64}$/;
const DIGEST_BYTES = 32;

/**
 * Decodes a candidate signature, or returns undefined when it cannot be a SHA-256 digest in the
 * scheme's encoding (such a candidate simply never matches). Base64 is checked by length rather
 * than by pattern: Node's decoder drops characters outside the alphabet, so a garbled candidate
 * decodes short and is refused, and a pattern test costs as much as the rest of the parsing.
 */
export function decodeDigest(text: string, encoding: 'base64' | 'hex'): Buffer | undefined {
  if (encoding === 'hex') return HEX_DIGEST.test(text) ? Buffer.from(text, 'hex') : undefined;
  if (text.length !== 44 || text.charCodeAt(43) !== 61 /* = */) return undefined;
  const digest = Buffer.from(text, 'base64');
  return digest.length === DIGEST_BYTES ? digest : undefined;
}
