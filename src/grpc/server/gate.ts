import {
  type Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  status,
} from '@grpc/grpc-js';

/** A status to end a call with; trailers optional. */
type PartialStatusObject = Parameters<ServerInterceptingCall['sendStatus']>[0];

/**
 * What a gate decides about a call: `undefined` lets it through, a status ends it before its
 * handler runs.
 */
export type GateDecision = PartialStatusObject | undefined;

/**
 * A server interceptor that decides on each call's request metadata, before the handler sees
 * anything, for every call type: grpc-js starts handlers only once the metadata is through.
 * Synchronous decisions let the call through synchronously. A decision that throws or rejects
 * ends the call with INTERNAL, whose details say nothing of the error.
 */
export function gate(
  decide: (
    metadata: Metadata,
    call: ServerInterceptingCallInterface,
    method: string,
  ) => GateDecision | Promise<GateDecision>,
  skip?: (method: string) => boolean,
): ServerInterceptor {
  return (descriptor, call) => {
    // grpc-js uses what an interceptor returns only through ServerInterceptingCallInterface.
    if (skip?.(descriptor.path)) return call as ServerInterceptingCall;
    const gated: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            const settle = (decision: GateDecision): void => {
              if (decision === undefined) nextMetadata(metadata);
              else gated.sendStatus(decision);
            };
            let decision: GateDecision | Promise<GateDecision>;
            try {
              decision = decide(metadata, call, descriptor.path);
            } catch {
              settle(internalError);
              return;
            }
            if (decision instanceof Promise) decision.then(settle, () => settle(internalError));
            else settle(decision);
          },
        });
      },
    });
    return gated;
  };
}

const internalError: PartialStatusObject = { code: status.INTERNAL, details: 'Internal server error' };

/** A call that ends with `final` as soon as its metadata arrives, before any handler runs. */
export function reject(call: ServerInterceptingCallInterface, final: PartialStatusObject): ServerInterceptingCall {
  const rejected: ServerInterceptingCall = new ServerInterceptingCall(call, {
    start(next) {
      next({ onReceiveMetadata: () => rejected.sendStatus(final) });
    },
  });
  return rejected;
}
