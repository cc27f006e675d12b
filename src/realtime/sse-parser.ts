import { assertFunction, assertNumber, describe } from '../core/assert';
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
 * const handlers: SseParserHandlers = { onEvent: (event) => show(event.data) };
 * ```
 */
export interface SseParserHandlers {
  /** Called for every dispatched event. */
  onEvent(event: SseEvent): void;
  /** Called with a valid `retry:` value, in ms. */
  onRetry?(ms: number): void;
  /** Called with the text of a comment line (after the colon and one optional space). */
  onComment?(comment: string): void;
  /**
   * The most characters an unfinished line plus an undispatched event's data may hold across
   * chunks. Past it, `feed` drops the event and throws `ERR_REALTIME_EVENT_TOO_LARGE`, so a
   * stream that never ends its line cannot grow memory without bound. Later chunks skip the rest
   * of that event, up to its blank line, holding none of it: nothing of it is dispatched, and the
   * rest of its cut line is not read as fields. Default 16 Mi (16 777 216).
   */
  maxEventLength?: number;
}

/** Default of {@link SseParserHandlers.maxEventLength}. */
const MAX_EVENT_LENGTH = 16 * 1024 * 1024;

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

/** What `partial` holds while the rest of a dropped line is skipped: any one character. */
const SKIPPED_LINE = '-';

const LF = 10;
const CR = 13;
const SPACE = 32;
const COLON = 58;

// Field prefixes are compared per char code: in the hot loop this beats startsWith and slicing.
const isData = (text: string, i: number): boolean =>
  text.charCodeAt(i) === 100 &&
  text.charCodeAt(i + 1) === 97 &&
  text.charCodeAt(i + 2) === 116 &&
  text.charCodeAt(i + 3) === 97 &&
  text.charCodeAt(i + 4) === COLON;
const isEvent = (text: string, i: number): boolean =>
  text.charCodeAt(i) === 101 &&
  text.charCodeAt(i + 1) === 118 &&
  text.charCodeAt(i + 2) === 101 &&
  text.charCodeAt(i + 3) === 110 &&
  text.charCodeAt(i + 4) === 116 &&
  text.charCodeAt(i + 5) === COLON;
const isId = (text: string, i: number): boolean =>
  text.charCodeAt(i) === 105 && text.charCodeAt(i + 1) === 100 && text.charCodeAt(i + 2) === COLON;

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
 *   onEvent: ({ type, data, lastEventId }) => show(type, data, lastEventId),
 *   onRetry: (ms) => show(`server asks for ${ms} ms between reconnects`),
 * });
 * const response = await fetch('https://example.com/stream');
 * for await (const chunk of response.body!) parser.feed(chunk);
 * ```
 */
export function createSseParser(handlers: SseParserHandlers): SseParser {
  if (typeof handlers?.onEvent !== 'function') {
    throw new PatchbayError('ERR_REALTIME_OPTIONS', 'createSseParser needs an onEvent handler');
  }
  const { onEvent, onRetry, onComment, maxEventLength = MAX_EVENT_LENGTH } = handlers;
  assertNumber(maxEventLength, 'maxEventLength', 'ERR_REALTIME_OPTIONS', { min: 1 });
  if (onRetry !== undefined) assertFunction(onRetry, 'onRetry', 'ERR_REALTIME_OPTIONS');
  if (onComment !== undefined) assertFunction(onComment, 'onComment', 'ERR_REALTIME_OPTIONS');
  let decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let started = false;
  let partial = '';
  let afterCr = false;
  let data = '';
  let dataLines = 0;
  let type = '';
  let idBuffer = '';
  let lastEventId = '';
  // set when an event is dropped for its size: the rest of it, up to its blank line, is skipped,
  // else its last data lines would be dispatched as an event of their own and the text after the
  // cut in its line (data, so anyone's) read as `id:` or `data:` fields
  let skipping = false;

  const dispatch = (): void => {
    lastEventId = idBuffer;
    if (dataLines === 0) {
      type = '';
      return;
    }
    const event = { type: type || 'message', data, lastEventId };
    data = '';
    dataLines = 0;
    type = '';
    onEvent(event);
  };

  /** The value of field `name` on the line text[start, end), or undefined when the line is another field. */
  const fieldValue = (text: string, start: number, end: number, name: string): string | undefined => {
    const after = start + name.length;
    if (after > end || !text.startsWith(name, start)) return undefined;
    if (after === end) return '';
    if (text.charCodeAt(after) !== COLON) return undefined;
    return text.slice(text.charCodeAt(after + 1) === SPACE && after + 1 < end ? after + 2 : after + 1, end);
  };

  // Fields are matched in place by name; any other field is ignored, so no line is ever copied
  // or searched for its colon.
  const line = (text: string, start: number, end: number): void => {
    if (skipping) {
      if (start === end) skipping = false;
      return;
    }
    if (start === end) {
      dispatch();
      return;
    }
    let value: string | undefined;
    switch (text.charCodeAt(start)) {
      case COLON:
        onComment?.(text.slice(text.charCodeAt(start + 1) === SPACE && start + 1 < end ? start + 2 : start + 1, end));
        return;
      case 100: // d
        value = fieldValue(text, start, end, 'data');
        if (value !== undefined) {
          data = dataLines === 0 ? value : `${data}\n${value}`;
          dataLines++;
        }
        return;
      case 101: // e
        value = fieldValue(text, start, end, 'event');
        if (value !== undefined) type = value;
        return;
      case 105: // i
        value = fieldValue(text, start, end, 'id');
        if (value !== undefined && !value.includes('\0')) idBuffer = value;
        return;
      case 114: // r
        value = fieldValue(text, start, end, 'retry');
        if (value !== undefined && /^[0-9]+$/.test(value)) onRetry?.(Number.parseInt(value, 10));
        return;
    }
  };

  // Real streams end lines with LF only; such a chunk is split with one indexOf per line and
  // its data, event and id lines (nearly all of them) are handled inline, without a call per line.
  const feedLfOnly = (text: string, from: number): number => {
    let start = from;
    let end = text.indexOf('\n', start);
    while (end !== -1) {
      if (start === end) {
        dispatch();
      } else if (isData(text, start)) {
        const value = text.slice(text.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5, end);
        if (dataLines === 0 && text.charCodeAt(end + 1) === LF) {
          // a one-line event: dispatch it here and skip its blank line
          lastEventId = idBuffer;
          const event = { type: type || 'message', data: value, lastEventId };
          type = '';
          start = end + 2;
          end = text.indexOf('\n', start);
          onEvent(event);
          continue;
        }
        data = dataLines === 0 ? value : `${data}\n${value}`;
        dataLines++;
      } else if (isEvent(text, start)) {
        type = text.slice(text.charCodeAt(start + 6) === SPACE ? start + 7 : start + 6, end);
      } else if (isId(text, start)) {
        const value = text.slice(text.charCodeAt(start + 3) === SPACE ? start + 4 : start + 3, end);
        if (!value.includes('\0')) idBuffer = value;
      } else {
        line(text, start, end);
      }
      start = end + 1;
      end = text.indexOf('\n', start);
    }
    return start;
  };

  const feedAnyEnding = (text: string, from: number): number => {
    let start = from;
    const length = text.length;
    // remember where the next CR and LF are, so a chunk is scanned once, not once per line
    let nextLf = text.indexOf('\n', start);
    let nextCr = text.indexOf('\r', start);
    while (start < length) {
      if (nextLf !== -1 && nextLf < start) nextLf = text.indexOf('\n', start);
      if (nextCr !== -1 && nextCr < start) nextCr = text.indexOf('\r', start);
      const end = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
      if (end === -1) break;
      if (text.charCodeAt(end) === CR && end + 1 === length) afterCr = true;
      line(text, start, end);
      start = text.charCodeAt(end) === CR && text.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
    }
    return start;
  };

  // Checked once a chunk: what one chunk holds is already in memory; what chunks pile up is not.
  const limitHeld = (): void => {
    const held = partial.length + data.length;
    if (held <= maxEventLength) return;
    // mid-line, the next chunk goes on with this line: keep it known as unfinished, not its text
    partial = partial === '' ? '' : SKIPPED_LINE;
    data = '';
    dataLines = 0;
    type = '';
    idBuffer = lastEventId;
    skipping = true;
    throw new PatchbayError(
      'ERR_REALTIME_EVENT_TOO_LARGE',
      `an event or line of more than ${maxEventLength} characters (${held} held); it was dropped`,
    );
  };

  const feedText = (input: string): void => {
    // nothing to parse, and it must not clear afterCr: an empty chunk between a CR and its LF
    // would turn the LF into a blank line and split the event
    if (input.length === 0) return;
    let text = input;
    if (!started) {
      started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    if (afterCr) {
      afterCr = false;
      if (text.charCodeAt(0) === LF) start = 1;
    }
    if (partial !== '') {
      // finish the line the last chunk left open before splitting the rest of this one
      const lf = text.indexOf('\n', start);
      const cr = text.indexOf('\r', start);
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (end === -1) {
        if (!skipping) partial += start === 0 ? text : text.slice(start);
        limitHeld();
        return;
      }
      const whole = partial + text.slice(start, end);
      partial = '';
      if (text.charCodeAt(end) === CR && end + 1 === text.length) afterCr = true;
      line(whole, 0, whole.length);
      start = text.charCodeAt(end) === CR && text.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
    }
    // feedLfOnly handles most lines inline, never asking `line` whether they are skipped
    start = !skipping && text.indexOf('\r', start) === -1 ? feedLfOnly(text, start) : feedAnyEnding(text, start);
    if (start < text.length) partial = skipping ? SKIPPED_LINE : text.slice(start);
    limitHeld();
  };

  return {
    feed(chunk) {
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
        throw new PatchbayError('ERR_REALTIME_INPUT', `feed() takes a string or a Uint8Array, got ${describe(chunk)}`);
      }
      feedText(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    },
    reset() {
      decoder = new TextDecoder('utf-8', { ignoreBOM: true });
      started = false;
      partial = '';
      afterCr = false;
      data = '';
      dataLines = 0;
      type = '';
      idBuffer = lastEventId;
      skipping = false;
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}
