import { WebhookVerificationError } from '../errors';
import { readHeader, requireHeader } from '../headers';
import { decodeDigest, type SchemeDefinition } from './scheme';

const PREFIX = 'sha256=';
const FORM = /^\s*application\/x-www-form-urlencoded\s*(?:;|$)/i;

/**
 * GitHub (https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries):
 * `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the body alone keyed with the secret
 * string's UTF-8 bytes. There is no signed timestamp, so GitHub deliveries cannot be checked for
 * age, and `X-GitHub-Delivery` is not signed either: it is read as the event's id for information,
 * but the handler deduplicates on a digest of the body. A webhook left at GitHub's default content
 * type, `form`, is sent as `application/x-www-form-urlencoded` with the JSON in a `payload` field.
 */
export const githubScheme: SchemeDefinition = {
  name: 'github',
  encoding: 'hex',
  secretKey: (secret) => Buffer.from(secret, 'utf8'),
  read(headers) {
    const header = requireHeader(headers, 'x-hub-signature-256', ',');
    const signatures: Buffer[] = [];
    let versioned = 0;
    for (const item of header.split(',')) {
      const entry = item.trim();
      if (!entry.startsWith(PREFIX)) continue;
      versioned++;
      const digest = decodeDigest(entry.slice(PREFIX.length), 'hex');
      if (digest) signatures.push(digest);
    }
    if (versioned === 0) {
      throw new WebhookVerificationError(
        'ERR_WEBHOOK_HEADERS',
        'header x-hub-signature-256 holds no sha256= signature',
      );
    }
    const id = readHeader(headers, 'x-github-delivery');
    // GitHub's default content type: it signs the form as sent, so only reading the payload differs
    const form = FORM.test(readHeader(headers, 'content-type') ?? '');
    return { id: id === '' ? undefined : id, timestamp: undefined, signatures, form };
  },
  prefix: () => '',
  headers: ({ id, signatures }) => ({
    'x-hub-signature-256': `${PREFIX}${signatures[0]}`,
    'x-github-delivery': id,
  }),
};
