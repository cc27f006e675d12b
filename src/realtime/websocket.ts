import { assertFunction, assertNumber, assertOptionsObject, describe } from '../core/assert';
import type { Backoff, BackoffOptions } from '../core/backoff';
import { PatchbayError } from '../core/errors';
import { timerDelay } from '../core/timeout';
import { EventHandlers } from './event-handlers';
import type { ReconnectingDetail } from './event-source';
import { messageEvent } from './message-event';
import { reconnectBackoff } from './reconnect-backoff';
import { reconnectDelay } from './reconnect-delay';
import { resolveUrl } from './url';

/**
 * What a WebSocket can send.
 *
 * @example
 * ```ts
 * const frames: WebSocketData[] = ['text', new Uint8Array([1, 2, 3])];
 * ```
 */
export type WebSocketData = string | ArrayBufferLike | Blob | ArrayBufferView;

/**
 * A value, or a (possibly async) function that produces it: called again for every connection
 * attempt, so URLs and protocols can carry fresh credentials.
 *
 * @example
 * ```ts
 * const url: Resolvable<string> = async () => `wss://chat.example.com/?token=${await getToken()}`;
 * ```
 */
export type Resolvable<T> = T | (() => T | Promise<T>);

/** The part of a WebSocket (browser, Node's global, or `ws`) this wrapper uses. */
interface Socket {
  readonly readyState: number;
  binaryType: string;
  readonly bufferedAmount: number;
  readonly protocol: string;
  readonly extensions: string;
  /** The URL as the socket resolved it (absolute), where the implementation says. */
  readonly url?: string;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
  send(data: WebSocketData): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: protocol-level ping, hard close, and its EventEmitter. */
  ping?(): void;
  terminate?(): void;
  on?(event: 'pong' | 'message', listener: (data: unknown, isBinary: boolean) => void): void;
}

/**
 * A WebSocket constructor: the global `WebSocket`, or `ws`'s in Node.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws';
 * const ctor: WebSocketConstructor = WebSocket;
 * ```
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => unknown;

/**
 * Options of {@link ReconnectingWebSocket}.
 *
 * @example
 * ```ts
 * const options: ReconnectingWebSocketOptions = { heartbeat: { intervalMs: 15_000, timeoutMs: 30_000 } };
 * ```
 */
export interface ReconnectingWebSocketOptions {
  /** The WebSocket class. Default `globalThis.WebSocket`; pass `ws` in Node for protocol pings. */
  WebSocket?: WebSocketConstructor;
  /**
   * Reconnect delays: exponential with full jitter. Default 500 ms to 30 s, factor 2. A `random`
   * that throws gives each attempt its ceiling delay.
   */
  backoff?: BackoffOptions;
  /** Give up after this many failed attempts in a row. Default: never. */
  maxRetries?: number;
  /**
   * Abandon an attempt that has not opened after this long, in ms, counted from the call of the
   * URL and protocol functions, so one that never settles cannot stall reconnection. Default 10 000.
   */
  connectTimeoutMs?: number;
  /** A connection must stay up this long before the backoff starts over, in ms. Default 5 000. */
  minUptimeMs?: number;
  /** Most messages held while offline. Default 1 000. */
  maxQueuedMessages?: number;
  /** What `send` does when the queue is full: throw `ERR_REALTIME_QUEUE_FULL` (default), or drop a message and fire `drop`. */
  queueOverflow?: 'throw' | 'drop-oldest' | 'drop-newest';
  /**
   * Detects dead connections: every `intervalMs` a ping (protocol ping with `ws`, else `message`),
   * and a reconnect when nothing has arrived for `timeoutMs`. That is checked at each ping, so a
   * dead connection is noticed between `timeoutMs` and `timeoutMs + intervalMs` after the last
   * message or pong, and with a pong answering each ping usually at the latter: 45 s for
   * `{ intervalMs: 15_000, timeoutMs: 30_000 }`.
   */
  heartbeat?: { intervalMs: number; timeoutMs: number; message?: string };
}

/**
 * Refuses what the standard `close()` refuses, before the wrapper changes any state: left to the
 * socket, the throw would come after the wrapper had let go of a socket that is still open.
 */
function checkClose(code: number | undefined, reason: string | undefined): void {
  if (code !== undefined && !(code === 1000 || (Number.isInteger(code) && code >= 3000 && code <= 4999))) {
    throw new PatchbayError('ERR_REALTIME_INPUT', `close code must be 1000 or 3000–4999, got ${describe(code)}`);
  }
  if (reason !== undefined && new TextEncoder().encode(reason).byteLength > 123) {
    throw new PatchbayError('ERR_REALTIME_INPUT', 'close reason must be at most 123 UTF-8 bytes');
  }
}

// RFC 6455: each subprotocol is an RFC 7230 token, as ws checks it
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`|a-z~]+$/;

/**
 * Refuses fixed protocols a WebSocket refuses (a `SyntaxError` in browsers, ws alike), at
 * construction: passed to the socket, the throw would come on every attempt, reconnecting for ever.
 */
function checkProtocols(protocols: unknown): void {
  // null is left as before: both ws and browsers take it as the protocol "null"
  if (protocols === undefined || protocols === null) return;
  const list: unknown[] = Array.isArray(protocols) ? protocols : [protocols];
  const bad = list.find((p, i) => typeof p !== 'string' || !TOKEN.test(p) || list.indexOf(p) !== i);
  if (bad !== undefined || (!Array.isArray(protocols) && typeof protocols !== 'string')) {
    throw new PatchbayError(
      'ERR_REALTIME_INPUT',
      `protocols must be a token or an array of distinct tokens (no spaces or commas), got ${describe(bad ?? protocols)}`,
    );
  }
}

/**
 * The binary types a WebSocket class takes, its default first: the standard two, and with ws
 * (told apart by its ping(), as the heartbeat tells it) also its own, starting at 'nodebuffer'.
 */
function binaryTypesOf(Ctor: WebSocketConstructor): readonly string[] {
  return typeof (Ctor.prototype as { ping?: unknown } | undefined)?.ping === 'function'
    ? ['nodebuffer', 'arraybuffer', 'fragments', 'blob']
    : ['blob', 'arraybuffer'];
}

const BUFFER_TAGS = new Set(['[object ArrayBuffer]', '[object SharedArrayBuffer]', '[object Blob]', '[object File]']);

/**
 * Refuses what no WebSocket sends as given. Queued, it would only reach the socket in the next
 * connection's open callback: ws throws there (out of its event emitter, an uncaught exception)
 * and the flush stops halfway, leaving the rest of the queue and the open event behind. Tags
 * rather than instanceof, so buffers and blobs from another realm pass.
 */
function checkData(data: unknown): void {
  if (typeof data === 'string' || ArrayBuffer.isView(data)) return;
  if (BUFFER_TAGS.has(Object.prototype.toString.call(data))) return;
  throw new PatchbayError(
    'ERR_REALTIME_INPUT',
    `send() takes a string, an ArrayBuffer, a typed array or DataView, or a Blob, got ${describe(data)}`,
  );
}

/**
 * What a queued message will send. A WebSocket takes a buffer's bytes at `send()`; the queue
 * holds it until the next open, by which time a caller that reuses one buffer for every message
 * has overwritten it. Strings and Blobs cannot change.
 */
function snapshot(data: WebSocketData): WebSocketData {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  if (typeof data === 'string' || !('byteLength' in data)) return data;
  return new Uint8Array(data).slice().buffer;
}

/**
 * A `WebSocket` that comes back: the standard API (`send`, `close`, `readyState`, `binaryType`,
 * `onopen` / `onmessage` / `onerror` / `onclose`, `addEventListener`) plus `reconnecting` and
 * `drop` events. After an unexpected close it reconnects with exponential backoff and full
 * jitter, resetting the backoff only once a connection stayed up `minUptimeMs`; messages sent
 * meanwhile wait in a bounded queue and go out in order on reconnect. The URL and protocols may
 * come from a (possibly async) function, called for every attempt, for fresh credentials. A socket
 * closed with `close()` never reconnects, and no `'error'` is ever left unhandled. A fixed URL must
 * be ws, wss, http or https, and absolute outside a browser, and fixed protocols distinct tokens,
 * or the constructor throws `ERR_REALTIME_INPUT`.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws'; // in browsers, leave out the WebSocket option
 * import { ReconnectingWebSocket } from 'patchbay/realtime';
 *
 * const socket = new ReconnectingWebSocket(async () => `wss://chat.example.com/?token=${await getToken()}`, undefined, {
 *   WebSocket,
 *   heartbeat: { intervalMs: 15_000, timeoutMs: 30_000 },
 * });
 * socket.onmessage = (event) => render(event.data);
 * socket.send('hello'); // queued until the first connection opens
 * ```
 */
export class ReconnectingWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  readonly #handlers = new EventHandlers(this);
  #socket: Socket | undefined;
  #state: 0 | 1 | 2 | 3 = 0;
  #closedByUser = false;
  /** A connection's close event is being dispatched: a close() from its handler adds none. */
  #dispatchingClose = false;
  #attempt = 0;
  #openedAt = 0;
  #lastTraffic = 0;
  readonly #binaryTypes: readonly string[];
  #binaryType: string;
  #url = '';
  readonly #queue: WebSocketData[] = [];
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  readonly #target: Resolvable<string | URL>;
  readonly #protocols: Resolvable<string | string[] | undefined>;
  readonly #options: ReconnectingWebSocketOptions & { connectTimeoutMs: number };
  readonly #backoff: Backoff;

  constructor(
    url: Resolvable<string | URL>,
    protocols?: Resolvable<string | string[] | undefined>,
    options: ReconnectingWebSocketOptions = {},
  ) {
    super();
    assertOptionsObject(options, 'ReconnectingWebSocket options', 'ERR_REALTIME_OPTIONS');
    const {
      maxRetries,
      connectTimeoutMs = 10_000,
      minUptimeMs = 5_000,
      maxQueuedMessages = 1_000,
      heartbeat,
    } = options;
    // a function's URL is only known per attempt; a fixed one that cannot connect fails here
    if (typeof url !== 'function') resolveUrl(url, 'url', ['ws:', 'wss:', 'http:', 'https:']);
    if (typeof protocols !== 'function') checkProtocols(protocols);
    const code = 'ERR_REALTIME_OPTIONS';
    if (maxRetries !== undefined) assertNumber(maxRetries, 'maxRetries', code, { min: 0, integer: true });
    assertNumber(connectTimeoutMs, 'connectTimeoutMs', code, { min: 1 });
    assertNumber(minUptimeMs, 'minUptimeMs', code, { min: 0 });
    assertNumber(maxQueuedMessages, 'maxQueuedMessages', code, { min: 0, integer: true });
    if (heartbeat !== undefined) {
      assertNumber(heartbeat.intervalMs, 'heartbeat.intervalMs', code, { min: 1 });
      assertNumber(heartbeat.timeoutMs, 'heartbeat.timeoutMs', code, { min: heartbeat.intervalMs });
    }
    if (options.WebSocket !== undefined) assertFunction(options.WebSocket, 'WebSocket', code);
    const Ctor = options.WebSocket ?? globalThis.WebSocket;
    if (!Ctor) throw new PatchbayError(code, 'no WebSocket class: pass one (for example `ws`) as options.WebSocket');
    this.#binaryTypes = binaryTypesOf(Ctor);
    this.#binaryType = this.#binaryTypes[0]!;
    this.#target = url;
    this.#protocols = protocols;
    this.#options = { ...options, connectTimeoutMs, minUptimeMs, maxQueuedMessages };
    this.#backoff = reconnectBackoff(options.backoff, { initialMs: 500, maxMs: 30_000 });
    void this.#connect();
  }

  /**
   * Called when a connection opens (the first and every reconnection). Like every `on…` handler,
   * it runs as a listener does: what it throws is reported (`uncaughtException` in Node,
   * `reportError` in browsers) and the connection and its reconnections carry on.
   */
  get onopen(): ((event: Event) => void) | null {
    return this.#handlers.get('open');
  }

  set onopen(handler: ((event: Event) => void) | null) {
    this.#handlers.set('open', handler);
  }

  /** Called for every message. */
  get onmessage(): ((event: MessageEvent) => void) | null {
    return this.#handlers.get('message');
  }

  set onmessage(handler: ((event: MessageEvent) => void) | null) {
    this.#handlers.set('message', handler);
  }

  /** Called on socket errors; the wrapper handles them, this is for logging. */
  get onerror(): ((event: Event) => void) | null {
    return this.#handlers.get('error');
  }

  set onerror(handler: ((event: Event) => void) | null) {
    this.#handlers.set('error', handler);
  }

  /** Called whenever a connection closes (before a reconnection, and the final time). */
  get onclose(): ((event: Event) => void) | null {
    return this.#handlers.get('close');
  }

  set onclose(handler: ((event: Event) => void) | null) {
    this.#handlers.set('close', handler);
  }

  /** `CONNECTING` while (re)connecting, `OPEN`, then `CLOSING` / `CLOSED` after `close()` or giving up. */
  get readyState(): 0 | 1 | 2 | 3 {
    return this.#state;
  }

  /** The URL of the current (or last) connection. */
  get url(): string {
    return this.#url;
  }

  /**
   * How binary messages arrive, for every connection: the same before, during and between them.
   * By default the WebSocket's own: `blob`, or `nodebuffer` with `ws`. It takes `blob` and
   * `arraybuffer`, and with `ws` also `nodebuffer` and `fragments`; any other value is ignored
   * without an error, as a WebSocket ignores it.
   */
  get binaryType(): string {
    return this.#binaryType;
  }

  set binaryType(value: string) {
    if (!this.#binaryTypes.includes(value)) return;
    this.#binaryType = value;
    if (this.#socket) this.#applyBinaryType(this.#socket);
  }

  /** Reads the value back: a ws older than 8.18 ignores `blob`, and what the socket uses is what counts. */
  #applyBinaryType(socket: Socket): void {
    socket.binaryType = this.#binaryType;
    this.#binaryType = socket.binaryType;
  }

  /** Bytes the current connection has not sent yet. */
  get bufferedAmount(): number {
    return this.#socket?.bufferedAmount ?? 0;
  }

  /** Messages waiting for a connection. */
  get queuedMessages(): number {
    return this.#queue.length;
  }

  /** The subprotocol the server chose. */
  get protocol(): string {
    return this.#socket?.protocol ?? '';
  }

  /** The extensions the server chose. */
  get extensions(): string {
    return this.#socket?.extensions ?? '';
  }

  /**
   * Sends now when open; otherwise queues the message for the next connection. Throws
   * `ERR_REALTIME_INPUT` for anything but a string, `ArrayBuffer`, typed array, `DataView` or
   * `Blob` (an object to `JSON.stringify` first, say), whether open or not.
   */
  send(data: WebSocketData): void {
    if (this.#closedByUser || this.#state === 3) {
      throw new PatchbayError('ERR_REALTIME_CLOSED', 'send() after close()');
    }
    checkData(data);
    if (this.#state === 1 && this.#socket?.readyState === 1) {
      this.#socket.send(data);
      return;
    }
    const { maxQueuedMessages, queueOverflow = 'throw' } = this.#options;
    if (this.#queue.length >= (maxQueuedMessages ?? 1_000)) {
      if (queueOverflow === 'throw') {
        throw new PatchbayError(
          'ERR_REALTIME_QUEUE_FULL',
          `${this.#queue.length} messages already wait for a connection`,
        );
      }
      // with maxQueuedMessages 0 nothing is queued, so the message being sent is the oldest
      const dropOldest = queueOverflow === 'drop-oldest' && this.#queue.length > 0;
      this.dispatchEvent(new CustomEvent('drop', { detail: { data: dropOldest ? this.#queue.shift() : data } }));
      if (!dropOldest) return;
    }
    this.#queue.push(snapshot(data));
  }

  /**
   * Closes for good: no reconnection, queued messages discarded. As with the standard WebSocket,
   * `code` must be 1000 or 3000–4999 and `reason` at most 123 UTF-8 bytes; otherwise this throws
   * `ERR_REALTIME_INPUT` (where the standard throws a `DOMException`) and changes nothing.
   */
  close(code?: number, reason?: string): void {
    checkClose(code, reason);
    if (this.#closedByUser) return;
    this.#closedByUser = true;
    this.#queue.length = 0;
    this.#stopTimers();
    const socket = this.#socket;
    if (socket && socket.readyState <= 1) {
      this.#state = 2;
      socket.close(code, reason);
    } else {
      // no socket to close (waiting to reconnect): the close event a caller of close() waits for
      // comes all the same, after this call returns, as a socket's would; called from a close
      // event's handler, that event was it
      this.#state = 3;
      if (!this.#dispatchingClose) {
        const event = new Event('close');
        Object.assign(event, { code: code ?? 1005, reason: reason ?? '', wasClean: true });
        queueMicrotask(() => this.dispatchEvent(event));
      }
    }
  }

  #stopTimers(): void {
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#retryTimer);
    clearInterval(this.#heartbeatTimer);
  }

  async #connect(): Promise<void> {
    if (this.#closedByUser) return;
    this.#state = 0;
    let socket: Socket | undefined;
    let timedOut = false;
    // the attempt starts before the URL and protocol functions are asked: a token fetch that
    // hangs would otherwise leave the client CONNECTING for good, with no reconnection
    this.#connectTimer = setTimeout(() => {
      const reason = new PatchbayError('ERR_REALTIME_TIMEOUT', `not open after ${this.#options.connectTimeoutMs} ms`);
      if (socket) {
        this.#abandon(socket, reason);
        return;
      }
      timedOut = true;
      this.#reconnect(reason);
    }, timerDelay(this.#options.connectTimeoutMs));
    try {
      const target = typeof this.#target === 'function' ? await this.#target() : this.#target;
      const protocols = typeof this.#protocols === 'function' ? await this.#protocols() : this.#protocols;
      // a late answer of an abandoned attempt: the next attempt is already on its way
      if (this.#closedByUser || timedOut) return;
      this.#url = String(target);
      const Ctor = (this.#options.WebSocket ?? globalThis.WebSocket) as unknown as new (
        url: string,
        protocols?: string | string[],
      ) => Socket;
      socket = new Ctor(this.#url, protocols);
    } catch (error) {
      if (timedOut) return;
      clearTimeout(this.#connectTimer);
      this.#reconnect(error);
      return;
    }
    this.#socket = socket;
    this.#applyBinaryType(socket);
    socket.onopen = (event) => {
      clearTimeout(this.#connectTimer);
      if (this.#closedByUser) {
        socket.close();
        return;
      }
      this.#state = 1;
      this.#openedAt = Date.now();
      this.#lastTraffic = this.#openedAt;
      while (this.#queue.length > 0 && socket.readyState === 1) socket.send(this.#queue.shift()!);
      this.#startHeartbeat(socket);
      this.dispatchEvent(new Event(event.type));
    };
    const origin = originOf(typeof socket.url === 'string' ? socket.url : this.#url);
    const tracking = this.#options.heartbeat !== undefined;
    const receive = (data: unknown): void => {
      // ws goes on emitting what it holds after terminate() (a message still being inflated, data
      // read before it): from an abandoned socket, whose close the user has seen, that would come
      // out of order, even after the next connection opened
      if (this.#socket !== socket) return;
      if (tracking) this.#lastTraffic = Date.now();
      this.dispatchEvent(messageEvent('message', data, origin));
    };
    // ws: its EventEmitter spares the event object ws would build for onmessage; text frames
    // (always a Buffer from ws) become strings, as the WebSocket API delivers them
    if (typeof socket.on === 'function')
      socket.on('message', (data, isBinary) => receive(isBinary ? data : (data as { toString(): string }).toString()));
    else socket.onmessage = (event) => receive(event.data);
    socket.onerror = () => {
      this.dispatchEvent(new Event('error'));
    };
    socket.onclose = ({ code, reason, wasClean }) => {
      if (this.#socket !== socket) return;
      this.#closed({ code, reason, wasClean });
    };
  }

  #startHeartbeat(socket: Socket): void {
    const { heartbeat } = this.#options;
    if (!heartbeat) return;
    // ws answers protocol pings with pongs; browsers cannot ping, so an application message goes out
    const protocolPing = typeof socket.ping === 'function' && typeof socket.on === 'function';
    if (protocolPing) {
      // a late pong of an abandoned socket would vouch for the next connection
      socket.on?.('pong', () => {
        if (this.#socket === socket) this.#lastTraffic = Date.now();
      });
    }
    this.#heartbeatTimer = setInterval(() => {
      if (Date.now() - this.#lastTraffic > heartbeat.timeoutMs) {
        this.#abandon(
          socket,
          new PatchbayError('ERR_REALTIME_HEARTBEAT', `nothing received for ${heartbeat.timeoutMs} ms`),
        );
        return;
      }
      if (socket.readyState !== 1) return;
      if (protocolPing) socket.ping?.();
      else socket.send(heartbeat.message ?? 'ping');
    }, timerDelay(heartbeat.intervalMs));
  }

  /** Drops a socket that will not finish on its own (never opened, or dead) and reconnects. */
  #abandon(socket: Socket, reason: PatchbayError): void {
    if (this.#socket !== socket) return;
    socket.onopen = null;
    socket.onclose = null;
    socket.onerror = () => {};
    try {
      if (socket.terminate) socket.terminate();
      else socket.close();
    } catch {
      // closing a socket that is still connecting may throw in some implementations; it is gone either way
    }
    this.#closed({ code: 1006, reason: reason.message, wasClean: false }, reason);
  }

  #closed(details: { code: number; reason: string; wasClean: boolean }, cause?: unknown): void {
    this.#stopTimers();
    this.#socket = undefined;
    const event = new Event('close');
    Object.assign(event, details);
    if (this.#closedByUser) {
      this.#state = 3;
      this.dispatchEvent(event);
      return;
    }
    if (this.#state === 1 && Date.now() - this.#openedAt >= (this.#options.minUptimeMs ?? 0)) this.#attempt = 0;
    // no longer OPEN while its close event runs, as a WebSocket is CLOSED by then: CONNECTING,
    // since a reconnection follows (giving up fires a last close event, in state CLOSED)
    this.#state = 0;
    this.#dispatchingClose = true;
    try {
      this.dispatchEvent(event);
    } finally {
      this.#dispatchingClose = false;
    }
    this.#reconnect(cause ?? new PatchbayError('ERR_REALTIME_CLOSED', `closed with ${details.code}`));
  }

  #reconnect(reason: unknown): void {
    if (this.#closedByUser) return;
    this.#attempt++;
    const { maxRetries } = this.#options;
    if (maxRetries !== undefined && this.#attempt > maxRetries) {
      this.#closedByUser = true;
      this.#state = 3;
      this.#queue.length = 0;
      const event = new Event('close');
      Object.assign(event, { code: 1006, reason: 'gave up reconnecting', wasClean: false });
      this.dispatchEvent(event);
      return;
    }
    this.#state = 0;
    const delayMs = reconnectDelay(this.#backoff, this.#attempt - 1);
    this.dispatchEvent(
      new CustomEvent<ReconnectingDetail>('reconnecting', { detail: { attempt: this.#attempt, delayMs, reason } }),
    );
    if (this.#closedByUser) return;
    this.#retryTimer = setTimeout(() => void this.#connect(), timerDelay(delayMs));
  }
}

/**
 * The origin of a socket URL, for its message events. A browser accepts a relative URL and
 * resolves it against the page; `new URL` alone would throw on one, inside the connect loop.
 */
function originOf(url: string): string {
  try {
    return new URL(url, (globalThis as { location?: { href?: string } }).location?.href).origin;
  } catch {
    return 'null';
  }
}
