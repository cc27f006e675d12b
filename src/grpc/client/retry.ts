import { type InterceptingCall, type Interceptor, status } from '@grpc/grpc-js';
import { assertNumber } from '../../core/assert';
import { type Backoff, type BackoffOptions, backoff as createBackoff } from '../../core/backoff';
import { PatchbayError } from '../../core/errors';
import { assertFunction, assertOptions, OPTIONS_CODE } from '../options';
import { type Policy, RetryingCall } from './retrying-call';

/**
 * What {@link RetryInterceptorOptions.onRetry} is told before each retry.
 *
 * @example
 * ```ts
 * const event: RetryEvent = { method: '/orders.v1.Orders/Get', attempt: 2, code: 14, details: 'No connection established', delayMs: 87 };
 * ```
 */
export interface RetryEvent {
  /** The full method path. */
  method: string;
  /** The attempt about to start: 2 for the first retry. */
  attempt: number;
  /** The status code of the attempt that failed. */
  code: number;
  /** Its details. */
  details: string;
  /** The wait before the retry, in ms: the server's `grpc-retry-pushback-ms`, or the backoff. */
  delayMs: number;
}

/**
 * Options of {@link retryInterceptor}.
 *
 * @example
 * ```ts
 * const options: RetryInterceptorOptions = {
 *   maxAttempts: 4,
 *   retryableCodes: [status.UNAVAILABLE],
 *   backoff: { initialMs: 50, maxMs: 2_000 },
 * };
 * ```
 */
export interface RetryInterceptorOptions {
  /** Attempts in all, the first included: an integer from 1 to 10. Default 3. */
  maxAttempts?: number;
  /** Status codes worth another attempt. Default UNAVAILABLE and RESOURCE_EXHAUSTED. */
  retryableCodes?: readonly number[];
  /** Exponential backoff with full jitter between attempts. Default `{ initialMs: 100, maxMs: 5_000, factor: 2 }`. */
  backoff?: BackoffOptions;
  /**
   * Request messages kept for replay. A client stream that sends more stops being retryable
   * (its first messages are gone), as if a response had arrived. Default 1 000.
   */
  maxBufferedMessages?: number;
  /** Called before each retry; for logs and metrics. What it throws is dropped. */
  onRetry?: (event: RetryEvent) => void;
}

/**
 * A client interceptor that retries calls that failed with a retryable status
 * (`retryableCodes`, default UNAVAILABLE and RESOURCE_EXHAUSTED), the way gRFC A6 describes:
 *
 * - a call is retried only until the server begins to answer: its response headers (or, where
 *   none come first, its first response message) commit it, as gRFC A6 says, because the server
 *   may have acted on the request. A failure the server answers with nothing but a status (a
 *   Trailers-Only response, as grpc-js and most servers send for UNAVAILABLE) stays retryable.
 * - request messages are buffered and replayed to each new attempt, one at a time as grpc-js's
 *   flow control expects (up to `maxBufferedMessages`);
 * - waits between attempts follow exponential backoff with full jitter, unless the server sent
 *   `grpc-retry-pushback-ms` trailers: a non-negative value is the wait, anything else means
 *   "do not retry";
 * - the call's deadline (see {@link deadlineInterceptor}) bounds all attempts together: every
 *   attempt gets the same absolute deadline, and a retry whose wait would end past it is not
 *   made; the call fails with DEADLINE_EXCEEDED instead;
 * - cancelling the call cancels the attempt in flight, or the wait, at once. For a call made with
 *   `parent: call` from a server handler, the parent's propagated deadline bounds the attempts
 *   too, and the parent's cancellation ends a wait with CANCELLED.
 *
 * Only retry methods that are safe to repeat (idempotent): a call that failed with UNAVAILABLE
 * may have been executed by the server.
 *
 * @example
 * ```ts
 * const client = new OrdersClient(address, credentials.createInsecure(), {
 *   interceptors: [
 *     deadlineInterceptor({ defaultMs: 2_000 }),
 *     retryInterceptor({ maxAttempts: 3, backoff: { initialMs: 50 } }),
 *   ],
 * });
 * ```
 */
export function retryInterceptor(options: RetryInterceptorOptions = {}): Interceptor {
  assertOptions(options, 'retryInterceptor');
  const {
    maxAttempts = 3,
    retryableCodes = [status.UNAVAILABLE, status.RESOURCE_EXHAUSTED],
    backoff = {},
    maxBufferedMessages = 1_000,
    onRetry,
  } = options;
  assertNumber(maxAttempts, 'retryInterceptor maxAttempts', OPTIONS_CODE, { min: 1, integer: true });
  if (maxAttempts > 10) {
    throw new PatchbayError(OPTIONS_CODE, `retryInterceptor maxAttempts must be at most 10, got ${maxAttempts}`);
  }
  // numbers only: `status` also maps the names, so 'UNAVAILABLE' would pass `in` and never match a code
  if (
    !Array.isArray(retryableCodes) ||
    !retryableCodes.every((code) => Number.isInteger(code) && code in status && code !== status.OK)
  ) {
    throw new PatchbayError(
      OPTIONS_CODE,
      'retryInterceptor retryableCodes must be an array of non-OK gRPC status codes',
    );
  }
  assertNumber(maxBufferedMessages, 'retryInterceptor maxBufferedMessages', OPTIONS_CODE, { min: 0, integer: true });
  assertFunction(onRetry, 'retryInterceptor onRetry', { optional: true });
  if (typeof backoff !== 'object' || backoff === null) {
    throw new PatchbayError(OPTIONS_CODE, 'retryInterceptor backoff must be an object of backoff options');
  }
  let policyBackoff: Backoff;
  try {
    policyBackoff = createBackoff({ initialMs: 100, maxMs: 5_000, ...backoff });
  } catch (error) {
    throw new PatchbayError(OPTIONS_CODE, `retryInterceptor backoff: ${(error as Error).message}`, { cause: error });
  }
  const policy: Policy = {
    maxAttempts,
    retryable: new Set(retryableCodes),
    backoff: policyBackoff,
    maxBuffered: maxBufferedMessages,
    onRetry,
  };
  // The retrying call implements InterceptingCallInterface itself, which is all grpc-js uses of
  // what an interceptor returns: no extra InterceptingCall layer for every call.
  return (callOptions, nextCall) => new RetryingCall(callOptions, nextCall, policy) as unknown as InterceptingCall;
}
