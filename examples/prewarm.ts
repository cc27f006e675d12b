// Warm a service up before it takes traffic: resolve DNS, open a pool of keep-alive connections
// to an upstream, load the hot cache keys, and only then answer /readyz with 200.
// Runs on its own: `npm run build && node examples/prewarm.ts`.
import { once } from 'node:events';
import { Agent, createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPrewarmer, type PrewarmEvent, readinessHandler, warmCache, warmDns, warmHttp } from 'patchbay/prewarm';

// A stand-in upstream: the catalogue service our service calls for every product.
const upstream = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ id: req.url?.slice('/products/'.length), price: 42 }));
});
upstream.listen(0, '127.0.0.1');
await once(upstream, 'listening');
const catalogue = `http://localhost:${(upstream.address() as AddressInfo).port}`;

// The agent the service's own requests go through: warming any other pool would not help them.
const agent = new Agent({ keepAlive: true, maxSockets: 32 });
const products = new Map<string, unknown>();

// Loads go through the same agent, so they ride on the connections warmed just before.
function loadProduct(id: string, signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get(`${catalogue}/products/${id}`, { agent, signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
    }).on('error', reject);
  });
}

const log = (event: PrewarmEvent): void => {
  if (event.type === 'task-end') {
    console.log(
      `  ${event.task.name.padEnd(16)} ${event.task.status.padEnd(9)} ${Math.round(event.task.durationMs)} ms`,
    );
  }
};

const prewarmer = createPrewarmer({ deadlineMs: 10_000, concurrency: 4, onEvent: log })
  .add({ name: 'dns', run: warmDns(['localhost']), retries: 2 })
  .add({
    name: 'catalogue',
    dependsOn: ['dns'],
    run: warmHttp([`${catalogue}/healthz`], { agent, connections: 8 }),
    timeoutMs: 2_000,
    retries: 2,
  })
  .add({
    name: 'hot-products',
    dependsOn: ['catalogue'],
    run: warmCache({
      keys: Array.from({ length: 200 }, (_, i) => `p${i}`),
      load: loadProduct,
      store: products,
      concurrency: 16,
    }),
  })
  // Optional: if the recommendations service is down we serve anyway, degraded.
  .add({
    name: 'recommendations',
    required: false,
    timeoutMs: 200,
    run: warmHttp(['http://127.0.0.1:9/'], { connections: 1 }),
  });

// The service answers /readyz from the prewarmer, from the moment it starts listening.
const service = createServer(readinessHandler(prewarmer));
service.listen(0, '127.0.0.1');
await once(service, 'listening');
const readyz = `http://127.0.0.1:${(service.address() as AddressInfo).port}/readyz`;

console.log(`before warm-up: /readyz -> ${(await fetch(readyz)).status}`);
console.log('warming up:');
const report = await prewarmer.run();
console.log(`ready: ${report.ready}, degraded: ${report.degraded}, ${products.size} products cached`);
console.log(`after warm-up:  /readyz -> ${(await fetch(readyz)).status}`);

// Upstreams close idle connections (Node's default keep-alive timeout is 5 s): re-open them
// before that happens. Here one round is enough to show it; a service would stop on shutdown.
const keepWarm = prewarmer.keepWarm({ intervalMs: 100, tasks: ['catalogue'] });
await new Promise((resolve) => setTimeout(resolve, 150));
await keepWarm.stop();

agent.destroy();
service.close();
upstream.close();
upstream.closeAllConnections();
if (!report.ready) process.exitCode = 1;
