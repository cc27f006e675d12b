import {
  type handleBidiStreamingCall,
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { PatchbayError } from '../../core/errors';
import { notify } from '../../core/notify';
import { assertFunction } from '../options';
import { isThenable } from '../thenable';
import { ForwardingServerCall, type PartialStatusObject } from './forwarding';

/**
 * What {@link ServerRecoveryInterceptorOptions.onError} is told about a hidden failure.
 *
 * @example
 * ```ts
 * const event: RecoveryEvent = { method: '/orders.v1.Orders/Get', error: new TypeError("reading 'id'") };
 * ```
 */
export interface RecoveryEvent {
  /** The full method path. */
  method: string;
  /**
   * What was hidden: the value an interceptor threw, or, for a handler's failure (which grpc-js
   * has already turned into a status), `{ code, details }` of that status.
   */
  error: unknown;
}

/**
 * Options of {@link serverRecoveryInterceptor}.
 *
 * @example
 * ```ts
 * const options: ServerRecoveryInterceptorOptions = { onError: ({ method, error }) => logger.error({ method, error }, 'handler failed') };
 * ```
 */
export interface ServerRecoveryInterceptorOptions {
  /**
   * Told each failure that was hidden from the client, so it can still be logged; called after the
   * client has its INTERNAL status. What it throws is ignored.
   */
  onError?: (event: RecoveryEvent) => void;
}

const hidden = { code: status.INTERNAL, details: 'Internal server error' };

/**
 * A server interceptor that turns a handler's unexpected failure into INTERNAL
 * "Internal server error", without leaking its message (a SQL error, a file path, a stack), and
 * keeps the server serving. For every call type it covers:
 *
 * - an exception thrown by a handler, which grpc-js catches and answers with UNKNOWN;
 * - an error without a gRPC `code` passed to a handler's callback or emitted on its stream,
 *   which grpc-js answers with UNKNOWN **and the error's message**;
 * - an error whose numeric `code` is not a gRPC status code (MongoDB's 11000 for a duplicate key),
 *   which grpc-js sends on as that code, with the error's message;
 * - an exception thrown by an interceptor placed after this one.
 *
 * Errors that carry a gRPC `code` (NOT_FOUND, INVALID_ARGUMENT, ...; 0 to 16, UNKNOWN excepted)
 * are deliberate answers and pass unchanged. A **rejected promise** from an async handler is invisible to interceptors
 * (grpc-js drops handlers' return values, and Node ends the process on the unhandled
 * rejection): wrap the implementation with {@link recoverHandlers} so it reaches this
 * interceptor as a failure.
 *
 * @example
 * ```ts
 * const server = new Server({
 *   interceptors: [serverRecoveryInterceptor({ onError: ({ method, error }) => logger.error({ method, error }) })],
 * });
 * server.addService(OrdersService, recoverHandlers(ordersImplementation));
 * ```
 */
export function serverRecoveryInterceptor(options: ServerRecoveryInterceptorOptions = {}): ServerInterceptor {
  if (typeof options !== 'object' || options === null) {
    throw new PatchbayError('ERR_GRPC_OPTIONS', 'serverRecoveryInterceptor options must be an object');
  }
  const { onError } = options;
  assertFunction(onError, 'serverRecoveryInterceptor onError', { optional: true });
  return (descriptor, call) => new RecoveredCall(call, descriptor.path, onError).asCall();
}

/** One call's layer: catches what the layers above throw, hides UNKNOWN statuses. */
class RecoveredCall extends ForwardingServerCall {
  private readonly method: string;
  private readonly onError: ((event: RecoveryEvent) => void) | undefined;

  constructor(
    next: ServerInterceptingCallInterface,
    method: string,
    onError: ((event: RecoveryEvent) => void) | undefined,
  ) {
    super(next);
    this.method = method;
    this.onError = onError;
  }

  // try/catch written out in each listener method: they run for every call and message.
  override onReceiveMetadata(metadata: Metadata): void {
    try {
      this.listener.onReceiveMetadata(metadata);
    } catch (error) {
      this.fail(error);
    }
  }

  override onReceiveMessage(message: unknown): void {
    try {
      this.listener.onReceiveMessage(message);
    } catch (error) {
      this.fail(error);
    }
  }

  override onReceiveHalfClose(): void {
    try {
      this.listener.onReceiveHalfClose();
    } catch (error) {
      this.fail(error);
    }
  }

  override sendStatus(final: PartialStatusObject): void {
    // grpc-js sends any integer `code` an error carries, with the error's message: a MongoDB
    // duplicate key error (code 11000) would reach the client with the document's key in it. Only
    // a code gRPC defines is a deliberate answer.
    const { code } = final;
    if (code !== status.UNKNOWN && code >= status.OK && code <= status.UNAUTHENTICATED) {
      this.next.sendStatus(final);
      return;
    }
    this.next.sendStatus(hidden);
    this.report({ code: final.code, details: final.details });
  }

  override recoverLate(error: unknown): boolean {
    this.fail(error);
    return true;
  }

  private fail(error: unknown): void {
    this.next.sendStatus(hidden);
    this.report(error);
  }

  /** Tells `onError`, after the status went out; what the hook throws is dropped. */
  private report(error: unknown): void {
    if (this.onError !== undefined) notify(this.onError, { method: this.method, error });
  }
}

/**
 * Wraps a service implementation so that an async handler's rejected promise, or a synchronous
 * throw, ends its call with the error (through the callback for unary and client-streaming
 * methods, as a stream `error` for server-streaming and bidi ones) instead of becoming an
 * unhandled rejection that takes the process down. With {@link serverRecoveryInterceptor} the
 * client then sees INTERNAL; errors with a gRPC `code` keep it.
 *
 * @example
 * ```ts
 * server.addService(OrdersService, recoverHandlers({
 *   async get(call, callback) {
 *     callback(null, await db.orders.find(call.request.id)); // a rejection no longer crashes the server
 *   },
 * }));
 * ```
 */
export function recoverHandlers<Implementation extends UntypedServiceImplementation>(
  implementation: Implementation,
): Implementation {
  if (typeof implementation !== 'object' || implementation === null) {
    throw new PatchbayError('ERR_GRPC_OPTIONS', 'recoverHandlers needs a service implementation object');
  }
  const wrapped: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    if (typeof handler !== 'function') {
      throw new PatchbayError('ERR_GRPC_OPTIONS', `recoverHandlers: ${name} is not a handler function`);
    }
    wrapped[name] = recoverHandler(handler as AnyHandler, implementation);
  }
  return wrapped as Implementation;
}

/** A handler of any call type: grpc-js calls it with the call and, for unary and client streams, a callback. */
type AnyHandler = (
  call: Parameters<handleBidiStreamingCall<unknown, unknown>>[0],
  callback?: (error: unknown) => void,
) => unknown;

function recoverHandler(handler: AnyHandler, self: object): AnyHandler {
  return function recovered(call, callback) {
    let result: unknown;
    try {
      result = callback ? handler.call(self, call, callback) : handler.call(self, call);
    } catch (error) {
      fail(call, callback, error);
      return;
    }
    // Only a promise needs a closure: a handler that returned nothing costs none.
    if (isThenable(result)) Promise.resolve(result).catch((error: unknown) => fail(call, callback, error));
  };
}

function fail(call: Parameters<AnyHandler>[0], callback: Parameters<AnyHandler>[1], error: unknown): void {
  const reason = error instanceof Error ? error : new Error(String(error));
  if (callback) callback(reason);
  else call.emit('error', reason);
}
