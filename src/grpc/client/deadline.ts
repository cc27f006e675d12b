import type { InterceptingCall, Interceptor } from '@grpc/grpc-js';
import { assertNumber } from '../../core/assert';
import { assertOptions, OPTIONS_CODE } from '../options';

/**
 * Options of {@link deadlineInterceptor}.
 *
 * @example
 * ```ts
 * const options: DeadlineInterceptorOptions = { defaultMs: 2_000 };
 * ```
 */
export interface DeadlineInterceptorOptions {
  /** The deadline, in ms from the start of the call, of a call whose caller set none. */
  defaultMs: number;
}

/**
 * A client interceptor that gives every call a deadline: `defaultMs` from its start, unless the
 * caller set one, which is kept as it is (shorter or longer: the caller knows best). A call
 * with no deadline waits forever on a server that never answers; this closes that hole for
 * every call type. A deadline propagated from a parent server call still applies: grpc-js
 * takes the earlier of the two.
 *
 * Place it before {@link retryInterceptor}, so the deadline bounds all attempts.
 *
 * @example
 * ```ts
 * const client = new OrdersClient('orders:50051', credentials.createInsecure(), {
 *   interceptors: [deadlineInterceptor({ defaultMs: 2_000 })],
 * });
 * client.get({ id: '42' }, callback); // fails with DEADLINE_EXCEEDED after 2 s at most
 * client.get({ id: '42' }, { deadline: Date.now() + 10_000 }, callback); // the caller's own 10 s
 * ```
 */
export function deadlineInterceptor(options: DeadlineInterceptorOptions): Interceptor {
  assertOptions(options, 'deadlineInterceptor');
  const { defaultMs } = options;
  assertNumber(defaultMs, 'deadlineInterceptor defaultMs', OPTIONS_CODE, { min: 0, exclusiveMin: true });
  return (callOptions, nextCall) =>
    // Only the options change, so the next call is returned as it is rather than wrapped in
    // another InterceptingCall layer: grpc-js uses what an interceptor returns only through the
    // InterceptingCallInterface that every call implements.
    nextCall(
      // grpc-js compares deadlines with Date.now(), so an injected clock would only disagree with it.
      callOptions.deadline === undefined ? { ...callOptions, deadline: Date.now() + defaultMs } : callOptions,
    ) as InterceptingCall;
}
