import { assertBoolean, assertFunction, assertNumber, assertOptionsObject, describe } from '../core/assert';
import type { Backoff, BackoffOptions } from '../core/backoff';
import { PatchbayError } from '../core/errors';
import { timerDelay } from '../core/timeout';
import { EventHandlers } from './event-handlers';
import { messageEvent } from './message-event';
import { reconnectBackoff } from './reconnect-backoff';
import { reconnectDelay } from './reconnect-delay';
import { createSseParser, type SseEvent, type SseParser } from './sse-parser';
import { resolveUrl } from './url';

/**
 * Request headers of a {@link ReconnectingEventSource}: an object, or a function called before
 * every attempt (so a rotating token is fresh on each reconnection).
 *
 * @example
 * ```ts
 * const headers: EventSourceHeaders = async () => ({ authorization: `Bearer ${await getToken()}` });
 * ```
 */
export type EventSourceHeaders =
  | Record<string, string>
  | (() => Record<string, string> | Promise<Record<string, string>>);

/**
 * Options of {@link ReconnectingEventSource}.
 *
 * @example
 * ```ts
 * const options: ReconnectingEventSourceOptions = {
 *   headers: async () => ({ authorization: `Bearer ${await tokens.current()}` }),
 *   idleTimeoutMs: 45_000,
 * };
 * ```
 */
export interface ReconnectingEventSourceOptions {
  /** The `fetch` to use. Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /**
   * Request headers, or a function called before every attempt (for rotating tokens). A
   * `Last-Event-ID` here is sent until the stream gives an id, which then replaces it.
   */
  headers?: EventSourceHeaders;
  /** HTTP method. Default `GET`. */
  method?: string;
  /**
   * Request body, for `POST` streams, sent again with every attempt: a string, an `ArrayBuffer` or
   * a view of one (a `Uint8Array`, say), a `Blob`, `URLSearchParams` or `FormData`. A stream can be
   * sent only once, so it is refused, as is a body with `GET` or `HEAD` (set `method`).
   */
  body?: string | ArrayBuffer | ArrayBufferView<ArrayBuffer> | Blob | URLSearchParams | FormData;
  /** Send cookies cross-origin (`credentials: 'include'`): a boolean. Default false. */
  withCredentials?: boolean;
  /**
   * Reconnect delays: exponential with full jitter, never below the server's `retry:`. Default 1 s
   * to 30 s. A `random` that throws gives each attempt its ceiling delay.
   */
  backoff?: BackoffOptions;
  /** Give up after this many failed attempts in a row. Default: never. */
  maxRetries?: number;
  /** Reconnect when nothing (not even a comment) arrives for this long, in ms. Default: off. */
  idleTimeoutMs?: number;
  /**
   * The most characters one event (or one unfinished line) may hold. A larger one is dropped and
   * the stream reconnects with `ERR_REALTIME_EVENT_TOO_LARGE` as the reason, so a runaway server
   * cannot grow memory without bound. Default 16 Mi characters.
   */
  maxEventLength?: number;
}

/**
 * Detail of a `reconnecting` event.
 *
 * @example
 * ```ts
 * source.addEventListener('reconnecting', (e) => {
 *   const { attempt, delayMs }: ReconnectingDetail = (e as CustomEvent<ReconnectingDetail>).detail;
 * });
 * ```
 */
export interface ReconnectingDetail {
  /** 1 for the first retry after a drop, growing while attempts keep failing. */
  attempt: number;
  /** How long until the next attempt, in ms. */
  delayMs: number;
  /** Why the connection was lost. */
  reason: unknown;
}

/**
 * `text` as the byte string of its UTF-8 encoding, one char per byte. The spec sends
 * `Last-Event-ID` as UTF-8, and fetch takes a header value only as bytes: an id such as `✓42`
 * passed as is makes every request throw before it is sent.
 */
function utf8ByteString(text: string): string {
  if (!/[\u0080-\uffff]/.test(text)) return text;
  let bytes = '';
  for (const byte of new TextEncoder().encode(text)) bytes += String.fromCharCode(byte);
  return bytes;
}

// The 4xx worth retrying; the EventSource spec fails for good on any non-200 answer, but a 5xx
// is the server's trouble, not the request's: CDNs answer 520-524 while the origin is down.
const RETRYABLE_4XX = new Set([408, 425, 429]);
const retryable = (status: number): boolean => (status >= 500 && status <= 599) || RETRYABLE_4XX.has(status);

/**
 * An `EventSource` that does not give up: the standard API (`onopen`, `onmessage`, `onerror`,
 * named events through `addEventListener`, `readyState`, `close()`, plus `lastEventId`), built on
 * `fetch` so it runs in browsers and in Node 22+, with custom headers, method and body. After a
 * drop it reconnects with exponential backoff and full jitter (never sooner than the server's
 * `retry:`), sends `Last-Event-ID` so the server can resume, and fires `reconnecting`. It stops for
 * good, as the spec says, on 204, on a response that is not `text/event-stream`, or on a 4xx
 * other than 408/425/429; it retries network errors and every 5xx. The URL must be http(s), and absolute
 * outside a browser, or the constructor throws `ERR_REALTIME_INPUT`.
 *
 * @example
 * ```ts
 * import { ReconnectingEventSource } from 'patchbay/realtime';
 *
 * const source = new ReconnectingEventSource('https://api.example.com/orders/stream', {
 *   headers: async () => ({ authorization: `Bearer ${await getToken()}` }),
 *   idleTimeoutMs: 45_000,
 * });
 * source.addEventListener('order', (event) => render(JSON.parse((event as MessageEvent).data)));
 * source.onerror = () => showBanner('reconnecting…');
 * ```
 */
export class ReconnectingEventSource extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSED = 2;
  /** The stream's URL. */
  readonly url: string;
  /** Whether cookies are sent cross-origin. */
  readonly withCredentials: boolean;
  readonly #handlers = new EventHandlers(this);
  #state: 0 | 1 | 2 = 0;
  #closed = false;
  #attempt = 0;
  #serverRetryMs = 0;
  /** Origin of the stream's final URL (after redirects), for message events: set per connection. */
  #origin = '';
  #controller: AbortController | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #parser: SseParser;
  readonly #options: Required<Pick<ReconnectingEventSourceOptions, 'method'>> & ReconnectingEventSourceOptions;
  readonly #backoff: Backoff;
  readonly #fetch: typeof globalThis.fetch;

  constructor(url: string | URL, options: ReconnectingEventSourceOptions = {}) {
    super();
    assertOptionsObject(options, 'ReconnectingEventSource options', 'ERR_REALTIME_OPTIONS');
    this.url = resolveUrl(url, 'url', ['http:', 'https:']).href;
    this.withCredentials = options.withCredentials ?? false;
    assertBoolean(this.withCredentials, 'withCredentials', 'ERR_REALTIME_OPTIONS');
    if (options.maxRetries !== undefined)
      assertNumber(options.maxRetries, 'maxRetries', 'ERR_REALTIME_OPTIONS', { min: 0, integer: true });
    if (options.idleTimeoutMs !== undefined)
      assertNumber(options.idleTimeoutMs, 'idleTimeoutMs', 'ERR_REALTIME_OPTIONS', { min: 1 });
    checkRequestOptions(options);
    this.#options = { method: 'GET', ...options };
    this.#backoff = reconnectBackoff(options.backoff, { initialMs: 1_000, maxMs: 30_000 });
    // browsers refuse a fetch called with another `this` ("Illegal invocation"): call the global as a function
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#parser = createSseParser({
      onEvent: (event) => this.#message(event),
      onRetry: (ms) => {
        this.#serverRetryMs = ms;
      },
      ...(options.maxEventLength === undefined ? {} : { maxEventLength: options.maxEventLength }),
    });
    // like EventSource, connect after the current task so listeners can be attached first
    queueMicrotask(() => void this.#connect());
  }

  /**
   * Called when a connection opens. Like every `on…` handler, it runs as a listener does: what it
   * throws is reported (`uncaughtException` in Node, `reportError` in browsers) and the stream
   * carries on.
   */
  get onopen(): ((event: Event) => void) | null {
    return this.#handlers.get('open');
  }

  set onopen(handler: ((event: Event) => void) | null) {
    this.#handlers.set('open', handler);
  }

  /** Called for each event named `message` (events with no `event:` field). */
  get onmessage(): ((event: MessageEvent) => void) | null {
    return this.#handlers.get('message');
  }

  set onmessage(handler: ((event: MessageEvent) => void) | null) {
    this.#handlers.set('message', handler);
  }

  /** Called when a connection drops (before reconnecting) or fails for good. */
  get onerror(): ((event: Event) => void) | null {
    return this.#handlers.get('error');
  }

  set onerror(handler: ((event: Event) => void) | null) {
    this.#handlers.set('error', handler);
  }

  /** `CONNECTING` (0), `OPEN` (1) or `CLOSED` (2). */
  get readyState(): 0 | 1 | 2 {
    return this.#state;
  }

  /** The last event id received: sent as `Last-Event-ID` when reconnecting. */
  get lastEventId(): string {
    return this.#parser.lastEventId;
  }

  /**
   * Closes the stream for good: no more events, no reconnection. Called from `onerror`, it comes
   * before the `reconnecting` event, which then does not fire.
   */
  close(): void {
    this.#closed = true;
    this.#state = 2;
    clearTimeout(this.#retryTimer);
    this.#controller?.abort();
  }

  #message({ type, data, lastEventId }: SseEvent): void {
    if (this.#closed) return;
    this.#attempt = 0; // a delivered event proves the stream healthy
    this.dispatchEvent(messageEvent(type, data, this.#origin, lastEventId));
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    this.#state = 0;
    const controller = new AbortController();
    this.#controller = controller;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const touch = (): void => {
      const { idleTimeoutMs } = this.#options;
      if (idleTimeoutMs === undefined) return;
      clearTimeout(idle);
      idle = setTimeout(
        () => controller.abort(new PatchbayError('ERR_REALTIME_IDLE', `no data for ${idleTimeoutMs} ms`)),
        timerDelay(idleTimeoutMs),
      );
    };
    try {
      const { headers, method, body } = this.#options;
      const extra = typeof headers === 'function' ? await headers() : headers;
      // no cache-control header: `cache: 'no-store'` below makes fetch send it (and Pragma), as the
      // browser's own EventSource does, where setting it here would cost a CORS preflight
      // merged as Headers, whose names ignore case: in a plain object, a caller's `Last-Event-ID`
      // (resuming from a stored position) sat beside ours and went out joined, as "5, 6"
      const request = new Headers(extra);
      if (!request.has('accept')) request.set('accept', 'text/event-stream');
      if (this.lastEventId !== '') request.set('last-event-id', utf8ByteString(this.lastEventId));
      touch();
      const response = await this.#fetch(this.url, {
        method,
        headers: request,
        ...(body === undefined ? {} : { body }),
        signal: controller.signal,
        credentials: this.withCredentials ? 'include' : 'same-origin',
        cache: 'no-store',
      });
      if (this.#closed) {
        await response.body?.cancel();
        return;
      }
      const type = response.headers.get('content-type') ?? '';
      if (response.status !== 200 || !/^text\/event-stream\s*(;|$)/i.test(type) || !response.body) {
        await response.body?.cancel().catch(() => {});
        const reason = new PatchbayError(
          'ERR_REALTIME_RESPONSE',
          `stream answered ${response.status} ${type || '(no content type)'}`,
        );
        if (retryable(response.status)) this.#reconnect(reason);
        else this.#fail(reason);
        return;
      }
      // the origin of the URL the stream came from after any redirect, as the spec has it
      this.#origin = new URL(response.url || this.url).origin;
      this.#parser.reset();
      this.#state = 1;
      this.dispatchEvent(new Event('open'));
      const reader = response.body.getReader();
      for (;;) {
        touch();
        const { done, value } = await reader.read();
        if (done || this.#closed) break;
        this.#parser.feed(value);
      }
      this.#reconnect(new PatchbayError('ERR_REALTIME_CLOSED', 'the server ended the stream'));
    } catch (error) {
      this.#reconnect(controller.signal.reason ?? error);
    } finally {
      clearTimeout(idle);
    }
  }

  #reconnect(reason: unknown): void {
    if (this.#closed) return;
    this.#controller?.abort();
    this.#attempt++;
    const { maxRetries } = this.#options;
    if (maxRetries !== undefined && this.#attempt > maxRetries) {
      this.#fail(reason);
      return;
    }
    this.#state = 0;
    const delayMs = Math.max(this.#serverRetryMs, reconnectDelay(this.#backoff, this.#attempt - 1));
    this.dispatchEvent(new Event('error'));
    // `onerror = () => source.close()` is how an EventSource is stopped: announce no attempt then
    if (this.#closed) return;
    this.dispatchEvent(
      new CustomEvent<ReconnectingDetail>('reconnecting', { detail: { attempt: this.#attempt, delayMs, reason } }),
    );
    if (this.#closed) return; // a `reconnecting` listener may have closed it
    this.#retryTimer = setTimeout(() => void this.#connect(), timerDelay(delayMs));
  }

  #fail(reason: unknown): void {
    this.#closed = true;
    this.#state = 2;
    this.#controller?.abort();
    const event = new Event('error');
    Object.defineProperty(event, 'reason', { value: reason });
    this.dispatchEvent(event);
  }
}

// RFC 9110 token characters: what a method name may hold
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Refuses, at construction, request options fetch would refuse on every attempt, where each
 * refusal would look like a network failure and be retried for good.
 */
function checkRequestOptions(options: ReconnectingEventSourceOptions): void {
  const code = 'ERR_REALTIME_OPTIONS';
  const { fetch, method = 'GET', headers, body } = options;
  if (fetch !== undefined) assertFunction(fetch, 'fetch', code);
  if (typeof method !== 'string' || !METHOD.test(method)) {
    throw new PatchbayError(code, `method must be an HTTP method name, got ${describe(method)}`);
  }
  if (body !== undefined) checkBody(body, method);
  if (headers === undefined || typeof headers === 'function') return;
  if (typeof headers !== 'object' || headers === null) {
    throw new PatchbayError(code, 'headers must be an object or a function returning one');
  }
  try {
    new Headers(headers);
  } catch (error) {
    throw new PatchbayError(code, 'headers holds a name or value that fetch refuses', { cause: error });
  }
}

// the bodies fetch takes besides strings and views, by tag so that values from another realm pass too
const BODY_TAGS = new Set([
  '[object ArrayBuffer]',
  '[object Blob]',
  '[object File]',
  '[object FormData]',
  '[object URLSearchParams]',
]);

const tagOf = (value: unknown): string => Object.prototype.toString.call(value);

/**
 * Refuses a body fetch would not send as given (it turns a number or a plain object into text
 * such as `[object Object]`), one it can send only once, or one the method cannot carry.
 */
function checkBody(body: unknown, method: string): void {
  const code = 'ERR_REALTIME_OPTIONS';
  const bytes = ArrayBuffer.isView(body) && tagOf(body.buffer) === '[object ArrayBuffer]';
  if (typeof body !== 'string' && !bytes && !BODY_TAGS.has(tagOf(body))) {
    const stream = body as { getReader?: unknown; [Symbol.asyncIterator]?: unknown } | null;
    if (typeof stream?.getReader === 'function' || typeof stream?.[Symbol.asyncIterator] === 'function') {
      throw new PatchbayError(
        code,
        'body is a stream, which can be sent only once, and every reconnection sends the body again: pass a string, bytes or a Blob',
      );
    }
    throw new PatchbayError(
      code,
      `body must be a string, an ArrayBuffer or a view of one, a Blob, URLSearchParams or FormData, got ${describe(body)}`,
    );
  }
  if (/^(GET|HEAD)$/i.test(method)) {
    throw new PatchbayError(code, `a ${method.toUpperCase()} request cannot have a body: set method (to POST, say)`);
  }
}
