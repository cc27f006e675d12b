// A webhook sender and a receiver on localhost. The sender signs and delivers an event; the
// receiver verifies it and processes it once; a redelivery of the same event is recognised as a
// duplicate; a forged delivery is refused. Run: node examples/webhooks.ts
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createWebhookSender,
  createWebhookVerifier,
  memoryIdempotencyStore,
  type VerifiedWebhook,
  webhookHandler,
} from 'patchbay/webhooks';

const secret = `whsec_${randomBytes(24).toString('base64')}`;

// Receiver: verify, deduplicate, process. With several instances, use redisIdempotencyStore.
const processed: VerifiedWebhook[] = [];
const server = createServer(
  webhookHandler({
    verifier: createWebhookVerifier({ scheme: 'standard', secret }),
    store: memoryIdempotencyStore(),
    handle: async (event) => {
      processed.push(event);
      console.log(`receiver: processing ${event.id}`, event.payload);
    },
  }),
);
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;

// Sender: signs every attempt, retries 5xx/429/network errors, reports each attempt.
const sender = createWebhookSender({
  scheme: 'standard',
  secret,
  retry: { retries: 2, minTimeout: 50 },
  onDeadLetter: (report) => console.log(`sender: giving up on ${report.id}: ${report.outcome}`),
});

const event = { id: 'msg_invoice_42', type: 'invoice.paid', payload: { invoice: 'in_42', amount: 4_200 } };
const first = await sender.send(url, event);
console.log(`sender: first delivery ${first.outcome} after ${first.attempts.length} attempt(s)`);

// The same event again, as a sender does when it never saw the first answer.
const again = await sender.send(url, event);
console.log(`sender: redelivery ${again.outcome}; the receiver processed the event ${processed.length} time(s)`);

// A forged delivery: right headers, wrong secret.
const forger = createWebhookSender({
  scheme: 'standard',
  secret: `whsec_${randomBytes(24).toString('base64')}`,
  retry: { retries: 0 },
});
const forged = await forger.send(url, { id: 'msg_forged', payload: { invoice: 'in_42', amount: 1 } });
console.log(`forger: ${forged.outcome} with HTTP ${forged.attempts[0]?.status}`);

server.closeAllConnections();
server.close();
if (processed.length !== 1 || !first.delivered || !again.delivered || forged.delivered) {
  console.error('unexpected outcome');
  process.exitCode = 1;
}
