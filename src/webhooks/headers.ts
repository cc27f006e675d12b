import { WebhookVerificationError } from './errors';

/**
 * Request headers as a verifier accepts them: a fetch `Headers`, or a plain record such as
 * node:http's `req.headers` (any key case; an array means the header was sent more than once).
 *
 * @example
 * ```ts
 * const headers: WebhookHeaders = { 'webhook-id': 'msg_1', 'webhook-timestamp': '1614265330' };
 * ```
 */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** The longest header value a verifier reads; past it the delivery is refused, not parsed. */
export const MAX_HEADER_LENGTH = 8_192;

/**
 * Reads one header by its lower-case `name`. A repeated header yields its distinct values
 * joined with `separator`, or an error when `separator` is undefined (a header that must be
 * single, like an id or a timestamp, may not be ambiguous).
 */
export function readHeader(headers: WebhookHeaders, name: string, separator?: string): string | undefined {
  let raw: unknown;
  if (typeof headers !== 'object' || headers === null) {
    throw new WebhookVerificationError('ERR_WEBHOOK_HEADERS', 'headers must be a Headers object or a plain record');
  }
  // Duck-typed: a record's values are strings, so a get() method means a fetch Headers (from any
  // realm or polyfill), and this avoids Node's lazy global Headers getter on every request.
  if (typeof (headers as Headers).get === 'function') {
    raw = (headers as Headers).get(name) ?? undefined;
  } else {
    const record = headers as Record<string, unknown>;
    // names are this module's fixed header names, never inherited Object properties
    raw = record[name] ?? findCaseInsensitive(record, name);
  }
  const value = normalize(raw, name, separator);
  if (value !== undefined && value.length > MAX_HEADER_LENGTH) {
    throw new WebhookVerificationError(
      'ERR_WEBHOOK_HEADERS',
      `header ${name} is longer than ${MAX_HEADER_LENGTH} characters`,
    );
  }
  return value;
}

/** Like {@link readHeader}, but a missing or blank header is an error. */
export function requireHeader(headers: WebhookHeaders, name: string, separator?: string): string {
  const value = readHeader(headers, name, separator);
  // trim() only when the value starts with whitespace: it allocates, and this runs on every request
  if (value === undefined || value === '' || (value.charCodeAt(0) <= 32 && value.trim() === '')) {
    throw new WebhookVerificationError('ERR_WEBHOOK_HEADERS', `missing or empty header ${name}`);
  }
  return value;
}

function findCaseInsensitive(record: Record<string, unknown>, name: string): unknown {
  for (const key of Object.keys(record)) {
    if (key.length === name.length && key.toLowerCase() === name) return record[key];
  }
  return undefined;
}

function normalize(raw: unknown, name: string, separator: string | undefined): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) {
    const distinct = [...new Set(raw as string[])];
    if (distinct.length <= 1) return distinct[0];
    if (separator !== undefined) return distinct.join(separator);
    throw new WebhookVerificationError(
      'ERR_WEBHOOK_HEADERS',
      `header ${name} was sent more than once with different values`,
    );
  }
  throw new WebhookVerificationError('ERR_WEBHOOK_HEADERS', `header ${name} must be a string`);
}
