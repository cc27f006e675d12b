import { assertNumber } from '../../core/assert';
import { PatchbayError } from '../../core/errors';
import { decodeHealthResponse, encodeHealthRequest } from '../../core/grpc-health-codec';
import { withTimeout } from '../../core/timeout';
import { never, type Warmer } from './warmer';

/**
 * The part of a `@grpc/grpc-js` `Client` (any generated client) that {@link warmGrpc} uses,
 * declared structurally so `patchbay/prewarm` loads no gRPC code.
 *
 * @example
 * ```ts
 * import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
 * const client: GrpcReadyClient = new (makeGenericClientConstructor({}, 'Orders'))('orders:50051', credentials.createInsecure());
 * ```
 */
export interface GrpcReadyClient {
  /** The client's channel, whose connectivity state the warmer drives and watches. */
  getChannel(): GrpcChannelState;
  /** Makes a unary call on the client's channel; used for the health check. */
  makeUnaryRequest<Req, Res>(
    method: string,
    serialize: (value: Req) => Buffer,
    deserialize: (value: Buffer) => Res,
    argument: Req,
    options: { deadline?: Date | number },
    callback: (error: (Error & { code?: number }) | null, value?: Res) => void,
  ): {
    /** Cancels the call. */
    cancel(): void;
  };
}

/**
 * The connectivity part of a `@grpc/grpc-js` `Channel`. States are grpc-js's `ConnectivityState`
 * numbers: 0 IDLE, 1 CONNECTING, 2 READY, 3 TRANSIENT_FAILURE, 4 SHUTDOWN.
 *
 * @example
 * ```ts
 * const channel: GrpcChannelState = client.getChannel();
 * channel.getConnectivityState(true); // 0 (IDLE) until the first connection attempt
 * ```
 */
export interface GrpcChannelState {
  /** The current state; with `true`, an IDLE channel starts connecting. */
  getConnectivityState(tryToConnect: boolean): number;
  /** Calls back once the state is no longer `currentState`, or with an error at `deadline`. */
  watchConnectivityState(currentState: number, deadline: Date | number, callback: (error?: Error) => void): void;
}

/**
 * Options of {@link warmGrpc}.
 *
 * @example
 * ```ts
 * const options: WarmGrpcOptions = { deadlineMs: 5_000, healthService: 'orders.v1.Orders' };
 * ```
 */
export interface WarmGrpcOptions {
  /** How long the channel may take to connect, and the health check to answer, in ms. */
  deadlineMs: number;
  /**
   * The service to ask `grpc.health.v1.Health/Check` about; `''` (the default) asks about the
   * server as a whole; `false` skips the check. A server without the health service is fine.
   */
  healthService?: string | false;
}

/**
 * What {@link warmGrpc} found. `health` is the serving status the server reported, or
 * `unimplemented` when it has no health service, or `skipped`.
 *
 * @example
 * ```ts
 * const { health }: GrpcWarmResult = await warmGrpc(client, { deadlineMs: 2_000 })();
 * ```
 */
export interface GrpcWarmResult {
  health: 'SERVING' | 'unimplemented' | 'skipped';
  durationMs: number;
}

const healthCheck = '/grpc.health.v1.Health/Check';
const unimplemented = 12;
const servingStatus = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/**
 * Connects a gRPC client's channel (what `waitForReady` does) so the first call does not pay for DNS, TCP,
 * TLS and the HTTP/2 handshake, then asks the standard health service whether the server is
 * SERVING, when the server has one. Rejects with `ERR_PREWARM_GRPC` when the channel does not
 * become ready within `deadlineMs` or the server reports it is not serving. Throws
 * `ERR_PREWARM_OPTIONS` at once on bad input.
 *
 * @example
 * ```ts
 * const orders = new OrdersClient('orders.internal:50051', credentials.createSsl());
 * prewarmer.add({ name: 'orders-grpc', run: warmGrpc(orders, { deadlineMs: 5_000 }), retries: 2 });
 * ```
 */
export function warmGrpc(client: GrpcReadyClient, options: WarmGrpcOptions): Warmer<GrpcWarmResult> {
  if (typeof client?.getChannel !== 'function' || typeof client.makeUnaryRequest !== 'function') {
    throw new PatchbayError(
      'ERR_PREWARM_OPTIONS',
      'warmGrpc needs a @grpc/grpc-js client (getChannel, makeUnaryRequest)',
    );
  }
  const { deadlineMs, healthService = '' } = options ?? {};
  assertNumber(deadlineMs, 'warmGrpc deadlineMs', 'ERR_PREWARM_OPTIONS', { min: 0, exclusiveMin: true });
  if (healthService !== false && typeof healthService !== 'string') {
    throw new PatchbayError('ERR_PREWARM_OPTIONS', 'warmGrpc healthService must be a service name or false');
  }

  return (signal = never) =>
    withTimeout(
      async (inner) => {
        const started = performance.now();
        const deadline = Date.now() + deadlineMs;
        await waitForReady(client.getChannel(), deadline, deadlineMs, inner);
        const health = healthService === false ? 'skipped' : await checkHealth(client, healthService, deadline, inner);
        return { health, durationMs: performance.now() - started };
      },
      Number.POSITIVE_INFINITY,
      { signal },
    );
}

const READY = 2;
const SHUTDOWN = 4;
const stateNames = ['IDLE', 'CONNECTING', 'READY', 'TRANSIENT_FAILURE', 'SHUTDOWN'];
// grpc-js keeps a watcher's timer until its deadline, even after the client is closed; watching
// in short slices bounds what an aborted warm-up leaves behind to one slice.
const sliceMs = 100;

/** What `client.waitForReady` does, but stopping within one slice once `signal` aborts. */
async function waitForReady(
  channel: GrpcChannelState,
  deadline: number,
  deadlineMs: number,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    const state = channel.getConnectivityState(true);
    if (state === READY) return;
    const remaining = deadline - Date.now();
    if (state === SHUTDOWN || remaining <= 0 || signal.aborted) {
      const why =
        state === SHUTDOWN ? 'the client was closed' : `still ${stateNames[state] ?? state} after ${deadlineMs} ms`;
      throw new PatchbayError('ERR_PREWARM_GRPC', `gRPC channel not ready: ${why}`);
    }
    await new Promise<void>((resolve) =>
      channel.watchConnectivityState(state, Date.now() + Math.min(remaining, sliceMs), () => resolve()),
    );
  }
}

function checkHealth(
  client: GrpcReadyClient,
  service: string,
  deadline: number,
  signal: AbortSignal,
): Promise<'SERVING' | 'unimplemented'> {
  return new Promise((resolve, reject) => {
    const call = client.makeUnaryRequest(
      healthCheck,
      encodeHealthRequest,
      (buffer: Buffer) => decodeHealthResponse(buffer).status,
      service,
      { deadline },
      (error, status) => {
        signal.removeEventListener('abort', cancel);
        if (error?.code === unimplemented) resolve('unimplemented');
        else if (error) {
          reject(new PatchbayError('ERR_PREWARM_GRPC', `gRPC health check failed: ${error.message}`, { cause: error }));
        } else if (status === 1) resolve('SERVING');
        else {
          const name = servingStatus[status ?? 0] ?? String(status);
          reject(new PatchbayError('ERR_PREWARM_GRPC', `gRPC health check of "${service}" answered ${name}`));
        }
      },
    );
    const cancel = (): void => call.cancel();
    signal.addEventListener('abort', cancel, { once: true });
  });
}
