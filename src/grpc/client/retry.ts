import {
  type InterceptingCall,
  type InterceptingListener,
  type Interceptor,
  type InterceptorOptions,
  type Metadata,
  type NextCall,
  type StatusObject,
  status,
} from '@grpc/grpc-js';
import { assertNumber } from '../../core/assert';
import { type Backoff, type BackoffOptions, backoff as createBackoff } from '../../core/backoff';
import { PatchbayError } from '../../core/errors';
import { assertFunction, assertOptions, OPTIONS_CODE } from '../options';
import { codeName, deadlineMs, statusOf } from '../status';

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
  /** Called before each retry; for logs and metrics. */
  onRetry?: (event: RetryEvent) => void;
}

/** What an interceptor wraps; grpc-js does not export the interface by name. */
type InterceptingCallInterface = ReturnType<NextCall>;

interface Policy {
  maxAttempts: number;
  retryable: ReadonlySet<number>;
  backoff: Backoff;
  maxBuffered: number;
  onRetry: ((event: RetryEvent) => void) | undefined;
}

/**
 * A client interceptor that retries calls that failed with a retryable status
 * (`retryableCodes`, default UNAVAILABLE and RESOURCE_EXHAUSTED), the way gRFC A6 describes:
 *
 * - unary and client-streaming calls are retried until their response arrives; server-streaming
 *   and bidi calls only **until the first response message**: after that, replaying would show
 *   the caller messages twice, so the failure is final. Response headers are held back until
 *   the first message or the status, so a retried attempt's headers never reach the caller.
 * - request messages are buffered and replayed to each new attempt, one at a time as grpc-js's
 *   flow control expects (up to `maxBufferedMessages`);
 * - waits between attempts follow exponential backoff with full jitter, unless the server sent
 *   `grpc-retry-pushback-ms` trailers: a non-negative value is the wait, anything else means
 *   "do not retry";
 * - the call's deadline (see {@link deadlineInterceptor}) bounds all attempts together: every
 *   attempt gets the same absolute deadline, and a retry whose wait would end past it is not
 *   made; the call fails with DEADLINE_EXCEEDED instead;
 * - cancelling the call cancels the attempt in flight, or the wait, at once.
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
  if (!Array.isArray(retryableCodes) || !retryableCodes.every((code) => code in status && code !== status.OK)) {
    throw new PatchbayError(
      OPTIONS_CODE,
      'retryInterceptor retryableCodes must be an array of non-OK gRPC status codes',
    );
  }
  assertNumber(maxBufferedMessages, 'retryInterceptor maxBufferedMessages', OPTIONS_CODE, { min: 0, integer: true });
  assertFunction(onRetry, 'retryInterceptor onRetry', { optional: true });
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
  return (callOptions, nextCall) => retryingCall(callOptions, nextCall, policy) as InterceptingCall;
}

/** A request message kept for replay, and the caller's write callback, which runs once. */
interface Outgoing {
  message: unknown;
  flags: number | undefined;
  written: () => void;
}

/** One attempt: its call, and how far the replay of the buffered messages has got. */
interface Attempt {
  call: InterceptingCallInterface;
  sent: number;
  writing: boolean;
  halfClosed: boolean;
}

function retryingCall(options: InterceptorOptions, nextCall: NextCall, policy: Policy): InterceptingCallInterface {
  const method = options.method_definition.path;
  const deadline = deadlineMs(options.deadline);
  const outgoing: Outgoing[] = [];
  let metadata: Metadata | undefined;
  let listener: Partial<InterceptingListener> | undefined;
  let current: Attempt | undefined;
  let attempts = 0;
  const streamsResponses = options.method_definition.responseStream;
  let heldHeaders: Metadata | undefined;
  let held: { message: unknown } | undefined;
  let committed = false;
  let halfClosed = false;
  let readWanted = false;
  let cancelled = false;
  let finished = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  // From here on the call is never retried: what was replayed is no longer needed.
  const commit = (): void => {
    if (committed) return;
    committed = true;
    if (current) {
      outgoing.splice(0, current.sent);
      current.sent = 0;
    }
    if (heldHeaders) listener?.onReceiveMetadata?.(heldHeaders);
    heldHeaders = undefined;
  };

  const finish = (final: StatusObject): void => {
    if (finished) return;
    finished = true;
    commit();
    outgoing.length = 0;
    listener?.onReceiveStatus?.(final);
  };

  // Sends buffered messages to the attempt one at a time: grpc-js holds one message in flight.
  const pump = (attempt: Attempt): void => {
    while (!attempt.writing && attempt.sent < outgoing.length && attempt === current) {
      const next = outgoing[attempt.sent] as Outgoing;
      attempt.writing = true;
      const context = {
        callback: () => {
          attempt.writing = false;
          attempt.sent++;
          next.written();
          if (committed && attempt === current) {
            outgoing.splice(0, attempt.sent);
            attempt.sent = 0;
          }
          pump(attempt);
        },
        ...(next.flags === undefined ? {} : { flags: next.flags }),
      };
      attempt.call.sendMessageWithContext(context, next.message);
    }
    // grpc-js takes a half-close right behind the message in flight, as unary calls do.
    const handedOver = attempt.sent + (attempt.writing ? 1 : 0);
    if (halfClosed && !attempt.halfClosed && handedOver === outgoing.length && attempt === current) {
      attempt.halfClosed = true;
      attempt.call.halfClose();
    }
  };

  const retryDelay = (failed: StatusObject): number | undefined => {
    if (cancelled || committed || !policy.retryable.has(failed.code) || attempts >= policy.maxAttempts) {
      return undefined;
    }
    const pushback = failed.metadata?.get('grpc-retry-pushback-ms');
    if (pushback !== undefined && pushback.length > 0) {
      const value = String(pushback[0]);
      return /^\d+$/.test(value) ? Number(value) : undefined;
    }
    return policy.backoff.delay(attempts - 1);
  };

  const onAttemptStatus = (attempt: Attempt, failed: StatusObject): void => {
    if (attempt !== current || finished) return;
    current = undefined;
    const delayMs = retryDelay(failed);
    if (delayMs === undefined) {
      commit();
      if (held) listener?.onReceiveMessage?.(held.message);
      finish(failed);
      return;
    }
    heldHeaders = undefined;
    held = undefined;
    if (Date.now() + delayMs >= deadline) {
      const why = `${codeName(failed.code)}: ${failed.details}`;
      finish(
        statusOf(
          status.DEADLINE_EXCEEDED,
          `Deadline exceeded while retrying: attempt ${attempts} failed with ${why}`,
          failed.metadata,
        ),
      );
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      startAttempt();
    }, delayMs);
    // After the retry is scheduled: a throwing hook must not leave the call hanging.
    policy.onRetry?.({ method, attempt: attempts + 1, code: failed.code, details: failed.details, delayMs });
  };

  const startAttempt = (): void => {
    attempts++;
    const attempt: Attempt = { call: nextCall(options), sent: 0, writing: false, halfClosed: false };
    current = attempt;
    attempt.call.start((metadata as Metadata).clone(), {
      onReceiveMetadata(headers) {
        if (attempt !== current) return;
        if (committed) listener?.onReceiveMetadata?.(headers);
        else heldHeaders = headers;
      },
      onReceiveMessage(message) {
        if (attempt !== current) return;
        // grpc-js hands a unary response over (or null, when there is none) just before the
        // status: it is held with the status, which decides whether it counts.
        if (!streamsResponses) {
          held = { message };
          return;
        }
        commit();
        readWanted = false;
        listener?.onReceiveMessage?.(message);
      },
      onReceiveStatus(final) {
        onAttemptStatus(attempt, final);
      },
    });
    pump(attempt);
    if (readWanted) attempt.call.startRead();
  };

  return {
    start(startMetadata, startListener) {
      metadata = startMetadata;
      listener = startListener;
      startAttempt();
    },
    sendMessageWithContext(context, message) {
      let done = false;
      outgoing.push({
        message,
        flags: context.flags,
        written: () => {
          if (done) return;
          done = true;
          context.callback?.();
        },
      });
      if (!committed && outgoing.length > policy.maxBuffered && current) commit();
      if (current) pump(current);
    },
    sendMessage(message) {
      this.sendMessageWithContext({}, message);
    },
    startRead() {
      readWanted = true;
      current?.call.startRead();
    },
    halfClose() {
      halfClosed = true;
      if (current) pump(current);
    },
    cancelWithStatus(code, details) {
      cancelled = true;
      if (current) {
        current.call.cancelWithStatus(code, details);
        return;
      }
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      finish(statusOf(code, details));
    },
    getPeer() {
      return current?.call.getPeer() ?? 'unknown';
    },
    getAuthContext() {
      return current?.call.getAuthContext() ?? null;
    },
  };
}
