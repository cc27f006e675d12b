import { InterceptingCall, ServerInterceptingCall } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ForwardingCall } from '../../src/grpc/client/forwarding';
import { forwardMissing } from '../../src/grpc/forward-missing';
import { ForwardingServerCall } from '../../src/grpc/server/forwarding';

const methods = (prototype: object): string[] =>
  Object.getOwnPropertyNames(prototype).filter(
    (name) => name !== 'constructor' && typeof Object.getOwnPropertyDescriptor(prototype, name)?.value === 'function',
  );

describe("patchbay's call layers and grpc-js's call interfaces", () => {
  it('answer every method grpc-js may call on a client or server layer', () => {
    for (const name of methods(InterceptingCall.prototype)) {
      expect(typeof (ForwardingCall.prototype as unknown as Record<string, unknown>)[name], name).toBe('function');
    }
    for (const name of methods(ServerInterceptingCall.prototype)) {
      expect(typeof (ForwardingServerCall.prototype as unknown as Record<string, unknown>)[name], name).toBe(
        'function',
      );
    }
  });

  it('forward a method a newer grpc-js adds to the layer below, and keep their own', () => {
    // a grpc-js from the future whose call class has a method patchbay's layer never heard of
    class FutureCall {
      getPeer(): string {
        return 'future';
      }
      getTracingContext(): string {
        return 'future';
      }
    }
    class Layer {
      constructor(readonly next: Record<string, (...args: unknown[]) => unknown>) {}
      getPeer(): string {
        return `layer over ${String(this.next.getPeer?.())}`;
      }
    }
    forwardMissing(Layer.prototype, FutureCall.prototype);
    const seen: unknown[][] = [];
    const layer = new Layer({
      getPeer: () => 'next',
      getTracingContext: (...args) => {
        seen.push(args);
        return 'from next';
      },
    }) as Layer & { getTracingContext(...args: unknown[]): unknown };
    expect(layer.getTracingContext('a', 1)).toBe('from next');
    expect(seen).toEqual([['a', 1]]);
    expect(layer.getPeer()).toBe('layer over next');
  });
});
