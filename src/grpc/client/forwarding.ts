import {
  InterceptingCall,
  type InterceptingListener,
  type Metadata,
  type NextCall,
  type StatusObject,
} from '@grpc/grpc-js';
import { forwardMissing } from '../forward-missing';

/** What an interceptor wraps and returns; grpc-js does not export the interface by name. */
export type InterceptingCallInterface = ReturnType<NextCall>;

/** A message context as grpc-js hands it down: a write callback and flags. */
export type MessageContext = Parameters<InterceptingCallInterface['sendMessageWithContext']>[0];

/** What grpc-js knows of the connection's authentication; not exported by name either. */
type AuthContext = ReturnType<InterceptingCallInterface['getAuthContext']>;

/**
 * A client call layer that passes everything through; subclasses override what they watch.
 *
 * grpc-js's own `InterceptingCall` costs, for every call and layer, a requester object, three
 * bound listener functions and, when the interceptor passes a listener of its own, a listener
 * wrapper with a closure per event. This layer is one object, and its own listener. grpc-js uses
 * what an interceptor returns only through `InterceptingCallInterface`, which this implements,
 * so {@link ForwardingCall.asCall} only satisfies the `Interceptor` type.
 *
 * Every event goes through synchronously, so a subclass must not hold one back: the buffering
 * that makes that safe is what `InterceptingCall` is for.
 */
export class ForwardingCall implements InterceptingCallInterface, InterceptingListener {
  protected readonly next: InterceptingCallInterface;
  protected listener: Partial<InterceptingListener> | undefined;

  constructor(next: InterceptingCallInterface) {
    this.next = next;
  }

  /** This call, typed as what an `Interceptor` returns. */
  asCall(): InterceptingCall {
    return this as unknown as InterceptingCall;
  }

  start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
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

  sendMessageWithContext(context: MessageContext, message: unknown): void {
    this.next.sendMessageWithContext(context, message);
  }

  sendMessage(message: unknown): void {
    this.sendMessageWithContext({}, message);
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

  getAuthContext(): AuthContext {
    return this.next.getAuthContext();
  }
}

forwardMissing(ForwardingCall.prototype, InterceptingCall.prototype);
