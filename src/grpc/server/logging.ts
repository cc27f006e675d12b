import { type ServerInterceptingCallInterface, type ServerInterceptor, status } from '@grpc/grpc-js';
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
import { callType, codeName, deadlineMs } from '../status';
import { ForwardingServerCall, type PartialStatusObject } from './forwarding';

/** How early grpc-js's deadline timer may fire, by Date.now(), and still be taken for it. */
const DEADLINE_SLACK_MS = 20;

/**
 * Options of {@link serverLoggingInterceptor}.
 *
 * @example
 * ```ts
 * const options: ServerLoggingInterceptorOptions = { logger: pino() };
 * ```
 */
export interface ServerLoggingInterceptorOptions {
  /** Where each finished call is written. What it (or `level`) throws is dropped. */
  logger: GrpcLogger;
  /** The level of a call that ended with `code`. Default {@link defaultLogLevel}. */
  level?: (code: number) => GrpcLogLevel;
}

/**
 * A server interceptor that writes one structured log entry per finished call (any call type):
 * method, status, details, duration, peer and message counts. A call the client cancelled is
 * logged as CANCELLED, one whose deadline passed as DEADLINE_EXCEEDED (grpc-js answers it below
 * the interceptors). Placed first, it sees every call, including those that later
 * interceptors reject, with the status the client receives.
 *
 * @example
 * ```ts
 * const server = new Server({ interceptors: [serverLoggingInterceptor({ logger: pino() })] });
 * // {"side":"server","method":"/orders.v1.Orders/Get","status":"OK","durationMs":0.4,...} grpc call OK
 * ```
 */
export function serverLoggingInterceptor(options: ServerLoggingInterceptorOptions): ServerInterceptor {
  assertOptions(options, 'serverLoggingInterceptor');
  const { logger, level = defaultLogLevel } = options;
  assertLogger(logger, 'serverLoggingInterceptor');
  assertFunction(level, 'serverLoggingInterceptor level');
  const sink: LogSink = { logger, level };
  return (descriptor, call) => new LoggedServerCall(call, descriptor, sink).asCall();
}

type MethodDescriptor = Parameters<ServerInterceptor>[0];

/** One call's layer: counts messages, logs the status sent or the client's cancellation. */
class LoggedServerCall extends ForwardingServerCall {
  private readonly descriptor: MethodDescriptor;
  private readonly sink: LogSink;
  private readonly started = performance.now();
  private requestMessages = 0;
  private responseMessages = 0;
  private logged = false;

  constructor(next: ServerInterceptingCallInterface, descriptor: MethodDescriptor, sink: LogSink) {
    super(next);
    this.descriptor = descriptor;
    this.sink = sink;
  }

  override onReceiveMessage(message: unknown): void {
    this.requestMessages++;
    this.listener.onReceiveMessage(message);
  }

  override onCancel(): void {
    // grpc-js answers a call whose deadline passed below the interceptors, then reports it
    // cancelled: only the deadline tells the two apart. Its deadline timer counts from the event
    // loop's cached time, which lags Date.now() under load, so it can fire a little before
    // Date.now() reaches the deadline it set; a cancel that close to the deadline counts as it.
    if (!this.logged) {
      if (deadlineMs(this.next.getDeadline()) <= Date.now() + DEADLINE_SLACK_MS) {
        this.log(status.DEADLINE_EXCEEDED, 'Deadline exceeded');
      } else this.log(status.CANCELLED, 'Cancelled by the client');
    }
    this.listener.onCancel();
  }

  override sendMessage(message: unknown, callback: () => void): void {
    this.responseMessages++;
    this.next.sendMessage(message, callback);
  }

  override sendStatus(final: PartialStatusObject): void {
    // The status goes out first, then the log line, whatever the logger does.
    this.next.sendStatus(final);
    this.log(final.code, final.details);
  }

  private log(code: number, details: string): void {
    if (this.logged) return;
    this.logged = true;
    const entry: GrpcLogEntry = {
      side: 'server',
      method: this.descriptor.path,
      type: callType(this.descriptor),
      code,
      status: codeName(code),
      durationMs: performance.now() - this.started,
      peer: this.next.getPeer(),
      requestMessages: this.requestMessages,
      responseMessages: this.responseMessages,
    };
    if (code !== status.OK) entry.details = details;
    writeLog(this.sink, entry);
  }
}
