// Cold start vs pre-warmed start of an HTTP service with a slow dependency, and the
// orchestrator's own cost per task. There is no common peer library for warm-up orchestration,
// so the baseline for overhead is a naive Promise.all (or for-await chain) of the same tasks.
import { once } from 'node:events';
import { Agent, createServer, get, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { cpus } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { createPrewarmer, warmCache, warmHttp } from 'patchbay/prewarm';

const HANDSHAKE_MS = 50; // what a new connection to the dependency costs (TLS, auth, pool setup)
const QUERY_MS = 5; // what one request to the dependency costs
const HOT_KEYS = 20;
const REQUESTS = 100;
const CLIENT_CONCURRENCY = 10;
const POOL = 16;
const ROUNDS = 5;

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function fetchText(url: string, agent?: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, agent === undefined ? {} : { agent }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(body));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/**
 * The dependency: each new connection is accepted paused and handed to the HTTP server only
 * after HANDSHAKE_MS, as a TLS handshake or connection-level auth would delay it.
 */
async function startDependency(): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const http = createServer(async (req, res) => {
    await delay(QUERY_MS);
    res.end(`value:${req.url}`);
  });
  http.keepAliveTimeout = 60_000;
  const tcp = createTcpServer({ pauseOnConnect: true }, (socket) => {
    setTimeout(() => {
      http.emit('connection', socket);
      socket.resume();
    }, HANDSHAKE_MS);
  });
  tcp.listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  return {
    url: `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`,
    server: http,
    close: async () => {
      http.closeAllConnections();
      await new Promise((resolve) => tcp.close(resolve));
    },
  };
}

/** The service: answers /item/<k> from its cache, filling it from the dependency on a miss. */
async function startService(
  dependency: string,
  agent: Agent,
  cache: Map<string, string>,
): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const key = req.url ?? '/';
    let value = cache.get(key);
    if (value === undefined) {
      value = await fetchText(`${dependency}${key}`, agent);
      cache.set(key, value);
    }
    res.end(value);
  });
  return { url: await listen(server), server };
}

interface Latencies {
  first: number;
  p50: number;
  p99: number;
  total: number;
}

async function firstRequests(warm: boolean): Promise<Latencies> {
  const dependency = await startDependency();
  const agent = new Agent({ keepAlive: true, maxSockets: POOL });
  const cache = new Map<string, string>();
  const service = await startService(dependency.url, agent, cache);
  const keys = Array.from({ length: HOT_KEYS }, (_, i) => `/item/${i}`);
  if (warm) {
    const report = await createPrewarmer({ deadlineMs: 10_000 })
      .add({ name: 'dependency-pool', run: warmHttp([`${dependency.url}/healthz`], { agent, connections: POOL }) })
      .add({
        name: 'hot-keys',
        dependsOn: ['dependency-pool'],
        run: warmCache({
          keys,
          load: (key) => fetchText(`${dependency.url}${key}`, agent),
          store: cache,
          concurrency: POOL,
        }),
      })
      .run();
    if (!report.ready) throw new Error(`warm-up failed: ${JSON.stringify(report.tasks)}`);
  }
  const client = new Agent({ keepAlive: true, maxSockets: CLIENT_CONCURRENCY });
  const latencies: number[] = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENT_CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const key = keys[next++ % HOT_KEYS] as string;
        const sent = performance.now();
        await fetchText(`${service.url}${key}`, client);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const total = performance.now() - started;
  const first = latencies[0] ?? 0;
  latencies.sort((a, b) => a - b);
  client.destroy();
  agent.destroy();
  service.server.closeAllConnections();
  await Promise.all([new Promise((r) => service.server.close(r)), dependency.close()]);
  return {
    first,
    p50: latencies[Math.floor(latencies.length * 0.5)] ?? 0,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    total,
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

const noop = async (): Promise<void> => {};

/** Per-task cost in µs of running `tasks` no-op tasks through the prewarmer vs a baseline. */
async function overhead(
  shape: 'flat' | 'chain',
  tasks: number,
  iterations: number,
): Promise<{ patchbay: number; baseline: number }> {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    // Alternate which goes first, so GC and JIT noise hit both.
    const order = i % 2 === 0 ? ['patchbay', 'baseline'] : ['baseline', 'patchbay'];
    for (const which of order) {
      const started = performance.now();
      if (which === 'patchbay') {
        const prewarmer = createPrewarmer({ concurrency: tasks });
        for (let t = 0; t < tasks; t++) {
          prewarmer.add({
            name: `t${t}`,
            run: noop,
            ...(shape === 'chain' && t > 0 ? { dependsOn: [`t${t - 1}`] } : {}),
          });
        }
        const report = await prewarmer.run();
        if (!report.ready) throw new Error('no-op run failed');
        ours.push(((performance.now() - started) * 1_000) / tasks);
      } else {
        const fns = Array.from({ length: tasks }, () => noop);
        if (shape === 'flat') await Promise.all(fns.map((fn) => fn()));
        else for (const fn of fns) await fn();
        theirs.push(((performance.now() - started) * 1_000) / tasks);
      }
    }
  }
  return { patchbay: median(ours), baseline: median(theirs) };
}

const fmt = (n: number, digits = 1): string => n.toFixed(digits);

const cold: Latencies[] = [];
const warm: Latencies[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Alternate cold and warm so that machine noise hits both.
  if (round % 2 === 0) {
    cold.push(await firstRequests(false));
    warm.push(await firstRequests(true));
  } else {
    warm.push(await firstRequests(true));
    cold.push(await firstRequests(false));
  }
}
const pick = (rows: Latencies[], key: keyof Latencies): number => median(rows.map((row) => row[key]));

const flat = await overhead('flat', 1_000, 30);
const chain = await overhead('chain', 1_000, 30);

const cpu = cpus();
const lines = [
  `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores; Node ${process.version}`,
  '',
  `First ${REQUESTS} requests (${CLIENT_CONCURRENCY} at a time) to a service whose dependency costs ${HANDSHAKE_MS} ms per new connection and ${QUERY_MS} ms per query; ${HOT_KEYS} hot keys; median of ${ROUNDS} rounds, ms`,
  '',
  '| start | first response | p50 | p99 | all 100 | ratio (all 100, warm / cold) |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  `| cold | ${fmt(pick(cold, 'first'))} | ${fmt(pick(cold, 'p50'))} | ${fmt(pick(cold, 'p99'))} | ${fmt(pick(cold, 'total'))} | 1.00 |`,
  `| pre-warmed (warmHttp ${POOL} connections + warmCache) | ${fmt(pick(warm, 'first'))} | ${fmt(pick(warm, 'p50'))} | ${fmt(pick(warm, 'p99'))} | ${fmt(pick(warm, 'total'))} | ${fmt(pick(warm, 'total') / pick(cold, 'total'), 2)} |`,
  '',
  'Orchestration overhead for 1,000 no-op tasks, µs per task (median of 30 runs)',
  '',
  '| shape | patchbay createPrewarmer | baseline | ratio patchbay / baseline |',
  '| --- | ---: | ---: | ---: |',
  `| 1,000 independent tasks (baseline: Promise.all) | ${fmt(flat.patchbay, 2)} | ${fmt(flat.baseline, 2)} | ${fmt(flat.patchbay / flat.baseline)} |`,
  `| 1,000-task dependency chain (baseline: for-await loop) | ${fmt(chain.patchbay, 2)} | ${fmt(chain.baseline, 2)} | ${fmt(chain.patchbay / chain.baseline)} |`,
];
process.stdout.write(`${lines.join('\n')}\n`);
