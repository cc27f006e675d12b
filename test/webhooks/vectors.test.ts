import { describe, expect, it } from 'vitest';
import { createWebhookSigner, createWebhookVerifier } from '../../src/webhooks/index';

const standard = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const github = {
  secret: "It's a Secret to Everybody",
  body: 'Hello, World!',
  signature: 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
};
const at = (seconds: number) => ({ now: () => seconds * 1000 });

describe('known vectors', () => {
  it('signs the Standard Webhooks vector byte-exact', () => {
    const signer = createWebhookSigner({ scheme: 'standard', secret: standard.secret });
    expect(signer.sign({ id: standard.id, timestamp: standard.timestamp, body: standard.body })).toEqual({
      'webhook-id': standard.id,
      'webhook-timestamp': String(standard.timestamp),
      'webhook-signature': standard.signature,
    });
  });

  it('verifies the Standard Webhooks vector, from a string and from bytes', () => {
    const verifier = createWebhookVerifier({
      scheme: 'standard',
      secret: standard.secret,
      clock: at(standard.timestamp),
    });
    const headers = {
      'webhook-id': standard.id,
      'webhook-timestamp': String(standard.timestamp),
      'webhook-signature': standard.signature,
    };
    for (const body of [standard.body, new TextEncoder().encode(standard.body)]) {
      const event = verifier.verify(body, headers);
      expect(event.id).toBe(standard.id);
      expect(event.timestamp?.getTime()).toBe(standard.timestamp * 1000);
      expect(event.payload).toEqual({ test: 2432232314 });
      expect(event.rawBody).toBe(standard.body);
    }
  });

  it('accepts the standard secret without its whsec_ prefix', () => {
    const signer = createWebhookSigner({ scheme: 'standard', secret: standard.secret.slice('whsec_'.length) });
    expect(signer.sign(standard)['webhook-signature']).toBe(standard.signature);
  });

  it('signs and verifies the GitHub vector byte-exact', () => {
    const signer = createWebhookSigner({ scheme: 'github', secret: github.secret });
    expect(signer.sign({ body: github.body })['x-hub-signature-256']).toBe(github.signature);
    const verifier = createWebhookVerifier({ scheme: 'github', secret: github.secret });
    const event = verifier.verify(github.body, { 'X-Hub-Signature-256': github.signature, 'X-GitHub-Delivery': 'd-1' });
    expect(event.id).toBe('d-1');
    expect(event.timestamp).toBeUndefined();
    expect(event.rawBody).toBe(github.body);
  });

  it('signs Stripe as t=<seconds>,v1=<hex HMAC of "t.body"> keyed with the UTF-8 secret', () => {
    const signer = createWebhookSigner({ scheme: 'stripe', secret: 'whsec_test_secret' });
    const headers = signer.sign({ timestamp: 1700000000, body: '{"id":"evt_1"}' });
    // computed independently: printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test_secret
    expect(headers['stripe-signature']).toBe(
      't=1700000000,v1=248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a',
    );
    const verifier = createWebhookVerifier({ scheme: 'stripe', secret: 'whsec_test_secret', clock: at(1700000000) });
    expect(verifier.verify('{"id":"evt_1"}', headers).payload).toEqual({ id: 'evt_1' });
  });
});
