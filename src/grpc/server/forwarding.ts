import { type Metadata, ServerInterceptingCall, type ServerInterceptingCallInterface } from '@grpc/grpc-js';
import { forwardMissing } from '../forward-missing';

/** What a server call's layer listens with; grpc-js does not export the interface by name. */
type InterceptingServerListener = Parameters<ServerInterceptingCallInterface['start']>[0];

/** A status to end a call with; trailers optional. */
export type PartialStatusObject = Parameters<ServerInterceptingCallInterface['sendStatus']>[0];

/**
 * A server call layer that passes everything through; subclasses override what they watch.
 *
 * grpc-js's own `ServerInterceptingCall` costs, for every call and layer, a responder object, a
 * full listener object and a listener wrapper with a closure per event. This layer is one
 * object, and its own listener. grpc-js uses what an interceptor returns only through
 * `ServerInterceptingCallInterface`, which this implements, so {@link ForwardingServerCall.asCall}
 * only satisfies the `ServerInterceptor` type.
 *
 * Events go through synchronously. A subclass may hold the request metadata back (a gate
 * waiting for its decision): grpc-js reads request messages only when the handler asks, which
 * it does once it has the metadata, so nothing arrives behind it in the meantime.
 */
export class ForwardingServerCall implements ServerInterceptingCallInterface, InterceptingServerListener {
  protected readonly next: ServerInterceptingCallInterface;
  /** Set by `start`, before the layer below can deliver anything. */
  protected listener!: InterceptingServerListener;

  constructor(next: ServerInterceptingCallInterface) {
    this.next = next;
  }

  /** This call, typed as what a `ServerInterceptor` returns. */
  asCall(): ServerInterceptingCall {
    return this as unknown as ServerInterceptingCall;
  }

  start(listener: InterceptingServerListener): void {
    this.listener = listener;
    this.next.start(this);
  }

  onReceiveMetadata(metadata: Metadata): void {
    this.listener.onReceiveMetadata(metadata);
  }

  onReceiveMessage(message: unknown): void {
    this.listener.onReceiveMessage(message);
  }

  onReceiveHalfClose(): void {
    this.listener.onReceiveHalfClose();
  }

  onCancel(): void {
    this.listener.onCancel();
  }

  sendMetadata(metadata: Metadata): void {
    this.next.sendMetadata(metadata);
  }

  sendMessage(message: unknown, callback: () => void): void {
    this.next.sendMessage(message, callback);
  }

  sendStatus(status: PartialStatusObject): void {
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

  /**
   * Hands an error thrown above this layer, outside any listener call of the layers below (from
   * an async gate's callback), down to the nearest serverRecoveryInterceptor, which answers the
   * call and reports it. Returns false when no such layer is reachable: the caller answers.
   */
  recoverLate(error: unknown): boolean {
    const next = this.next as Partial<ForwardingServerCall>;
    return typeof next.recoverLate === 'function' && next.recoverLate(error);
  }
}

forwardMissing(ForwardingServerCall.prototype, ServerInterceptingCall.prototype);
