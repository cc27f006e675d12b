import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { createWebhookSigner, createWebhookVerifier } from '../../src/webhooks/index';

const body = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_1', amount: 4200, note: 'naïve ☃' } });
const standardSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const stripeSecret = 'whsec_stripe_test_9f8e7d6c';
const githubSecret = "It's a Secret to Everybody";
const stripe = new Stripe('sk_test_not_used');

describe('standardwebhooks package', () => {
  it('its signatures verify with patchbay', () => {
    const peer = new Webhook(standardSecret);
    const timestamp = new Date();
    const headers = {
      'webhook-id': 'msg_interop_1',
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': peer.sign('msg_interop_1', timestamp, body),
    };
    const event = createWebhookVerifier({ scheme: 'standard', secret: standardSecret }).verify(body, headers);
    expect(event.payload).toEqual(JSON.parse(body));
  });

  it('verifies deliveries with the svix-* headers Svix sends, never a mix of the two sets', () => {
    const peer = new Webhook(standardSecret);
    const timestamp = new Date();
    const seconds = String(Math.floor(timestamp.getTime() / 1000));
    const headers = {
      'svix-id': 'msg_svix_1',
      'svix-timestamp': seconds,
      'svix-signature': peer.sign('msg_svix_1', timestamp, body),
    };
    const verifier = createWebhookVerifier({ scheme: 'standard', secret: standardSecret });
    expect(verifier.verify(body, headers)).toMatchObject({ id: 'msg_svix_1', payload: JSON.parse(body) });
    // a webhook-id beside svix-* headers selects the webhook-* set, whose other two are missing
    expect(() => verifier.verify(body, { ...headers, 'webhook-id': 'msg_svix_1' })).toThrow(
      expect.objectContaining({ code: 'ERR_WEBHOOK_HEADERS' }),
    );
  });

  it("patchbay's signatures verify with it, including a rotated pair", () => {
    const other = 'whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=';
    const headers = createWebhookSigner({ scheme: 'standard', secret: [other, standardSecret] }).sign({ body });
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(new Webhook(standardSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(other).verify(body, headers)).toEqual(JSON.parse(body));
  });
});

describe('stripe package', () => {
  it('generateTestHeaderString output verifies with patchbay', () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: stripeSecret });
    const event = createWebhookVerifier({ scheme: 'stripe', secret: stripeSecret }).verify(body, {
      'stripe-signature': header,
    });
    expect(event.payload).toEqual(JSON.parse(body));
    expect(event.timestamp).toBeInstanceOf(Date);
  });

  it("patchbay's signatures pass stripe.webhooks.constructEvent", () => {
    const headers = createWebhookSigner({ scheme: 'stripe', secret: stripeSecret }).sign({ body });
    const event = stripe.webhooks.constructEvent(body, headers['stripe-signature'] ?? '', stripeSecret);
    expect(event).toEqual(JSON.parse(body));
  });
});

describe('@octokit/webhooks-methods package', () => {
  it('its signatures verify with patchbay', async () => {
    const signature = await octokitSign(githubSecret, body);
    const event = createWebhookVerifier({ scheme: 'github', secret: githubSecret }).verify(body, {
      'x-hub-signature-256': signature,
    });
    expect(event.rawBody).toBe(body);
  });

  it("patchbay's signatures verify with it", async () => {
    const headers = createWebhookSigner({ scheme: 'github', secret: githubSecret }).sign({ body });
    expect(await octokitVerify(githubSecret, body, headers['x-hub-signature-256'] ?? '')).toBe(true);
  });
});
