/** An `on<type>` handler as a property holds it. */
type Handler = (event: never) => void;

/**
 * The `onopen` / `onmessage` / … properties of an EventTarget, run the way the DOM runs them: as
 * a listener of their own, added when a handler is first set (so it runs in that order among the
 * `addEventListener` ones). A handler that throws is then reported as a throwing listener is
 * (`uncaughtException` in Node, `reportError` in browsers) instead of throwing into the code that
 * dispatched the event: a reconnect loop or a parser halfway through a chunk. Until a handler is
 * set, dispatching costs nothing extra.
 *
 * @example
 * ```ts
 * class Source extends EventTarget {
 *   readonly #handlers = new EventHandlers(this);
 *   get onopen(): ((event: Event) => void) | null {
 *     return this.#handlers.get('open');
 *   }
 *   set onopen(handler: ((event: Event) => void) | null) {
 *     this.#handlers.set('open', handler);
 *   }
 * }
 * ```
 */
export class EventHandlers {
  readonly #target: EventTarget;
  readonly #handlers = new Map<string, Handler | null>();

  constructor(target: EventTarget) {
    this.#target = target;
  }

  /** The handler for `type`, or null. */
  get<H extends Handler>(type: string): H | null {
    return (this.#handlers.get(type) as H | undefined) ?? null;
  }

  /** Sets the handler for `type`; anything but a function clears it, as the DOM does. */
  set(type: string, handler: Handler | null): void {
    if (!this.#handlers.has(type)) {
      const target = this.#target;
      target.addEventListener(type, (event) => {
        (this.#handlers.get(type) as ((event: Event) => void) | null)?.call(target, event);
      });
    }
    this.#handlers.set(type, typeof handler === 'function' ? handler : null);
  }
}
