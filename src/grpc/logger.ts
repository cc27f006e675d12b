import { status } from '@grpc/grpc-js';
import { PatchbayError } from '../core/errors';
import { notify } from '../core/notify';
import { OPTIONS_CODE } from './options';
import type { GrpcCallType } from './status';

/**
 * The log levels patchbay's gRPC logging interceptors write at.
 *
 * @example
 * ```ts
 * const level: GrpcLogLevel = 'warn';
 * ```
 */
export type GrpcLogLevel = 'info' | 'warn' | 'error';

/**
 * A structured logger: pino, bunyan and `console` all fit. Each finished call is one
 * `logger[level](entry, message)`.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const logger: GrpcLogger = pino();
 * ```
 */
export interface GrpcLogger {
  /** Calls that ended OK, or with the caller's own mistake. */
  info(entry: GrpcLogEntry, message: string): void;
  /** Calls that ended with a status that may need attention. */
  warn(entry: GrpcLogEntry, message: string): void;
  /** Calls that ended with a status that means a server bug. */
  error(entry: GrpcLogEntry, message: string): void;
}

/**
 * What one finished call logs.
 *
 * @example
 * ```ts
 * const entry: GrpcLogEntry = {
 *   side: 'client', method: '/orders.v1.Orders/Get', type: 'unary', code: 0, status: 'OK',
 *   durationMs: 3.2, peer: '10.0.0.7:50051', requestMessages: 1, responseMessages: 1,
 * };
 * ```
 */
export interface GrpcLogEntry {
  /** `client` for {@link loggingInterceptor}, `server` for {@link serverLoggingInterceptor}. */
  side: 'client' | 'server';
  /** The full method path, `/package.Service/Method`. */
  method: string;
  type: GrpcCallType;
  /** The status code the call ended with. */
  code: number;
  /** The status code's name: `OK`, `UNAVAILABLE`, ... */
  status: string;
  /** The status details, for calls that did not end OK. */
  details?: string;
  /** From the start of the call to its status, in ms. */
  durationMs: number;
  /** The other side's address. */
  peer: string;
  /** Messages the client sent. */
  requestMessages: number;
  /** Messages the server sent. */
  responseMessages: number;
}

const warnCodes = new Set<number>([
  status.DEADLINE_EXCEEDED,
  status.PERMISSION_DENIED,
  status.RESOURCE_EXHAUSTED,
  status.FAILED_PRECONDITION,
  status.ABORTED,
  status.OUT_OF_RANGE,
  status.UNAVAILABLE,
]);
const errorCodes = new Set<number>([status.UNKNOWN, status.UNIMPLEMENTED, status.INTERNAL, status.DATA_LOSS]);

/**
 * The default level of a call that ended with `code`, as go-grpc-middleware's logging does:
 * `error` for codes that mean a server bug (UNKNOWN, UNIMPLEMENTED, INTERNAL, DATA_LOSS), `warn`
 * for codes that may need attention (DEADLINE_EXCEEDED, UNAVAILABLE, RESOURCE_EXHAUSTED, ...),
 * `info` for OK and for the caller's own mistakes (INVALID_ARGUMENT, NOT_FOUND, ...).
 *
 * @example
 * ```ts
 * defaultLogLevel(status.INTERNAL); // 'error'
 * defaultLogLevel(status.NOT_FOUND); // 'info'
 * ```
 */
export function defaultLogLevel(code: number): GrpcLogLevel {
  if (errorCodes.has(code)) return 'error';
  return warnCodes.has(code) ? 'warn' : 'info';
}

/** Throws `ERR_GRPC_OPTIONS` unless `logger` has `info`, `warn` and `error` methods. */
export function assertLogger(logger: unknown, factory: string): asserts logger is GrpcLogger {
  const candidate = logger as Partial<GrpcLogger> | null | undefined;
  if (
    typeof candidate?.info !== 'function' ||
    typeof candidate.warn !== 'function' ||
    typeof candidate.error !== 'function'
  ) {
    throw new PatchbayError(OPTIONS_CODE, `${factory} needs a logger with info, warn and error methods`);
  }
}

// One message a status code gRPC defines, built once: a log line should not cost a string.
const messages = Object.entries(status)
  .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
  .reduce<string[]>((all, [name, code]) => {
    all[code] = `grpc call ${name}`;
    return all;
  }, []);

/** The message of a call that ended with `code`, whose name is `name`: `grpc call OK`. */
export function logMessage(code: number, name: string): string {
  return messages[code] ?? `grpc call ${name}`;
}

/** Where a logging interceptor writes, and at which level. */
export interface LogSink {
  logger: GrpcLogger;
  level: (code: number) => GrpcLogLevel;
}

/**
 * Writes one finished call's entry through `notify`, which drops what the logger (or `level`)
 * throws or rejects with: grpc-js runs interceptors inside its own callbacks, where an exception
 * is uncaught and ends the process, and a logger shipping to a remote sink may be async.
 */
export function writeLog(sink: LogSink, entry: GrpcLogEntry): void {
  notify(() => sink.logger[sink.level(entry.code)](entry, logMessage(entry.code, entry.status)));
}
