import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { describe } from '../core/assert';
import { PatchbayError } from '../core/errors';
import type { SchemeDefinition } from './schemes/scheme';

/**
 * Turns the `secret` option (one secret, or several during a rotation) into HMAC keys, once, so
 * no request pays for decoding a secret. Throws `ERR_WEBHOOK_OPTIONS` without echoing the secret.
 */
export function secretKeys(scheme: SchemeDefinition, secret: unknown): KeyObject[] {
  const secrets = Array.isArray(secret) ? secret : [secret];
  if (secrets.length === 0) {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'secret must be a non-empty string or a non-empty array of them');
  }
  return secrets.map((value: unknown, index) => {
    const name = Array.isArray(secret) ? `secret[${index}]` : 'secret';
    if (typeof value !== 'string' || value.length === 0) {
      // describe() is safe here: the value is not a usable secret string
      throw new PatchbayError('ERR_WEBHOOK_OPTIONS', `${name} must be a non-empty string, got ${describe(value)}`);
    }
    const key = scheme.secretKey(value);
    if (typeof key === 'string') throw new PatchbayError('ERR_WEBHOOK_OPTIONS', `${name}: ${key}`);
    if (key.length === 0) throw new PatchbayError('ERR_WEBHOOK_OPTIONS', `${name} decodes to an empty key`);
    return createSecretKey(key);
  });
}

/** HMAC-SHA256 of `prefix` then `body`, hashed in two updates so the body is never copied. */
export function hmac(key: KeyObject, prefix: string, body: string | Uint8Array): Buffer {
  const mac = createHmac('sha256', key);
  if (prefix !== '') mac.update(prefix);
  return mac.update(body).digest();
}
