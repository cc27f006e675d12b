/**
 * Gives `layer` (the prototype of one of patchbay's call layers) a forwarding method for every
 * method of `reference` (grpc-js's own call class) that it lacks: `this.next[name](...args)`.
 * grpc-js adds methods to its call interfaces now and then (`getAuthContext`,
 * `getConnectionInfo`, `getMetricsRecorder` arrived in 1.1x releases) and calls them on whatever
 * an interceptor returned, so without this a newer grpc-js than patchbay was written for would
 * fail every call. grpc-js's private helpers are forwarded too; nothing calls them on a layer.
 */
export function forwardMissing(layer: object, reference: object): void {
  for (const name of Object.getOwnPropertyNames(reference)) {
    if (name === 'constructor' || name in layer) continue;
    if (typeof Object.getOwnPropertyDescriptor(reference, name)?.value !== 'function') continue;
    Object.defineProperty(layer, name, {
      configurable: true,
      writable: true,
      value: function forward(this: { next: Record<string, (...args: unknown[]) => unknown> }, ...args: unknown[]) {
        return this.next[name]?.(...args);
      },
    });
  }
}
