import { assertNumber, assertOptionsObject } from '../core/assert';
import { PatchbayError } from '../core/errors';
import { jsonText } from '../core/json';
import { MAX_TIMER_MS, timerDelay } from '../core/timeout';

/**
 * Options of {@link createSseStream}.
 *
 * @example
 * ```ts
 * const options: SseStreamOptions = { heartbeatMs: 15_000, retryMs: 2_000 };
 * ```
 */
export interface SseStreamOptions {
  /** Sends a comment line this often, so proxies and clients see the stream is alive. Default 15 000; 0 turns it off. */
  heartbeatMs?: number;
  /**
   * Sent once as `retry:`: how long clients wait before reconnecting, in ms. An integer from 0 to
   * 2 147 483 647 (a timer's range: past it, browsers wait 1 ms).
   */
  retryMs?: number;
  /**
   * How far a client may fall behind, in bytes. node:http sends what one run of code writes
   * (everything written before it awaits or returns to the event loop) as one batch, and counts
   * the batch unsent until the client has taken all of it. So a burst of any size written in one
   * run while nothing sent earlier is still on its way, such as a replay after `Last-Event-ID`,
   * goes out whole, and this limit applies to what later runs queue behind a batch still on its
   * way. Past it the client is not keeping up: the stream closes itself by destroying the
   * response, and the client's EventSource reconnects with `Last-Event-ID` and resumes. A client
   * that stops reading thus costs at most the batch being sent plus this limit plus the event
   * that crossed it. A replay written over several runs (a page per query, say) queues every page
   * behind the first: await `once(res, 'drain')` between pages whenever `res.writableNeedDrain`.
   * A positive integer or `Infinity` (no limit). Default 8 MiB (8 388 608).
   */
  maxBufferedBytes?: number;
}

/**
 * What {@link createSseStream} uses of a node:http `ServerResponse`, which it accepts. Typed by
 * shape rather than by `node:http`, so that `patchbay/realtime`, whose clients run in browsers,
 * type-checks in a project without `@types/node`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 *
 * createServer((req, res) => {
 *   const response: SseResponse = res;
 *   createSseStream(response).send({ data: 'hello' });
 * });
 * ```
 */
export interface SseResponse {
  /** True once the response was destroyed (the client left, or the stream cut it off). */
  readonly destroyed: boolean;
  /** True once `end()` was called. */
  readonly writableEnded: boolean;
  /** Bytes written and not yet sent: what `maxBufferedBytes` bounds. */
  readonly writableLength: number;
  /** The connection; its corked count tells one run of writes from the next. */
  readonly socket: { readonly writableCorked: number } | null;
  /** Writes one frame. */
  write(chunk: string): boolean;
  /** Ends the stream cleanly. */
  end(): unknown;
  /** Cuts the connection: for a client that stopped reading. */
  destroy(): unknown;
  /** Tells the stream the client left, to stop its heartbeat. */
  once(event: 'close', listener: () => void): unknown;
  /** Errors after the client left, which the stream swallows so they do not crash the process. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Sends the status and the event-stream headers. */
  writeHead(statusCode: number, headers: Record<string, string>): unknown;
  /** Sends the headers at once, before the first event. */
  flushHeaders(): void;
}

/**
 * One event to send.
 *
 * @example
 * ```ts
 * const message: SseMessage = { id: '42', event: 'order', data: { status: 'shipped' } };
 * ```
 */
export interface SseMessage {
  /** Becomes the client's `lastEventId`, sent back as `Last-Event-ID` on reconnect. */
  id?: string;
  /** The event name; clients listen with `addEventListener(event, ...)`. Default `message`. */
  event?: string;
  /**
   * A string is sent as is (split into `data:` lines); anything else as JSON. A value JSON cannot
   * encode (undefined, a function, a BigInt, a cycle) throws `ERR_REALTIME_INPUT`.
   */
  data: unknown;
}

/**
 * A server-sent event stream on a node:http response.
 *
 * @example
 * ```ts
 * const stream: SseStream = createSseStream(res);
 * stream.send({ data: 'hello' });
 * ```
 */
export interface SseStream {
  /**
   * Writes one event. Returns false once the stream is closed (nothing is written then), and when
   * this event took what queues behind the batch being sent past `maxBufferedBytes`: the stream
   * closed itself and the event is lost with the connection (the client resumes from its
   * `Last-Event-ID`).
   */
  send(message: SseMessage): boolean;
  /** Writes a comment line (ignored by clients; useful for keep-alives). Returns false as `send` does. */
  comment(text: string): boolean;
  /** Ends the response and stops the heartbeat. Safe to call twice. */
  close(): void;
  /**
   * True once closed by either side or after the client read too slowly (`maxBufferedBytes`);
   * from the start when created on a closed response.
   */
  readonly closed: boolean;
}

/** Default of {@link SseStreamOptions.maxBufferedBytes}. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

const LINE_BREAK = /\r\n|\r|\n/;

function checkField(value: string | undefined, name: string): void {
  if (value !== undefined && (typeof value !== 'string' || /[\r\n\0]/.test(value))) {
    throw new PatchbayError('ERR_REALTIME_INPUT', `${name} must be a string without CR, LF or NULL`);
  }
}

/**
 * Turns a node:http response into a `text/event-stream`: the right headers (no caching, no proxy
 * buffering), `id` / `event` / `data` encoded so multi-line data survives, heartbeat comments,
 * an initial `retry`, and a clean end. The heartbeat timer stops when either side closes. A
 * response whose client already left (common after an `await` in the handler) gives a stream
 * that is closed from the start: nothing is written and no timer runs. A client that stops
 * reading is cut off once more than `maxBufferedBytes` queue behind the batch being sent.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createSseStream } from 'patchbay/realtime';
 *
 * createServer((req, res) => {
 *   const stream = createSseStream(res, { retryMs: 2_000 });
 *   const from = Number(req.headers['last-event-id'] ?? 0);
 *   for (const order of ordersAfter(from)) stream.send({ id: String(order.seq), event: 'order', data: order });
 * }).listen(8080);
 * ```
 */
export function createSseStream(res: SseResponse, options: SseStreamOptions = {}): SseStream {
  assertOptionsObject(options, 'createSseStream options', 'ERR_REALTIME_OPTIONS');
  const { heartbeatMs = 15_000, retryMs, maxBufferedBytes = MAX_BUFFERED_BYTES } = options;
  assertNumber(heartbeatMs, 'heartbeatMs', 'ERR_REALTIME_OPTIONS', { min: 0 });
  // past a timer's range, browsers wait 1 ms instead, and '1e+21' is no number to any client
  if (retryMs !== undefined) {
    assertNumber(retryMs, 'retryMs', 'ERR_REALTIME_OPTIONS', { min: 0, max: MAX_TIMER_MS, integer: true });
  }
  if (maxBufferedBytes !== Number.POSITIVE_INFINITY) {
    assertNumber(maxBufferedBytes, 'maxBufferedBytes', 'ERR_REALTIME_OPTIONS', { min: 1, integer: true });
  }
  if (typeof res?.write !== 'function')
    throw new PatchbayError('ERR_REALTIME_OPTIONS', 'createSseStream needs a node:http ServerResponse');

  // a 'close' that already happened is not emitted again: without this check the heartbeat
  // would run forever and send() would report success to nobody
  let closed = res.destroyed || res.writableEnded;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const stop = (): void => {
    closed = true;
    clearInterval(heartbeat);
  };
  // Something else (a request timeout, an error handler) may have ended the response before its
  // 'close' arrives: writing then makes the response emit ERR_STREAM_WRITE_AFTER_END as 'error'.
  const isClosed = (): boolean => {
    if (!closed && (res.writableEnded || res.destroyed)) stop();
    return closed;
  };
  // node:http sends what one run of code writes as one batch when the run ends, and counts a
  // batch unsent until the client has taken all of it: a burst bigger than the kernel's buffer
  // stays unsent for as long as a healthy client takes to read it. So the limit is applied to
  // what waits behind the batch being sent, never to that batch, whatever its size.
  // Offsets count bytes handed to the response, as res.writableLength counts them.
  let written = res.writableLength;
  // where the batch being sent ends; undefined while that batch is the run being written
  let batchEnd: number | undefined = written;
  const startRun = (): void => {
    batchEnd ??= written;
    const sent = written - res.writableLength;
    // once the batch is sent, what queued behind it went out as the next one, or nothing did
    if (sent >= batchEnd) batchEnd = sent === written ? undefined : written;
  };
  // false when the client reads too slowly: the connection is dropped rather than buffered
  const write = (text: string): boolean => {
    if (isClosed()) return false;
    // node:http corks the socket at a run's first write, and uncorks it when the run ends
    if (!res.socket?.writableCorked) startRun();
    const before = res.writableLength;
    res.write(text);
    written += res.writableLength - before;
    if (batchEnd === undefined || written - batchEnd <= maxBufferedBytes) return true;
    stop();
    res.destroy();
    return false;
  };

  if (!closed) {
    res.once('close', stop);
    // an 'error' with no listener ends the process; a response that failed is just closed
    res.on('error', stop);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    if (retryMs !== undefined) write(`retry: ${retryMs}\n\n`);
    if (heartbeatMs > 0 && !closed) heartbeat = setInterval(() => write(':\n\n'), timerDelay(heartbeatMs));
  }

  return {
    send(message) {
      if (typeof message !== 'object' || message === null) {
        throw new PatchbayError('ERR_REALTIME_INPUT', 'send() needs a { data, id?, event? } object');
      }
      const { id, event, data } = message;
      checkField(id, 'id');
      checkField(event, 'event');
      const text =
        typeof data === 'string'
          ? data
          : jsonText(data, 'ERR_REALTIME_INPUT', 'data must be a string or a value JSON can encode');
      if (isClosed()) return false;
      let frame = id === undefined ? '' : `id: ${id}\n`;
      if (event !== undefined) frame += `event: ${event}\n`;
      for (const line of text.split(LINE_BREAK)) frame += `data: ${line}\n`;
      return write(`${frame}\n`);
    },
    comment(text) {
      if (isClosed()) return false;
      let frame = '';
      for (const line of String(text).split(LINE_BREAK)) frame += `: ${line}\n`;
      return write(`${frame}\n`);
    },
    close() {
      if (isClosed()) return;
      stop();
      res.end();
    },
    get closed() {
      return isClosed();
    },
  };
}
