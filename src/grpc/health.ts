import type {
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  sendUnaryData,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { describe } from '../core/assert';
import { PatchbayError } from '../core/errors';
import {
  decodeHealthRequest,
  decodeHealthResponse,
  encodeHealthRequest,
  encodeHealthResponse,
} from '../core/grpc-health-codec';
import { OPTIONS_CODE } from './options';

/**
 * A serving status of the standard `grpc.health.v1` protocol that a server can set.
 *
 * @example
 * ```ts
 * const status: ServingStatus = 'NOT_SERVING';
 * ```
 */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING';

/**
 * Options of {@link healthService}.
 *
 * @example
 * ```ts
 * const options: HealthServiceOptions = { statuses: { '': 'NOT_SERVING', 'orders.v1.Orders': 'NOT_SERVING' } };
 * ```
 */
export interface HealthServiceOptions {
  /** The status of each service at start; `''` is the server as a whole. Default `{ '': 'SERVING' }`. */
  statuses?: Record<string, ServingStatus>;
}

/**
 * The standard health service, ready for `server.addService(health.definition, health.implementation)`.
 *
 * @example
 * ```ts
 * const health: HealthService = healthService();
 * health.setStatus('orders.v1.Orders', 'SERVING');
 * ```
 */
export interface HealthService {
  /** The `grpc.health.v1.Health` service definition (Check and Watch). */
  readonly definition: ServiceDefinition;
  /** Its handlers. */
  readonly implementation: UntypedServiceImplementation;
  /**
   * Sets a service's status (`''` for the whole server) and, when it changed, tells its watchers.
   * After {@link HealthService.shutdown} it is ignored (bad arguments still throw): every service
   * stays NOT_SERVING and no service is added, as in grpc-go, so code that finishes while the
   * server drains cannot mark it SERVING again.
   */
  setStatus(service: string, status: ServingStatus): void;
  /** The status of a service, or `undefined` when it was never set. */
  getStatus(service: string): ServingStatus | undefined;
  /**
   * Marks every service NOT_SERVING, tells the watchers, and ends their streams, so
   * `server.tryShutdown()` is not held up by them. A Watch that arrives afterwards (a load
   * balancer watching again) gets the current status and is ended at once. Later
   * {@link HealthService.setStatus} calls are ignored; there is no way back. Call it when
   * draining starts.
   */
  shutdown(): void;
}

interface HealthRequest {
  service: string;
}

const statusNumbers: Record<ServingStatus | 'SERVICE_UNKNOWN', number> = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  SERVICE_UNKNOWN: 3,
};

const settable = new Set<string>(['UNKNOWN', 'SERVING', 'NOT_SERVING']);

/**
 * The standard gRPC health service (`grpc.health.v1.Health`, Check and Watch), what Kubernetes
 * gRPC probes, `grpc-health-probe`, load balancers and `patchbay/prewarm`'s `warmGrpc` ask. It
 * is wire-compatible with the `grpc-health-check` package (tested against its client), but
 * needs no protobuf library: the two tiny messages are encoded by hand, so `patchbay/grpc`
 * depends on nothing but `@grpc/grpc-js`.
 *
 * Check answers the service's status, or NOT_FOUND for a service never set. Watch streams the
 * current status (SERVICE_UNKNOWN for an unknown service), then each change (setting the status a
 * service already has sends nothing).
 *
 * @example
 * ```ts
 * const health = healthService({ statuses: { '': 'NOT_SERVING' } });
 * server.addService(health.definition, health.implementation);
 * await prewarmer.run();
 * health.setStatus('', 'SERVING');
 * process.on('SIGTERM', () => {
 *   health.shutdown();
 *   server.tryShutdown(() => process.exit(0));
 * });
 * ```
 */
export function healthService(options: HealthServiceOptions = {}): HealthService {
  if (typeof options !== 'object' || options === null) {
    throw new PatchbayError(OPTIONS_CODE, 'healthService options must be an object');
  }
  const statuses = new Map<string, ServingStatus>();
  const watchers = new Map<string, Set<ServerWritableStream<HealthRequest, number>>>();
  let stopped = false;

  const setStatus = (service: string, status: ServingStatus): void => {
    if (typeof service !== 'string') throw new PatchbayError(OPTIONS_CODE, 'health service name must be a string');
    if (!settable.has(status)) {
      throw new PatchbayError(
        OPTIONS_CODE,
        `health status must be UNKNOWN, SERVING or NOT_SERVING, got ${describe(status)}`,
      );
    }
    // As grpc-go's health server does: while the server drains, a late update (a warm-up or a
    // dependency check that just finished) must not call traffic back.
    if (!stopped) update(service, status);
  };

  const update = (service: string, status: ServingStatus): void => {
    // grpc.health.v1: Watch sends the status when it starts, then only when it changes
    if (statuses.get(service) === status) return;
    statuses.set(service, status);
    for (const watcher of watchers.get(service) ?? []) watcher.write(statusNumbers[status]);
  };

  const initial: Record<string, ServingStatus> = options.statuses ?? { '': 'SERVING' };
  for (const [service, status] of Object.entries(initial)) setStatus(service, status);

  return {
    definition,
    implementation: {
      Check(call: ServerUnaryCall<HealthRequest, number>, callback: sendUnaryData<number>) {
        const status = statuses.get(call.request.service);
        if (status === undefined) callback({ code: grpcStatus.NOT_FOUND, details: 'Unknown service' });
        else callback(null, statusNumbers[status]);
      },
      Watch(call: ServerWritableStream<HealthRequest, number>) {
        const { service } = call.request;
        const status = statuses.get(service);
        const current = status === undefined ? statusNumbers.SERVICE_UNKNOWN : statusNumbers[status];
        if (stopped) {
          // A watcher whose stream shutdown() ended watches again at once; left open, its new
          // stream would hold up the tryShutdown() that follows.
          call.write(current);
          call.end();
          return;
        }
        let set = watchers.get(service);
        if (set === undefined) {
          set = new Set();
          watchers.set(service, set);
        }
        const forService = set;
        forService.add(call);
        call.on('cancelled', () => {
          forService.delete(call);
          // Remote clients pick the names they watch: an entry kept for every name ever watched
          // would let them grow the server's memory without bound.
          if (forService.size === 0) watchers.delete(service);
        });
        call.write(current);
      },
    },
    setStatus,
    getStatus: (service) => statuses.get(service),
    shutdown() {
      stopped = true;
      for (const service of statuses.keys()) update(service, 'NOT_SERVING');
      for (const set of watchers.values()) for (const watcher of set) watcher.end();
      watchers.clear();
    },
  };
}

const definition: ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: ({ service }: HealthRequest) => encodeHealthRequest(service),
    // an object, never a bare string: grpc-js drops a unary request that deserializes to a falsy value
    requestDeserialize: decodeHealthRequest,
    responseSerialize: encodeHealthResponse,
    responseDeserialize: decodeHealthResponse,
  },
  Watch: {
    path: '/grpc.health.v1.Health/Watch',
    requestStream: false,
    responseStream: true,
    requestSerialize: ({ service }: HealthRequest) => encodeHealthRequest(service),
    requestDeserialize: decodeHealthRequest,
    responseSerialize: encodeHealthResponse,
    responseDeserialize: decodeHealthResponse,
  },
};
