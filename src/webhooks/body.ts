import { WebhookVerificationError } from './errors';

/**
 * Throws `ERR_WEBHOOK_PAYLOAD` unless `body` is the raw body (a string or bytes). A parsed object
 * cannot be verified: re-serialising it never reliably reproduces the bytes that were signed.
 */
export function assertRawBody(body: unknown): asserts body is string | Uint8Array {
  if (typeof body === 'string' || body instanceof Uint8Array) return;
  const got = body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`;
  throw new WebhookVerificationError(
    'ERR_WEBHOOK_PAYLOAD',
    `expected the raw request body as a string or Uint8Array, got ${got}. Pass the body exactly as received, ` +
      'before any JSON parsing (for Express: express.raw({ type: "application/json" }))',
  );
}

/** The body as text: bytes are decoded as UTF-8. */
export function bodyText(body: string | Uint8Array): string {
  return typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}
