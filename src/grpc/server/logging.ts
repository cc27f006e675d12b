import { ServerInterceptingCall, type ServerInterceptor, status } from '@grpc/grpc-js';
import { assertLogger, defaultLogLevel, type GrpcLogEntry, type GrpcLogger, type GrpcLogLevel } from '../logger';
import { assertFunction, assertOptions } from '../options';
import { callType, codeName } from '../status';

/**
 * Options of {@link serverLoggingInterceptor}.
 *
 * @example
 * ```ts
 * const options: ServerLoggingInterceptorOptions = { logger: pino() };
 * ```
 */
export interface ServerLoggingInterceptorOptions {
  /** Where each finished call is written. */
  logger: GrpcLogger;
  /** The level of a call that ended with `code`. Default {@link defaultLogLevel}. */
  level?: (code: number) => GrpcLogLevel;
}

/**
 * A server interceptor that writes one structured log entry per finished call (any call type):
 * method, status, details, duration, peer and message counts. A call the client cancelled is
 * logged as CANCELLED. Placed first, it sees every call, including those that later
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
  return (descriptor, call) => {
    const started = performance.now();
    let requestMessages = 0;
    let responseMessages = 0;
    let logged = false;
    const log = (code: number, details: string): void => {
      if (logged) return;
      logged = true;
      const entry: GrpcLogEntry = {
        side: 'server',
        method: descriptor.path,
        type: callType(descriptor),
        code,
        status: codeName(code),
        durationMs: performance.now() - started,
        peer: call.getPeer(),
        requestMessages,
        responseMessages,
      };
      if (code !== status.OK) entry.details = details;
      logger[level(code)](entry, `grpc call ${entry.status}`);
    };
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMessage(message, nextMessage) {
            requestMessages++;
            nextMessage(message);
          },
          onCancel() {
            log(status.CANCELLED, 'Cancelled by the client');
          },
        });
      },
      sendMessage(message, next) {
        responseMessages++;
        next(message);
      },
      sendStatus(final, next) {
        // The status goes out first: a throwing logger must not leave the call hanging.
        next(final);
        log(final.code, final.details);
      },
    });
  };
}
