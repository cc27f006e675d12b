import { PatchbayError } from '../core/errors';

/**
 * One dispatched server-sent event.
 *
 * @example
 * ```ts
 * const event: SseEvent = { type: 'message', data: 'hello', lastEventId: '42' };
 * ```
 */
export interface SseEvent {
  /** The `event:` field, or `message`. */
  type: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The last `id:` seen up to this event (kept across events, as the spec says). */
  lastEventId: string;
}

/**
 * Callbacks of {@link createSseParser}.
 *
 * @example
 * ```ts
 * const handlers: SseParserHandlers = { onEvent: (event) => console.log(event.data) };
 * ```
 */
export interface SseParserHandlers {
  /** Called for every dispatched event. */
  onEvent(event: SseEvent): void;
  /** Called with a valid `retry:` value, in ms. */
  onRetry?(ms: number): void;
  /** Called with the text of a comment line (after the colon and one optional space). */
  onComment?(comment: string): void;
}

/**
 * A push parser for `text/event-stream`.
 *
 * @example
 * ```ts
 * const parser: SseParser = createSseParser({ onEvent: console.log });
 * parser.feed('data: hi\n\n');
 * ```
 */
export interface SseParser {
  /** Parses the next chunk: text, or bytes (UTF-8, which may be split anywhere). */
  feed(chunk: string | Uint8Array): void;
  /**
   * Starts a new stream (a reconnection): drops a partial line and an undispatched event, and
   * will strip a leading BOM again. `lastEventId` is kept, as an EventSource keeps it.
   */
  reset(): void;
  /** The id of the last dispatched event boundary: what to send as `Last-Event-ID`. */
  readonly lastEventId: string;
}

const LF = 10;
const CR = 13;
const SPACE = 32;

/**
 * Creates a parser that follows the WHATWG HTML "event stream interpretation" exactly: lines end
 * with CRLF, LF or CR (also when split across chunks); one leading BOM is stripped; one space
 * after the colon is stripped; a line without a colon is a field with an empty value; comments
 * start with a colon; an `id` containing NULL is ignored; `retry` counts only when all ASCII
 * digits; an event with no `data` is not dispatched; one trailing LF is removed from data; and
 * an unterminated final event is never dispatched. No `node:` imports: it runs in browsers.
 *
 * @example
 * ```ts
 * import { createSseParser } from 'patchbay/realtime';
 *
 * const parser = createSseParser({
 *   onEvent: ({ type, data, lastEventId }) => console.log(type, data, lastEventId),
 *   onRetry: (ms) => console.log(`server asks for ${ms} ms between reconnects`),
 * });
 * const response = await fetch('https://example.com/stream');
 * for await (const chunk of response.body!) parser.feed(chunk);
 * ```
 */
export function createSseParser(handlers: SseParserHandlers): SseParser {
  if (typeof handlers?.onEvent !== 'function') {
    throw new PatchbayError('ERR_REALTIME_OPTIONS', 'createSseParser needs an onEvent handler');
  }
  const { onEvent, onRetry, onComment } = handlers;
  let decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let started = false;
  let partial = '';
  let afterCr = false;
  let data = '';
  let type = '';
  let idBuffer = '';
  let lastEventId = '';

  const dispatch = (): void => {
    lastEventId = idBuffer;
    if (data === '') {
      type = '';
      return;
    }
    const event = {
      type: type || 'message',
      data: data.charCodeAt(data.length - 1) === LF ? data.slice(0, -1) : data,
      lastEventId,
    };
    data = '';
    type = '';
    onEvent(event);
  };

  const line = (text: string): void => {
    if (text.length === 0) {
      dispatch();
      return;
    }
    const colon = text.indexOf(':');
    if (colon === 0) {
      onComment?.(text.charCodeAt(1) === SPACE ? text.slice(2) : text.slice(1));
      return;
    }
    let field = text;
    let value = '';
    if (colon > 0) {
      field = text.slice(0, colon);
      value = text.slice(text.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1);
    }
    switch (field) {
      case 'data':
        data += `${value}\n`;
        break;
      case 'event':
        type = value;
        break;
      case 'id':
        if (!value.includes('\0')) idBuffer = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) onRetry?.(Number.parseInt(value, 10));
        break;
    }
  };

  const feedText = (input: string): void => {
    let text = input;
    if (!started) {
      if (text.length === 0) return;
      started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    if (afterCr) {
      afterCr = false;
      if (text.charCodeAt(0) === LF) start = 1;
    }
    const length = text.length;
    // remember where the next CR and LF are, so a chunk is scanned once, not once per line
    let nextLf = text.indexOf('\n', start);
    let nextCr = text.indexOf('\r', start);
    while (start < length) {
      if (nextLf !== -1 && nextLf < start) nextLf = text.indexOf('\n', start);
      if (nextCr !== -1 && nextCr < start) nextCr = text.indexOf('\r', start);
      const end = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
      if (end === -1) break;
      const piece = text.slice(start, end);
      const content = partial === '' ? piece : partial + piece;
      partial = '';
      start = end + 1;
      if (text.charCodeAt(end) === CR) {
        if (start === length) afterCr = true;
        else if (text.charCodeAt(start) === LF) start++;
      }
      line(content);
    }
    if (start < length) partial += text.slice(start);
  };

  return {
    feed(chunk) {
      feedText(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    },
    reset() {
      decoder = new TextDecoder('utf-8', { ignoreBOM: true });
      started = false;
      partial = '';
      afterCr = false;
      data = '';
      type = '';
      idBuffer = lastEventId;
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}
