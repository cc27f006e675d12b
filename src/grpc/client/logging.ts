import type { Interceptor, InterceptorOptions, StatusObject } from '@grpc/grpc-js';
import {
  assertLogger,
  defaultLogLevel,
  type GrpcLogEntry,
  type GrpcLogger,
  type GrpcLogLevel,
  type LogSink,
  writeLog,
} from '../logger';
import { assertFunction, assertOptions } from '../options';
import { callType, codeName } from '../status';
import { ForwardingCall, type InterceptingCallInterface, type MessageContext } from './forwarding';

/**
 * Options of {@link loggingInterceptor}.
 *
 * @example
 * ```ts
 * const options: LoggingInterceptorOptions = { logger: pino(), level: (code) => (code === 0 ? 'info' : 'warn') };
 * ```
 */
export interface LoggingInterceptorOptions {
  /** Where each finished call is written. What it (or `level`) throws is dropped. */
  logger: GrpcLogger;
  /** The level of a call that ended with `code`. Default {@link defaultLogLevel}. */
  level?: (code: number) => GrpcLogLevel;
}

/**
 * A client interceptor that writes one structured log entry per finished call (any call type):
 * method, status, details, duration, peer and message counts. Placed first in the chain, it
 * logs each call once, with the status the caller saw after retries; placed after
 * {@link retryInterceptor}, it logs every attempt.
 *
 * @example
 * ```ts
 * const client = new OrdersClient(address, credentials.createInsecure(), {
 *   interceptors: [loggingInterceptor({ logger: pino() })],
 * });
 * // {"side":"client","method":"/orders.v1.Orders/Get","status":"OK","durationMs":1.8,...} grpc call OK
 * ```
 */
export function loggingInterceptor(options: LoggingInterceptorOptions): Interceptor {
  assertOptions(options, 'loggingInterceptor');
  const { logger, level = defaultLogLevel } = options;
  assertLogger(logger, 'loggingInterceptor');
  assertFunction(level, 'loggingInterceptor level');
  const sink: LogSink = { logger, level };
  return (callOptions, nextCall) => new LoggedCall(nextCall(callOptions), callOptions.method_definition, sink).asCall();
}

/** One call's layer: counts messages, logs the status. */
class LoggedCall extends ForwardingCall {
  private readonly definition: InterceptorOptions['method_definition'];
  private readonly sink: LogSink;
  private readonly started = performance.now();
  private requestMessages = 0;
  private responseMessages = 0;

  constructor(next: InterceptingCallInterface, definition: InterceptorOptions['method_definition'], sink: LogSink) {
    super(next);
    this.definition = definition;
    this.sink = sink;
  }

  override onReceiveMessage(message: unknown): void {
    // grpc-js reports a unary call without a response as a null message.
    if (message !== null) this.responseMessages++;
    this.listener?.onReceiveMessage?.(message);
  }

  override onReceiveStatus(status: StatusObject): void {
    const entry: GrpcLogEntry = {
      side: 'client',
      method: this.definition.path,
      type: callType(this.definition),
      code: status.code,
      status: codeName(status.code),
      durationMs: performance.now() - this.started,
      peer: this.next.getPeer(),
      requestMessages: this.requestMessages,
      responseMessages: this.responseMessages,
    };
    if (status.code !== 0) entry.details = status.details;
    // The caller gets its status first, then the log line, whatever the logger does.
    this.listener?.onReceiveStatus?.(status);
    writeLog(this.sink, entry);
  }

  override sendMessageWithContext(context: MessageContext, message: unknown): void {
    this.requestMessages++;
    this.next.sendMessageWithContext(context, message);
  }
}
