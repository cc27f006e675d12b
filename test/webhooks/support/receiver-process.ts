// A webhook receiver run as its own process by the exactly-once tests. Configured by environment:
// REDIS_URL, PREFIX (Redis key prefix), SECRET, LOCK_TTL_MS, HANG ('1': handle never finishes).
// It counts each run of `handle` in Redis under `${PREFIX}runs:<event id>` and prints
// `listening <port>` when ready and `processing <id>` once a run is counted.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { createWebhookVerifier, redisIdempotencyStore, webhookHandler } from '../../../src/webhooks/index';

const { REDIS_URL = '', PREFIX = '', SECRET = '', LOCK_TTL_MS = '60000', HANG = '' } = process.env;
const redis = new Redis(REDIS_URL);
const store = redisIdempotencyStore(redis, { prefix: PREFIX, lockTtlMs: Number(LOCK_TTL_MS), resultTtlMs: 600_000 });

// counters expire like everything else this suite writes to the shared Redis
const count = async (key: string): Promise<number> => {
  const [[, runs]] = (await redis.multi().incr(key).pexpire(key, 600_000).exec()) as [[unknown, number]];
  return runs;
};

const server = createServer(
  webhookHandler({
    verifier: createWebhookVerifier({ scheme: 'standard', secret: SECRET }),
    store,
    handle: async (event) => {
      const runs = await count(`${PREFIX}runs:${event.id}`);
      process.stdout.write(`processing ${event.id}\n`);
      if (HANG === '1') await new Promise(() => {});
      const { behaviour } = event.payload as { behaviour?: string };
      if (behaviour === 'slow') await new Promise((resolve) => setTimeout(resolve, 300));
      if (behaviour === 'fail-first' && runs === 1) throw new Error('first run fails');
      await count(`${PREFIX}done:${event.id}`);
    },
  }),
);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  redis.disconnect();
});
