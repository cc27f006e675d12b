export { PatchbayError, type PatchbayErrorOptions } from '../core/errors';
export { createSseParser, type SseEvent, type SseParser, type SseParserHandlers } from './sse-parser';
