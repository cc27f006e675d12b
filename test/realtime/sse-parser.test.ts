import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/core/random';
import { createSseParser, type SseEvent } from '../../src/realtime/sse-parser';

interface Parsed {
  events: SseEvent[];
  retries: number[];
  comments: string[];
  lastEventId: string;
}

/** Parses `stream` fed as given (strings or byte chunks). */
function parse(chunks: (string | Uint8Array)[]): Parsed {
  const result: Parsed = { events: [], retries: [], comments: [], lastEventId: '' };
  const parser = createSseParser({
    onEvent: (event) => result.events.push(event),
    onRetry: (ms) => result.retries.push(ms),
    onComment: (comment) => result.comments.push(comment),
  });
  for (const chunk of chunks) parser.feed(chunk);
  result.lastEventId = parser.lastEventId;
  return result;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The same stream whole, as text one character at a time, one byte at a time, and in random byte chunks. */
function everyWay(stream: string): Parsed {
  const whole = parse([stream]);
  const encoded = bytes(stream);
  const oneByte = parse(Array.from(encoded, (b) => Uint8Array.of(b)));
  const oneChar = parse([...stream]);
  const random = seededRandom(stream.length);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < encoded.length; ) {
    const size = 1 + Math.floor(random() * 7);
    chunks.push(encoded.subarray(i, i + size));
    i += size;
  }
  const randomChunks = parse(chunks);
  expect(oneByte).toEqual(whole);
  expect(oneChar).toEqual(whole);
  expect(randomChunks).toEqual(whole);
  return whole;
}

const message = (data: string, lastEventId = '', type = 'message'): SseEvent => ({ type, data, lastEventId });

describe('createSseParser: the WHATWG event-stream rules', () => {
  it.each([
    ['LF', 'data: a\n\ndata: b\n\n'],
    ['CRLF', 'data: a\r\n\r\ndata: b\r\n\r\n'],
    ['CR', 'data: a\r\rdata: b\r\r'],
    ['mixed', 'data: a\r\n\ndata: b\r\r'],
  ])('ends lines with %s', (_, stream) => {
    expect(everyWay(stream).events).toEqual([message('a'), message('b')]);
  });

  it('treats a CRLF split across chunks as one line ending', () => {
    expect(parse(['data: a\r', '\n', '\r', '\ndata: b\n\n']).events).toEqual([message('a'), message('b')]);
    // a CR at the end of a chunk followed by a non-LF is a line end on its own
    expect(parse(['data: a\r', '\rdata: b\n\n']).events).toEqual([message('a'), message('b')]);
  });

  it('keeps a CRLF split by an empty chunk as one line ending', () => {
    const expected = [message('a\nb')];
    expect(parse(['data: a\r', '', '\ndata: b\r\n\r\n']).events).toEqual(expected);
    expect(parse([bytes('data: a\r'), new Uint8Array(0), bytes('\ndata: b\r\n\r\n')]).events).toEqual(expected);
  });

  it('strips one leading BOM only', () => {
    expect(everyWay('\uFEFFdata: a\n\n').events).toEqual([message('a')]);
    // a second BOM makes the first field "\uFEFFdata", which is unknown: nothing is dispatched
    expect(everyWay('\uFEFF\uFEFFdata: a\n\n').events).toEqual([]);
    expect(everyWay('data: \uFEFFa\n\n').events).toEqual([message('\uFEFFa')]);
  });

  it('strips exactly one space after the colon', () => {
    expect(everyWay('data:a\n\ndata: b\n\ndata:  c\n\ndata:\td\n\n').events.map((e) => e.data)).toEqual([
      'a',
      'b',
      ' c',
      '\td',
    ]);
  });

  it('keeps colons in the value', () => {
    expect(everyWay('data: a:b: c\n\n').events).toEqual([message('a:b: c')]);
  });

  it('reads a line without a colon as a field with an empty value', () => {
    expect(everyWay('data\n\n').events).toEqual([message('')]);
    expect(everyWay('data\ndata\n\n').events).toEqual([message('\n')]);
    expect(everyWay('event\ndata: x\n\n').events).toEqual([message('x')]);
  });

  it('joins data lines with LF and removes one trailing LF', () => {
    expect(everyWay('data: a\ndata: b\n\n').events).toEqual([message('a\nb')]);
    expect(everyWay('data: a\ndata:\n\n').events).toEqual([message('a\n')]);
  });

  it('passes comments to onComment and otherwise ignores them', () => {
    const parsed = everyWay(':keep-alive\n: hello\ndata: a\n:\n\n');
    expect(parsed.events).toEqual([message('a')]);
    expect(parsed.comments).toEqual(['keep-alive', 'hello', '']);
  });

  it('names events with the event field, reset after each event', () => {
    expect(everyWay('event: update\ndata: 1\n\ndata: 2\n\n').events).toEqual([
      message('1', '', 'update'),
      message('2'),
    ]);
  });

  it('dispatches nothing for an empty data buffer, and resets the event type', () => {
    expect(everyWay('event: ping\n\ndata: x\n\n').events).toEqual([message('x')]);
    expect(everyWay('\n\n\n').events).toEqual([]);
  });

  it('keeps the last event id across events, and sets it even when nothing is dispatched', () => {
    const parsed = everyWay('id: 1\ndata: a\n\ndata: b\n\nid: 7\n\n');
    expect(parsed.events).toEqual([message('a', '1'), message('b', '1')]);
    expect(parsed.lastEventId).toBe('7');
    expect(everyWay('id: 1\ndata: a\n\nid\ndata: b\n\n').events).toEqual([message('a', '1'), message('b', '')]);
  });

  it('ignores an id that contains NULL', () => {
    expect(everyWay('id: 1\ndata: a\n\nid: 2\u00003\ndata: b\n\n').events).toEqual([
      message('a', '1'),
      message('b', '1'),
    ]);
  });

  it('accepts retry only when it is all ASCII digits', () => {
    expect(everyWay('retry: 1500\nretry: 10a0\nretry: -5\nretry: 1.5\nretry: \nretry: ٣\nretry:0\n').retries).toEqual([
      1500, 0,
    ]);
  });

  it('ignores unknown fields', () => {
    expect(everyWay('foo: bar\ndata: a\nDATA: b\n\n').events).toEqual([message('a')]);
  });

  it('never dispatches an unterminated final event', () => {
    expect(everyWay('data: a\n\ndata: b\n').events).toEqual([message('a')]);
    expect(everyWay('data: a\n\ndata: b').events).toEqual([message('a')]);
  });

  it('decodes UTF-8 split anywhere across chunks', () => {
    expect(everyWay('data: héllo 日本 😀\n\n').events).toEqual([message('héllo 日本 😀')]);
  });

  it('does not move Last-Event-ID for an event cut off by a reconnection', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser({ onEvent: (event) => events.push(event) });
    parser.feed('id: 1\ndata: a\n\nid: 2\ndata: b');
    expect(parser.lastEventId).toBe('1');
    parser.reset();
    parser.feed('\uFEFFdata: c\n\n');
    expect(events).toEqual([message('a', '1'), message('c', '1')]);
  });

  it('refuses a parser without onEvent', () => {
    expect(() => createSseParser({} as never)).toThrow(expect.objectContaining({ code: 'ERR_REALTIME_OPTIONS' }));
  });

  it('refuses an onRetry or onComment that is not a function', () => {
    const onEvent = () => {};
    for (const handlers of [
      { onEvent, onRetry: 'x' },
      { onEvent, onComment: 1 },
    ]) {
      expect(() => createSseParser(handlers as never)).toThrow(
        expect.objectContaining({ code: 'ERR_REALTIME_OPTIONS' }),
      );
    }
  });

  it.each([null, undefined, 42, {}, [1, 2]])('refuses to feed %j with ERR_REALTIME_INPUT', (chunk) => {
    const parser = createSseParser({ onEvent: () => {} });
    expect(() => parser.feed(chunk as never)).toThrow(expect.objectContaining({ code: 'ERR_REALTIME_INPUT' }));
  });

  it('drops a line that keeps growing across chunks past maxEventLength, and throws', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser({ onEvent: (event) => events.push(event), maxEventLength: 1_000 });
    parser.feed('data: first\n\ndata: ');
    const chunk = 'x'.repeat(300);
    let thrown: unknown;
    for (let i = 0; i < 10 && thrown === undefined; i++) {
      try {
        parser.feed(chunk);
      } catch (error) {
        thrown = error;
      }
    }
    expect(thrown).toMatchObject({ code: 'ERR_REALTIME_EVENT_TOO_LARGE' });
    parser.reset();
    parser.feed('data: next\n\n');
    expect(events.map((e) => e.data)).toEqual(['first', 'next']);
  });

  it('counts the data of an event spread over many lines and chunks', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser({ onEvent: (event) => events.push(event), maxEventLength: 1_000 });
    const line = `data: ${'y'.repeat(94)}\n`;
    // 10 lines of 94 characters of data (plus the joining LFs) fit; the eleventh does not.
    for (let i = 0; i < 10; i++) parser.feed(line);
    parser.feed('\n');
    expect(events).toHaveLength(1);
    for (let i = 0; i < 10; i++) parser.feed(line);
    expect(() => parser.feed(line)).toThrow(expect.objectContaining({ code: 'ERR_REALTIME_EVENT_TOO_LARGE' }));
    parser.feed('\n');
    expect(events).toHaveLength(1);
  });

  it('after dropping an event, skips the rest of it: its tail is neither dispatched nor read as fields', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser({ onEvent: (event) => events.push(event), maxEventLength: 50 });
    const feed = (chunk: string): string | undefined => {
      try {
        parser.feed(chunk);
        return undefined;
      } catch (error) {
        return (error as { code?: string }).code;
      }
    };
    const codes = [
      feed('id: 1\ndata: one\n\n'),
      // data lines that add up past the limit: the last one must not arrive as an event of its own
      feed(`id: 2\ndata: ${'a'.repeat(30)}\n`),
      feed(`data: ${'b'.repeat(30)}\n`),
      feed('data: tail\n\n'),
      feed('data: two\n\n'),
      // a line cut past the limit: what follows the cut (text sent as data) looks like fields
      feed(`data: ${'x'.repeat(60)}`),
      ...Array.from({ length: 20 }, () => feed('x'.repeat(40))),
      feed('id: 9\r\ndata: injected\r\nretry: 1\r\n\r'),
      feed('\ndata: three\r\n\r\n'),
    ];
    expect(events).toEqual([message('one', '1'), message('two', '1'), message('three', '1')]);
    expect(parser.lastEventId).toBe('1');
    // one error per dropped event; an endless line is skipped without being held
    expect(codes.filter((code) => code !== undefined)).toEqual([
      'ERR_REALTIME_EVENT_TOO_LARGE',
      'ERR_REALTIME_EVENT_TOO_LARGE',
    ]);
    expect(codes[2]).toBe('ERR_REALTIME_EVENT_TOO_LARGE');
    expect(codes[5]).toBe('ERR_REALTIME_EVENT_TOO_LARGE');
  });

  it('refuses a maxEventLength that is not a positive number', () => {
    for (const maxEventLength of [0, -1, Number.NaN, '10' as unknown as number]) {
      expect(() => createSseParser({ onEvent: () => {}, maxEventLength })).toThrow(
        expect.objectContaining({ code: 'ERR_REALTIME_OPTIONS' }),
      );
    }
  });

  it('agrees with a literal reading of the spec on random streams, however they are chunked', () => {
    const random = seededRandom(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const lines = ['data: a', 'data:b', 'data', 'data:  c', 'event: x', 'event', 'id: 3', 'id', 'id: 4\u0000', ': hi'];
    const endings = ['\n', '\r\n', '\r'];
    for (let round = 0; round < 200; round++) {
      let stream = '';
      for (let i = 0; i < 12; i++) stream += random() < 0.3 ? pick(endings) : pick(lines) + pick(endings);
      // one ending style in a stream takes the LF-only path, mixed ones the general path
      const lfOnly = stream.replace(/\r\n?/g, '\n');
      for (const text of [stream, lfOnly]) expect(everyWay(text).events).toEqual(literalSpec(text));
    }
  });
});

/** The WHATWG algorithm read literally, on a whole stream: the reference for the fuzz test above. */
function literalSpec(stream: string): SseEvent[] {
  const events: SseEvent[] = [];
  let data = '';
  let type = '';
  let id = '';
  const lines = stream.split(/\r\n|\r|\n/);
  lines.pop(); // the text after the last line ending is not a line
  for (const line of lines) {
    if (line === '') {
      if (data !== '') events.push({ type: type || 'message', data: data.slice(0, -1), lastEventId: id });
      data = '';
      type = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data += `${value}\n`;
    if (field === 'event') type = value;
    if (field === 'id' && !value.includes('\0')) id = value;
  }
  return events;
}
