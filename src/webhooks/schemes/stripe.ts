import { WebhookVerificationError } from '../errors';
import { requireHeader } from '../headers';
import { decodeDigest, type SchemeDefinition } from './scheme';

/**
 * Stripe (https://docs.stripe.com/webhooks#verify-manually): `Stripe-Signature:
 * t=<seconds>,v1=<hex>[,v1=<hex>...]`, the HMAC-SHA256 of `${t}.${body}` keyed with the secret
 * string's UTF-8 bytes. Entries of other schemes (`v0`) are ignored, as Stripe's own library does.
 */
export const stripeScheme: SchemeDefinition = {
  name: 'stripe',
  encoding: 'hex',
  secretKey: (secret) => Buffer.from(secret, 'utf8'),
  read(headers) {
    const header = requireHeader(headers, 'stripe-signature', ',');
    let timestamp: string | undefined;
    const signatures: Buffer[] = [];
    let versioned = 0;
    for (const item of header.split(',')) {
      const entry = item.trim();
      if (entry.startsWith('t=')) {
        const value = entry.slice(2);
        if (timestamp !== undefined && timestamp !== value) {
          throw new WebhookVerificationError(
            'ERR_WEBHOOK_HEADERS',
            'header stripe-signature holds more than one timestamp',
          );
        }
        timestamp = value;
      } else if (entry.startsWith('v1=')) {
        versioned++;
        const digest = decodeDigest(entry.slice(3), 'hex');
        if (digest) signatures.push(digest);
      }
    }
    if (timestamp === undefined) {
      throw new WebhookVerificationError('ERR_WEBHOOK_HEADERS', 'header stripe-signature holds no timestamp (t=)');
    }
    if (versioned === 0) {
      throw new WebhookVerificationError('ERR_WEBHOOK_HEADERS', 'header stripe-signature holds no v1 signature');
    }
    return { id: undefined, timestamp, signatures };
  },
  prefix: (_id, timestamp) => `${timestamp}.`,
  headers: ({ timestamp, signatures }) => ({
    'stripe-signature': [`t=${timestamp}`, ...signatures.map((signature) => `v1=${signature}`)].join(','),
  }),
};
