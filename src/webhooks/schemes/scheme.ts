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

const BASE64_DIGEST = /^[A-Za-z0-9+/]{43}=$/;
const HEX_DIGEST = /^[0-9a-f]{64}$/;

/**
 * Decodes a candidate signature, or returns undefined when it cannot be a SHA-256 digest in the
 * scheme's encoding (such a candidate simply never matches).
 */
export function decodeDigest(text: string, encoding: 'base64' | 'hex'): Buffer | undefined {
  const pattern = encoding === 'base64' ? BASE64_DIGEST : HEX_DIGEST;
  return pattern.test(text) ? Buffer.from(text, encoding) : undefined;
}
