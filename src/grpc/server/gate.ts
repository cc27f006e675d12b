import { type Metadata, type ServerInterceptingCallInterface, type ServerInterceptor, status } from '@grpc/grpc-js';
import { ForwardingServerCall, type PartialStatusObject } from './forwarding';

/**
 * What a gate decides about a call: `undefined` lets it through, a status ends it before its
 * handler runs.
 */
export type GateDecision = PartialStatusObject | undefined;

/** A gate's decision on one call's request metadata. */
type Decide = (
  metadata: Metadata,
  call: ServerInterceptingCallInterface,
  method: string,
) => GateDecision | Promise<GateDecision>;

/**
 * A server interceptor that decides on each call's request metadata, before the handler sees
 * anything, for every call type: grpc-js starts handlers only once the metadata is through.
 * Synchronous decisions let the call through synchronously. A decision that throws or rejects
 * ends the call with INTERNAL, whose details say nothing of the error; so does a throw from the
 * interceptors after it when an async decision lets the call through, which also reaches the
 * `onError` of a serverRecoveryInterceptor placed before the gate.
 */
export function gate(decide: Decide, skip?: (method: string) => boolean): ServerInterceptor {
  return (descriptor, call) => {
    // grpc-js uses what an interceptor returns only through ServerInterceptingCallInterface.
    if (skip?.(descriptor.path)) return call as ReturnType<ServerInterceptor>;
    return new GatedCall(call, decide, descriptor.path).asCall();
  };
}

const internalError: PartialStatusObject = { code: status.INTERNAL, details: 'Internal server error' };

/** One call's layer: holds the metadata back until the decision, then lets it up or ends the call. */
class GatedCall extends ForwardingServerCall {
  private readonly decide: Decide;
  private readonly method: string;
  private cancelled = false;

  constructor(next: ServerInterceptingCallInterface, decide: Decide, method: string) {
    super(next);
    this.decide = decide;
    this.method = method;
  }

  override onReceiveMetadata(metadata: Metadata): void {
    let decision: GateDecision | Promise<GateDecision>;
    try {
      decision = this.decide(metadata, this.next, this.method);
    } catch {
      this.settle(metadata, internalError);
      return;
    }
    if (decision instanceof Promise) {
      decision.then(
        (settled) => this.settleLate(metadata, settled),
        () => this.settleLate(metadata, internalError),
      );
    } else this.settle(metadata, decision);
  }

  override onCancel(): void {
    // A call the client left while its decision was pending goes no further.
    this.cancelled = true;
    this.listener.onCancel();
  }

  private settle(metadata: Metadata, decision: GateDecision): void {
    if (this.cancelled) return;
    if (decision === undefined) this.listener.onReceiveMetadata(metadata);
    else this.next.sendStatus(decision);
  }

  /**
   * Settles from a promise callback, where a serverRecoveryInterceptor placed before the gate no
   * longer catches what the interceptors after it throw: that would be an unhandled rejection,
   * which ends the process by default, and the client would wait for its deadline.
   */
  private settleLate(metadata: Metadata, decision: GateDecision): void {
    try {
      this.settle(metadata, decision);
    } catch (error) {
      try {
        if (!this.recoverLate(error)) this.next.sendStatus(internalError);
      } catch {
        // the call cannot be answered any more; its deadline or the client's cancellation ends it
      }
    }
  }
}

/** A call that ends with `final` as soon as its metadata arrives, before any handler runs. */
export function reject(
  call: ServerInterceptingCallInterface,
  final: PartialStatusObject,
): ReturnType<ServerInterceptor> {
  return new RejectedCall(call, final).asCall();
}

class RejectedCall extends ForwardingServerCall {
  private readonly final: PartialStatusObject;

  constructor(next: ServerInterceptingCallInterface, final: PartialStatusObject) {
    super(next);
    this.final = final;
  }

  override onReceiveMetadata(): void {
    this.next.sendStatus(this.final);
  }
}
