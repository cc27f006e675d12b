// patchbay/grpc: unary calls per second over loopback, a bare client and server beside the full
// recommended client and server chains (docs/grpc.md), in one process, the two alternating
// round by round so machine noise hits both. Prints a Markdown table with the ratio.
// Run: npm run bench -- grpc
import { cpus } from 'node:os';
import {
  type CallOptions,
  type Client,
  credentials,
  InterceptingCall,
  type InterceptingListener,
  type Interceptor,
  loadPackageDefinition,
  Metadata,
  type NextCall,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServiceClientConstructor,
  type ServiceError,
  type StatusObject,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import {
  authInterceptor,
  bearerToken,
  deadlineInterceptor,
  type GrpcLogger,
  identityOf,
  loggingInterceptor,
  metricsInterceptor,
  recoverHandlers,
  retryInterceptor,
  serverAuthInterceptor,
  serverDeadlineInterceptor,
  serverLoggingInterceptor,
  serverRateLimitInterceptor,
  serverRecoveryInterceptor,
} from 'patchbay/grpc';
import { tokenBucket } from 'patchbay/ratelimit';

const ROUNDS = 20;
const SLICE_MS = 500;
// Each round builds every setup afresh: a server and client pair carries a bias of its own (two
// identical bare pairs differed by 4% over 30 rounds), which fresh pairs turn into noise the
// median cancels. The warm-up connects the pair and lets the JIT see it.
const WARM_MS = 100;
const IN_FLIGHT = 32;

// The test suite's service: LabRequest { string text; int32 count }, LabReply { string text; int32 index }.
const definition = loadSync(new URL('../test/grpc/fixtures/lab.proto', import.meta.url).pathname, { keepCase: true });
const Lab = (loadPackageDefinition(definition).patchbay as Record<string, Record<string, unknown>>).test
  ?.Lab as ServiceClientConstructor;

type Reply = { text: string; index: number };
interface LabClient extends Client {
  Unary(
    request: { text: string },
    metadata: Metadata,
    options: CallOptions,
    callback: (error: ServiceError | null, reply?: Reply) => void,
  ): unknown;
}

// A logger that keeps nothing: what is measured is the interceptors' work, not a log sink's.
const discard = (): void => {};
const logger: GrpcLogger = { info: discard, warn: discard, error: discard };

// As docs/grpc.md recommends, health checks included: they skip deadline, auth and rate limit.
const isHealth = (method: string): boolean => method.startsWith('/grpc.health.v1.');
const serverChain: ServerInterceptor[] = [
  serverLoggingInterceptor({ logger }),
  serverRecoveryInterceptor({ onError: discard }),
  serverDeadlineInterceptor({ maxMs: 30_000, skip: isHealth }),
  serverAuthInterceptor({
    verify: (metadata) => (bearerToken(metadata) === 'bench-token' ? 'bench' : undefined),
    skip: isHealth,
  }),
  serverRateLimitInterceptor({
    limiter: tokenBucket({ capacity: 1e12, refillPerSecond: 1e12 }),
    key: (call, method) => `${identityOf<string>(call) ?? call.getPeer()}:${method}`,
    skip: isHealth,
  }),
];
const clientChain: Interceptor[] = [
  loggingInterceptor({ logger }),
  metricsInterceptor({ onCall: discard }),
  deadlineInterceptor({ defaultMs: 5_000 }),
  retryInterceptor(),
  authInterceptor({ token: async () => 'bench-token' }),
];

// The floor: as many interceptors that do nothing, i.e. what grpc-js's own layers cost.
const noopClientChain: Interceptor[] = clientChain.map(
  () => (options, nextCall) => new InterceptingCall(nextCall(options)),
);
const noopServerChain: ServerInterceptor[] = serverChain.map(() => (_method, call) => new ServerInterceptingCall(call));

const implementation = {
  Unary: (call: { request: { text: string } }, callback: (error: null, reply: Reply) => void) =>
    callback(null, { text: call.request.text, index: 1 }),
};

// The floor of this design: do-nothing layers built the way patchbay builds its own (one object
// per call, its own listener), carrying only what every call of the full chains carries: a
// deadline and an authorization header. The full chains' cost beyond this row is their work.
type ClientCall = ReturnType<NextCall>;
type ServerListener = Parameters<ServerInterceptingCallInterface['start']>[0];

class PassThroughCall implements ClientCall, InterceptingListener {
  private readonly next: ClientCall;
  private readonly authorization: string | undefined;
  private listener: Partial<InterceptingListener> | undefined;
  constructor(next: ClientCall, authorization?: string) {
    this.next = next;
    this.authorization = authorization;
  }
  start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    if (this.authorization) metadata.set('authorization', this.authorization);
    this.listener = listener;
    this.next.start(metadata, this);
  }
  onReceiveMetadata(metadata: Metadata): void {
    this.listener?.onReceiveMetadata?.(metadata);
  }
  onReceiveMessage(message: unknown): void {
    this.listener?.onReceiveMessage?.(message);
  }
  onReceiveStatus(status: StatusObject): void {
    this.listener?.onReceiveStatus?.(status);
  }
  sendMessageWithContext(context: Parameters<ClientCall['sendMessageWithContext']>[0], message: unknown): void {
    this.next.sendMessageWithContext(context, message);
  }
  sendMessage(message: unknown): void {
    this.next.sendMessage(message);
  }
  startRead(): void {
    this.next.startRead();
  }
  halfClose(): void {
    this.next.halfClose();
  }
  cancelWithStatus(code: StatusObject['code'], details: string): void {
    this.next.cancelWithStatus(code, details);
  }
  getPeer(): string {
    return this.next.getPeer();
  }
  getAuthContext(): ReturnType<ClientCall['getAuthContext']> {
    return this.next.getAuthContext();
  }
}

class PassThroughServerCall implements ServerInterceptingCallInterface, ServerListener {
  private readonly next: ServerInterceptingCallInterface;
  private listener: ServerListener | undefined;
  constructor(next: ServerInterceptingCallInterface) {
    this.next = next;
  }
  start(listener: ServerListener): void {
    this.listener = listener;
    this.next.start(this);
  }
  onReceiveMetadata(metadata: Metadata): void {
    this.listener?.onReceiveMetadata(metadata);
  }
  onReceiveMessage(message: unknown): void {
    this.listener?.onReceiveMessage(message);
  }
  onReceiveHalfClose(): void {
    this.listener?.onReceiveHalfClose();
  }
  onCancel(): void {
    this.listener?.onCancel();
  }
  sendMetadata(metadata: Metadata): void {
    this.next.sendMetadata(metadata);
  }
  sendMessage(message: unknown, callback: () => void): void {
    this.next.sendMessage(message, callback);
  }
  sendStatus(status: Parameters<ServerInterceptingCallInterface['sendStatus']>[0]): void {
    this.next.sendStatus(status);
  }
  startRead(): void {
    this.next.startRead();
  }
  getPeer(): string {
    return this.next.getPeer();
  }
  getDeadline(): ReturnType<ServerInterceptingCallInterface['getDeadline']> {
    return this.next.getDeadline();
  }
  getHost(): string {
    return this.next.getHost();
  }
  getAuthContext(): ReturnType<ServerInterceptingCallInterface['getAuthContext']> {
    return this.next.getAuthContext();
  }
  getConnectionInfo(): ReturnType<ServerInterceptingCallInterface['getConnectionInfo']> {
    return this.next.getConnectionInfo();
  }
  getMetricsRecorder(): ReturnType<ServerInterceptingCallInterface['getMetricsRecorder']> {
    return this.next.getMetricsRecorder();
  }
}

const floorClientChain: Interceptor[] = [
  ...Array.from(
    { length: 4 },
    (): Interceptor => (options, nextCall) => new PassThroughCall(nextCall(options)) as unknown as InterceptingCall,
  ),
  (options, nextCall) =>
    new PassThroughCall(
      nextCall({ ...options, deadline: Date.now() + 5_000 }),
      'Bearer bench-token',
    ) as unknown as InterceptingCall,
];
const floorServerChain: ServerInterceptor[] = Array.from(
  { length: 5 },
  (): ServerInterceptor => (_method, call) => new PassThroughServerCall(call) as unknown as ServerInterceptingCall,
);

async function serve(
  interceptors: ServerInterceptor[],
  handlers: UntypedServiceImplementation = implementation,
): Promise<{ address: string; server: Server }> {
  const server = new Server({ interceptors });
  server.addService(Lab.service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { address: `127.0.0.1:${port}`, server };
}

const noOptions: CallOptions = {};

function call(client: LabClient, deadlineMs: number | undefined): Promise<void> {
  const options = deadlineMs === undefined ? noOptions : { deadline: Date.now() + deadlineMs };
  return new Promise((resolve, reject) =>
    client.Unary({ text: 'hello, patchbay' }, new Metadata(), options, (error) => (error ? reject(error) : resolve())),
  );
}

interface Sample {
  /** Calls per second of wall time. */
  wall: number;
  /** Calls per second of this process's CPU time: what the machine's other load disturbs least. */
  cpu: number;
}

/** Unary calls per second with IN_FLIGHT concurrent loops, for `ms`. */
async function throughput(client: LabClient, deadlineMs: number | undefined, ms: number): Promise<Sample> {
  let count = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const deadline = started + ms;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < deadline) {
        await call(client, deadlineMs);
        count++;
      }
    }),
  );
  const { user, system } = process.cpuUsage(cpuBefore);
  return { wall: count / ((performance.now() - started) / 1000), cpu: count / ((user + system) / 1e6) };
}

type Setup = 'bare' | 'deadline' | 'noop' | 'floor' | 'full';
const rigs: Record<Setup, { server: ServerInterceptor[]; client: Interceptor[]; full?: true; deadlineMs?: number }> = {
  bare: { server: [], client: [] },
  deadline: { server: [], client: [], deadlineMs: 5_000 },
  noop: { server: noopServerChain, client: noopClientChain },
  floor: { server: floorServerChain, client: floorClientChain },
  full: { server: serverChain, client: clientChain, full: true },
};

/** A fresh server and client for `setup`, warmed up, measured for `ms`, then closed. */
async function run(setup: Setup, ms = SLICE_MS): Promise<Sample> {
  const rig = rigs[setup];
  const { address, server } = await serve(rig.server, rig.full ? recoverHandlers(implementation) : implementation);
  const client = new Lab(address, credentials.createInsecure(), { interceptors: rig.client }) as unknown as LabClient;
  try {
    await throughput(client, rig.deadlineMs, WARM_MS);
    return await throughput(client, rig.deadlineMs, ms);
  } finally {
    client.close();
    server.forceShutdown();
  }
}

const samples: Record<Setup, Sample[]> = { bare: [], deadline: [], noop: [], floor: [], full: [] };
const setups = Object.keys(rigs) as Setup[];
for (const setup of setups) await run(setup, 1_000); // warm-up: JIT
for (let round = 0; round < ROUNDS; round++) {
  // Rotate which goes first, so none always runs on a freshly collected heap.
  for (let i = 0; i < setups.length; i++) {
    const setup = setups[(round + i) % setups.length] as Setup;
    samples[setup].push(await run(setup));
  }
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;
const rates = (name: Setup) => ({
  wall: median(samples[name].map((s) => s.wall)),
  cpu: median(samples[name].map((s) => s.cpu)),
});
const bareRate = rates('bare');
const fullRate = rates('full');
const deadlineRate = rates('deadline');
const noopRate = rates('noop');
const floorRate = rates('floor');
const format = (n: number): string => Math.round(n).toLocaleString('en-US');
// Each round ran every setup back to back: the ratio within a round cancels most of what the
// machine's other load did to that round, so its median moves less between runs.
const paired = (setup: Setup, base: Setup, kind: keyof Sample): string =>
  median(samples[setup].map((sample, round) => sample[kind] / samples[base][round]![kind])).toFixed(2);
const pairedRow = (label: string, setup: Setup, base: Setup): string =>
  `| ${label} | ${paired(setup, base, 'wall')} | ${paired(setup, base, 'cpu')} |`;

const cpu = cpus();
process.stdout.write(`Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores; Node ${process.version}

Unary calls over loopback, ${IN_FLIGHT} in flight, client and server in one process; median of ${ROUNDS} rounds (the setups rotating within each) of ${SLICE_MS} ms, each setup on a fresh server and client every round.
"per CPU-second" divides by the process's CPU time instead of wall time, which other load on the machine disturbs less.

| setup | calls/s | calls per CPU-second | ratio calls/s (÷ bare) | ratio per CPU-second (÷ bare) |
| --- | ---: | ---: | ---: | ---: |
| bare client and server | ${format(bareRate.wall)} | ${format(bareRate.cpu)} | 1.00 | 1.00 |
| bare, the caller setting a deadline (no interceptors) | ${format(deadlineRate.wall)} | ${format(deadlineRate.cpu)} | ${(deadlineRate.wall / bareRate.wall).toFixed(2)} | ${(deadlineRate.cpu / bareRate.cpu).toFixed(2)} |
| ten interceptors that do nothing (5 client, 5 server): grpc-js's own cost per layer | ${format(noopRate.wall)} | ${format(noopRate.cpu)} | ${(noopRate.wall / bareRate.wall).toFixed(2)} | ${(noopRate.cpu / bareRate.cpu).toFixed(2)} |
| ten do-nothing layers built as patchbay's are (one object per call), with a deadline and an authorization header: the floor of this design | ${format(floorRate.wall)} | ${format(floorRate.cpu)} | ${(floorRate.wall / bareRate.wall).toFixed(2)} | ${(floorRate.cpu / bareRate.cpu).toFixed(2)} |
| full recommended chains | ${format(fullRate.wall)} | ${format(fullRate.cpu)} | ${(fullRate.wall / bareRate.wall).toFixed(2)} | ${(fullRate.cpu / bareRate.cpu).toFixed(2)} |

Medians of the ${ROUNDS} per-round ratios:

| ratio | calls/s | per CPU-second |
| --- | ---: | ---: |
${pairedRow("full chains ÷ bare (the issue's measure)", 'full', 'bare')}
${pairedRow('bare with a deadline ÷ bare: what grpc-js charges for a deadline', 'deadline', 'bare')}
${pairedRow('floor ÷ bare', 'floor', 'bare')}
${pairedRow('full chains ÷ bare with a deadline', 'full', 'deadline')}
${pairedRow("full chains ÷ floor: the interceptors' work", 'full', 'floor')}

The floor row keeps what every call of the full chains must carry (ten layers, a deadline on both sides, an authorization header) and drops the interceptors' work: the full chains cannot be cheaper than it.
Full chains, as docs/grpc.md recommends them: client logging, metrics (sizes on), deadline, retry, auth (cached token); server logging, recovery (and recoverHandlers), deadline (maxMs), auth (sync verify), rate limit (memory token bucket, keyed by identity and method), the last three skipping health checks.
`);
