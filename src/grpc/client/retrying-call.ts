import {
  type InterceptingListener,
  type InterceptorOptions,
  type Metadata,
  type NextCall,
  type StatusObject,
  status,
} from '@grpc/grpc-js';
import type { Backoff } from '../../core/backoff';
import { notify } from '../../core/notify';
import { timerDelay } from '../../core/timeout';
import { codeName, statusOf } from '../status';
import type { InterceptingCallInterface, MessageContext } from './forwarding';
import { callDeadline, onParentCancelled } from './parent';
import type { RetryEvent } from './retry';

/** What `retryInterceptor` was configured with, shared by its calls. */
export interface Policy {
  maxAttempts: number;
  retryable: ReadonlySet<number>;
  backoff: Backoff;
  maxBuffered: number;
  onRetry: ((event: RetryEvent) => void) | undefined;
}

/** A request message kept for replay, and the caller's write callback, which runs once. */
class Outgoing {
  readonly message: unknown;
  readonly flags: number | undefined;
  private callback: (() => void) | undefined;

  constructor(message: unknown, context: MessageContext) {
    this.message = message;
    this.flags = context.flags;
    this.callback = context.callback;
  }

  written(): void {
    const callback = this.callback;
    this.callback = undefined;
    callback?.();
  }
}

/** One attempt: its call, how far the replay of the buffered messages has got, and its listener. */
class Attempt implements InterceptingListener {
  readonly call: InterceptingCallInterface;
  private readonly owner: RetryingCall;
  sent = 0;
  writing = false;
  halfClosed = false;
  /** A retry, replaying messages the caller wrote before it started. */
  readonly replay: boolean;

  constructor(owner: RetryingCall, call: InterceptingCallInterface, replay: boolean) {
    this.owner = owner;
    this.call = call;
    this.replay = replay;
  }

  onReceiveMetadata(headers: Metadata): void {
    this.owner.attemptHeaders(this, headers);
  }

  onReceiveMessage(message: unknown): void {
    this.owner.attemptMessage(this, message);
  }

  onReceiveStatus(final: StatusObject): void {
    this.owner.attemptStatus(this, final);
  }
}

/** The call the caller sees: one attempt at a time, replaying what the caller sent. */
/** The largest `grpc-retry-pushback-ms` gRFC A6 allows: a signed 32-bit integer. */
const MAX_PUSHBACK_MS = 2_147_483_647;

export class RetryingCall implements InterceptingCallInterface {
  private readonly options: InterceptorOptions;
  private readonly nextCall: NextCall;
  private readonly policy: Policy;
  private readonly outgoing: Outgoing[] = [];
  private metadata: Metadata | undefined;
  private listener: Partial<InterceptingListener> | undefined;
  private current: Attempt | undefined;
  /** The newest attempt, kept once it ended: the layers above ask it for the peer with the status. */
  private latest: Attempt | undefined;
  private attempts = 0;
  /** Backoff waits since the last pushback, which sets the server's own wait and starts them over. */
  private backoffSteps = 0;
  /** The attempt got no response message: grpc-js says so with a null message before the status. */
  private heldNoResponse = false;
  private committed = false;
  private halfClosed = false;
  private readWanted = false;
  private cancelled = false;
  private finished = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Listens to the parent server call's cancellation while a retry waits; see `waitForRetry`. */
  private parentCancelled: (() => void) | undefined;

  constructor(options: InterceptorOptions, nextCall: NextCall, policy: Policy) {
    this.options = options;
    this.nextCall = nextCall;
    this.policy = policy;
  }

  start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    this.metadata = metadata;
    this.listener = listener;
    this.startAttempt();
  }

  sendMessageWithContext(context: MessageContext, message: unknown): void {
    if (this.finished) {
      // As a bare grpc-js call does: a writable waiting for this callback would never finish.
      context.callback?.();
      return;
    }
    this.outgoing.push(new Outgoing(message, context));
    if (!this.committed && this.outgoing.length > this.policy.maxBuffered && this.current) this.commit();
    if (this.current) this.pump(this.current);
  }

  sendMessage(message: unknown): void {
    this.sendMessageWithContext({}, message);
  }

  startRead(): void {
    this.readWanted = true;
    this.current?.call.startRead();
  }

  halfClose(): void {
    this.halfClosed = true;
    if (this.current) this.pump(this.current);
  }

  cancelWithStatus(code: status, details: string): void {
    this.cancelled = true;
    if (this.current) {
      this.current.call.cancelWithStatus(code, details);
      return;
    }
    this.stopWaiting();
    this.finish(statusOf(code, details));
  }

  getPeer(): string {
    return this.latest?.call.getPeer() ?? 'unknown';
  }

  getAuthContext(): ReturnType<InterceptingCallInterface['getAuthContext']> {
    return this.latest?.call.getAuthContext() ?? null;
  }

  attemptHeaders(attempt: Attempt, headers: Metadata): void {
    if (attempt !== this.current) return;
    // gRFC A6: response headers commit the call, since the server has begun to answer and may have
    // acted on the request. A Trailers-Only error, as a server sends for UNAVAILABLE, has none.
    this.commit();
    this.listener?.onReceiveMetadata?.(headers);
  }

  attemptMessage(attempt: Attempt, message: unknown): void {
    if (attempt !== this.current) return;
    // For a method without a response stream, grpc-js reports an attempt that got no response as
    // a null message just before its status: held with the status, which decides whether it counts.
    if (message === null && !this.options.method_definition.responseStream) {
      this.heldNoResponse = true;
      return;
    }
    // A response arrived, for every call type: retrying now would throw it away, or show the
    // caller a second one, whatever status follows.
    this.commit();
    this.readWanted = false;
    this.listener?.onReceiveMessage?.(message);
  }

  attemptStatus(attempt: Attempt, failed: StatusObject): void {
    if (attempt !== this.current || this.finished) return;
    this.current = undefined;
    let delayMs: number | undefined;
    try {
      delayMs = this.retryDelay(failed);
    } catch {
      // A backoff whose random source throws runs inside grpc-js's callback, where the throw would
      // be uncaught and the call never end: the attempt's own status ends it, as if not retryable.
      delayMs = undefined;
    }
    if (delayMs === undefined) {
      this.commit();
      if (this.heldNoResponse) this.listener?.onReceiveMessage?.(null);
      this.finish(failed);
      return;
    }
    this.heldNoResponse = false;
    // The parent's deadline, read only on the way to a retry: a call that is not retried pays nothing.
    if (Date.now() + delayMs >= callDeadline(this.options)) {
      const why = `${codeName(failed.code)}: ${failed.details}`;
      this.finish(
        statusOf(
          status.DEADLINE_EXCEEDED,
          `Deadline exceeded while retrying: attempt ${this.attempts} failed with ${why}`,
          failed.metadata,
        ),
      );
      return;
    }
    if (!this.waitForRetry(delayMs)) return;
    // After the retry is scheduled, whatever the hook does.
    const { onRetry } = this.policy;
    if (onRetry === undefined) return;
    notify(onRetry, {
      method: this.options.method_definition.path,
      attempt: this.attempts + 1,
      code: failed.code,
      details: failed.details,
      delayMs,
    });
  }

  /**
   * Schedules the next attempt; false when the call ended instead. grpc-js cancels the attempts
   * of a call made with `parent` when the parent is cancelled, but only those that exist then: an
   * attempt created after it would run for a client that has left, so the wait listens for it.
   */
  private waitForRetry(delayMs: number): boolean {
    this.parentCancelled = onParentCancelled(this.options, () =>
      this.cancelWithStatus(status.CANCELLED, 'Cancelled by parent call'),
    );
    if (this.finished) return false;
    this.timer = setTimeout(() => {
      this.stopWaiting();
      this.startRetry();
    }, timerDelay(delayMs));
    return true;
  }

  private stopWaiting(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.parentCancelled?.();
    this.parentCancelled = undefined;
  }

  // The first attempt starts at the caller's call site, where a throw reaches the caller as it
  // would without the interceptor. A retry starts from a timer, where it would be uncaught and the
  // caller never called back: typically grpc-js's "Channel has been shut down" after close().
  private startRetry(): void {
    try {
      this.startAttempt();
    } catch (error) {
      const started = this.current;
      this.current = undefined;
      try {
        started?.call.cancelWithStatus(status.CANCELLED, 'Retry attempt failed to start');
      } catch {
        // an attempt that could not start may not be able to cancel either; it is dropped anyway
      }
      const why = error instanceof Error ? error.message : String(error);
      this.finish(statusOf(status.UNAVAILABLE, `Retry attempt ${this.attempts} could not start: ${why}`));
    }
  }

  private startAttempt(): void {
    this.attempts++;
    const attempt = new Attempt(this, this.nextCall(this.options), this.attempts > 1);
    this.current = attempt;
    this.latest = attempt;
    // Each attempt gets its own copy: the interceptors below may change what they are given.
    attempt.call.start((this.metadata as Metadata).clone(), attempt);
    this.pump(attempt);
    if (this.readWanted) attempt.call.startRead();
  }

  // From here on the call is never retried: what was replayed is no longer needed.
  private commit(): void {
    if (this.committed) return;
    this.committed = true;
    if (this.current) {
      this.outgoing.splice(0, this.current.sent);
      this.current.sent = 0;
    }
  }

  private finish(final: StatusObject): void {
    if (this.finished) return;
    this.finished = true;
    this.commit();
    // Messages no attempt will write are acknowledged, as a bare grpc-js call does when it ends:
    // the caller's writable (and a stream.pipeline() into it) waits for their callbacks.
    // A callback that writes again is acknowledged at once (`finished`), not added here.
    for (const dropped of this.outgoing) dropped.written();
    this.outgoing.length = 0;
    this.listener?.onReceiveStatus?.(final);
  }

  // Sends buffered messages to the attempt one at a time: grpc-js holds one message in flight.
  private pump(attempt: Attempt): void {
    while (!attempt.writing && attempt.sent < this.outgoing.length && attempt === this.current) {
      const next = this.outgoing[attempt.sent] as Outgoing;
      attempt.writing = true;
      const context: MessageContext = {
        callback: () => {
          attempt.writing = false;
          attempt.sent++;
          next.written();
          if (this.committed && attempt === this.current) {
            this.outgoing.splice(0, attempt.sent);
            attempt.sent = 0;
          }
          this.pump(attempt);
        },
      };
      if (next.flags !== undefined) context.flags = next.flags;
      attempt.call.sendMessageWithContext(context, next.message);
    }
    // grpc-js takes a half-close right behind the message in flight, as unary calls do. A replay
    // waits until its last message is written: with the half-close right behind it, grpc-js
    // 1.10–1.14.2 lost that message (the retry tests fail there otherwise; npm run test:grpc110).
    const handedOver = attempt.sent + (attempt.writing && !attempt.replay ? 1 : 0);
    if (this.halfClosed && !attempt.halfClosed && handedOver === this.outgoing.length && attempt === this.current) {
      attempt.halfClosed = true;
      attempt.call.halfClose();
    }
  }

  private retryDelay(failed: StatusObject): number | undefined {
    const { policy } = this;
    if (this.cancelled || this.committed || !policy.retryable.has(failed.code) || this.attempts >= policy.maxAttempts) {
      return undefined;
    }
    const pushback = failed.metadata?.get('grpc-retry-pushback-ms');
    if (pushback !== undefined && pushback.length > 0) {
      // gRFC A6: a signed 32-bit integer; negative or anything else means "do not retry". The
      // backoff then starts over from its first step.
      const value = String(pushback[0]);
      const ms = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!(ms <= MAX_PUSHBACK_MS)) return undefined;
      this.backoffSteps = 0;
      return ms;
    }
    return policy.backoff.delay(this.backoffSteps++);
  }
}
