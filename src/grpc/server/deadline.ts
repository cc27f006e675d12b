import { type ServerInterceptingCall, type ServerInterceptor, status } from '@grpc/grpc-js';
import { assertNumber } from '../../core/assert';
import { assertFunction, assertOptions, OPTIONS_CODE } from '../options';
import { deadlineMs } from '../status';
import { reject } from './gate';

/**
 * Options of {@link serverDeadlineInterceptor}.
 *
 * @example
 * ```ts
 * const options: ServerDeadlineInterceptorOptions = { maxMs: 30_000, skip: (method) => method.startsWith('/grpc.health.v1.') };
 * ```
 */
export interface ServerDeadlineInterceptorOptions {
  /** The longest deadline a call may ask for, in ms from its arrival. Default: no upper bound. */
  maxMs?: number;
  /** Methods to let through without a deadline (health checks from probes that set none). */
  skip?: (method: string) => boolean;
}

/**
 * A server interceptor that rejects, with INVALID_ARGUMENT and before the handler runs, calls
 * that carry no deadline, and calls whose deadline is more than `maxMs` away. A call without a
 * deadline can hold a handler, its memory and its downstream calls forever; requiring one makes
 * every client think about how long it will wait. Applies to every call type; a long-lived
 * stream needs a long deadline, so give its methods a `skip` or a large `maxMs`.
 *
 * @example
 * ```ts
 * const server = new Server({
 *   interceptors: [serverDeadlineInterceptor({ maxMs: 30_000 })],
 * });
 * // a call made without a deadline: INVALID_ARGUMENT "A deadline is required"
 * ```
 */
export function serverDeadlineInterceptor(options: ServerDeadlineInterceptorOptions = {}): ServerInterceptor {
  assertOptions(options, 'serverDeadlineInterceptor');
  const { maxMs, skip } = options;
  if (maxMs !== undefined) {
    assertNumber(maxMs, 'serverDeadlineInterceptor maxMs', OPTIONS_CODE, { min: 0, exclusiveMin: true });
  }
  assertFunction(skip, 'serverDeadlineInterceptor skip', { optional: true });
  return (descriptor, call) => {
    // grpc-js reads the deadline from the request headers before interceptors run, so the
    // decision is made here, and a call that passes gets no extra layer.
    const deadline = deadlineMs(call.getDeadline());
    let details: string | undefined;
    if (!Number.isFinite(deadline)) details = 'A deadline is required';
    else if (maxMs !== undefined && deadline - Date.now() > maxMs) {
      details = `The deadline must be at most ${maxMs} ms away`;
    }
    if (details === undefined || skip?.(descriptor.path)) return call as ServerInterceptingCall;
    return reject(call, { code: status.INVALID_ARGUMENT, details });
  };
}
