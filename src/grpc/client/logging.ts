import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import { assertLogger, defaultLogLevel, type GrpcLogEntry, type GrpcLogger, type GrpcLogLevel } from '../logger';
import { assertFunction, assertOptions } from '../options';
import { callType, codeName } from '../status';

/**
 * Options of {@link loggingInterceptor}.
 *
 * @example
 * ```ts
 * const options: LoggingInterceptorOptions = { logger: pino(), level: (code) => (code === 0 ? 'info' : 'warn') };
 * ```
 */
export interface LoggingInterceptorOptions {
  /** Where each finished call is written. */
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
  return (callOptions, nextCall) => {
    const definition = callOptions.method_definition;
    const started = performance.now();
    let requestMessages = 0;
    let responseMessages = 0;
    const call: InterceptingCall = new InterceptingCall(nextCall(callOptions), {
      start(metadata, _listener, next) {
        next(metadata, {
          onReceiveMessage(message, nextMessage) {
            // grpc-js reports a unary call without a response as a null message.
            if (message === null) {
              nextMessage(message);
              return;
            }
            responseMessages++;
            nextMessage(message);
          },
          onReceiveStatus(status, nextStatus) {
            const entry: GrpcLogEntry = {
              side: 'client',
              method: definition.path,
              type: callType(definition),
              code: status.code,
              status: codeName(status.code),
              durationMs: performance.now() - started,
              peer: call.getPeer(),
              requestMessages,
              responseMessages,
            };
            if (status.code !== 0) entry.details = status.details;
            // The caller gets its status first: a throwing logger must not leave the call hanging.
            nextStatus(status);
            logger[level(status.code)](entry, `grpc call ${entry.status}`);
          },
        });
      },
      sendMessage(message, next) {
        requestMessages++;
        next(message);
      },
    });
    return call;
  };
}
