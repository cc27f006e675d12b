export type { Backoff, BackoffOptions } from '../core/backoff';
export { PatchbayError, type PatchbayErrorOptions } from '../core/errors';
export type { RandomSource } from '../core/random';
export {
  type EventSourceHeaders,
  type ReconnectingDetail,
  ReconnectingEventSource,
  type ReconnectingEventSourceOptions,
} from './event-source';
export { createSseParser, type SseEvent, type SseParser, type SseParserHandlers } from './sse-parser';
export {
  createSseStream,
  type SseMessage,
  type SseResponse,
  type SseStream,
  type SseStreamOptions,
} from './sse-server';
export {
  ReconnectingWebSocket,
  type ReconnectingWebSocketOptions,
  type Resolvable,
  type WebSocketConstructor,
  type WebSocketData,
} from './websocket';
