// An HTTP API behind rateLimitMiddleware, hammered by two clients: each client may make 20
// requests per 10 s window; the rest get 429 with RateLimit and Retry-After headers.
// Run: npm run build && node examples/ratelimit.ts
// With Redis, pass `store: redisStore(new Redis(url))` to share the limit across processes.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rateLimitMiddleware, slidingWindow } from 'patchbay/ratelimit';

const limiter = slidingWindow({ limit: 20, windowMs: 10_000, name: 'api' });
const limit = rateLimitMiddleware(limiter, {
  key: (req) => String(req.headers['x-api-key'] ?? req.socket.remoteAddress),
});

const server = createServer((req, res) =>
  limit(req, res, () => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ hello: req.headers['x-api-key'] }));
  }),
);
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

for (const apiKey of ['alice', 'bob']) {
  const requests = apiKey === 'alice' ? 50 : 5;
  const responses = await Promise.all(
    Array.from({ length: requests }, () => fetch(url, { headers: { 'x-api-key': apiKey } })),
  );
  const limited = responses.filter((r) => r.status === 429);
  console.log(`${apiKey}: ${requests} requests, ${requests - limited.length} served, ${limited.length} got 429`);
  if (limited[0]) {
    console.log(`  RateLimit-Policy: ${limited[0].headers.get('ratelimit-policy')}`);
    console.log(`  RateLimit:        ${limited[0].headers.get('ratelimit')}`);
    console.log(`  Retry-After:      ${limited[0].headers.get('retry-after')} s`);
    console.log(`  body:             ${await limited[0].text()}`);
  }
  for (const response of responses) if (!response.bodyUsed) await response.arrayBuffer();
}

server.close();
