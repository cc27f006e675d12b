import { WebhookVerificationError } from '../errors';
import { readHeader, requireHeader } from '../headers';
import { decodeDigest, type SchemeDefinition } from './scheme';

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;
// Svix sends these headers named svix-*, unless an account has them white-labelled to webhook-*;
// its own library reads either set, and so does this one (never a mix of the two)
const STANDARD = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;
const SVIX = ['svix-id', 'svix-timestamp', 'svix-signature'] as const;

/**
 * Standard Webhooks (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` and
 * `webhook-signature` (space-separated `v1,<base64>` entries, several during a key rotation), or
 * the same three named `svix-*`, as Svix sends them;
 * the HMAC-SHA256 covers `${id}.${timestamp}.${body}` keyed with the base64-decoded secret.
 */
export const standardScheme: SchemeDefinition = {
  name: 'standard',
  encoding: 'base64',
  secretKey(secret) {
    const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
    if (encoded.length === 0 || !BASE64.test(encoded)) {
      return 'a standard scheme secret must be base64, optionally prefixed with whsec_';
    }
    return Buffer.from(encoded, 'base64');
  },
  read(headers) {
    const names =
      readHeader(headers, STANDARD[0]) === undefined && readHeader(headers, SVIX[0]) !== undefined ? SVIX : STANDARD;
    const id = requireHeader(headers, names[0]);
    const timestamp = requireHeader(headers, names[1]);
    const header = requireHeader(headers, names[2], ' ');
    const signatures: Buffer[] = [];
    let versioned = 0;
    // walked with indexOf rather than split(): this runs on every request and one entry is the common case
    for (let start = 0; start <= header.length; ) {
      const space = header.indexOf(' ', start);
      const next = space === -1 ? header.length : space;
      // node:http joins a repeated header with ", ": drop the comma, which base64 never contains
      const end = next > start && header.charCodeAt(next - 1) === 44 /* , */ ? next - 1 : next;
      if (header.startsWith('v1,', start)) {
        versioned++;
        const digest = decodeDigest(header.slice(start + 3, end), 'base64');
        if (digest) signatures.push(digest);
      }
      start = next + 1;
    }
    if (versioned === 0) {
      throw new WebhookVerificationError('ERR_WEBHOOK_HEADERS', `header ${names[2]} holds no v1 signature`);
    }
    return { id, timestamp, signatures };
  },
  prefix: (id, timestamp) => `${id}.${timestamp}.`,
  headers: ({ id, timestamp, signatures }) => ({
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatures.map((signature) => `v1,${signature}`).join(' '),
  }),
};
