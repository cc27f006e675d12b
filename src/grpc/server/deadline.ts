import { type ServerInterceptor, status } from '@grpc/grpc-js';
import { assertNumber } from '../../core/assert';
import { assertFunction, assertOptions, OPTIONS_CODE } from '../options';
import { deadlineMs } from '../status';
import { gate } from './gate';

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
  return gate((_metadata, call) => {
    const deadline = deadlineMs(call.getDeadline());
    if (!Number.isFinite(deadline)) return { code: status.INVALID_ARGUMENT, details: 'A deadline is required' };
    if (maxMs !== undefined && deadline - Date.now() > maxMs) {
      return { code: status.INVALID_ARGUMENT, details: `The deadline must be at most ${maxMs} ms away` };
    }
    return undefined;
  }, skip);
}
