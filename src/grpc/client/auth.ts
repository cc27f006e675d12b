import {
  InterceptingCall,
  type InterceptingListener,
  type Interceptor,
  type Metadata,
  type StatusObject,
  status,
} from '@grpc/grpc-js';
import { assertNumber } from '../../core/assert';
import type { Clock } from '../../core/clock';
import { systemClock } from '../../core/clock';
import { PatchbayError } from '../../core/errors';
import { MAX_TIMER_MS, withTimeout } from '../../core/timeout';
import { assertFunction, assertOptions, OPTIONS_CODE } from '../options';
import { statusOf } from '../status';
import { ForwardingCall, type InterceptingCallInterface } from './forwarding';
import { callDeadline, onParentCancelled } from './parent';

/**
 * What a token provider may return: the token alone, cached until a call is answered
 * UNAUTHENTICATED, or with its expiry, cached until shortly before it.
 *
 * @example
 * ```ts
 * const fromIdp: TokenResult = { token: response.access_token, expiresAt: Date.now() + response.expires_in * 1000 };
 * const fixed: TokenResult = process.env.SERVICE_TOKEN ?? '';
 * ```
 */
export type TokenResult = string | { token: string; expiresAt?: number | Date | undefined };

/**
 * Options of {@link authInterceptor}.
 *
 * @example
 * ```ts
 * const options: AuthInterceptorOptions = {
 *   token: () => fetchServiceToken(),
 *   refreshBeforeMs: 60_000,
 *   tokenTimeoutMs: 5_000,
 * };
 * ```
 */
export interface AuthInterceptorOptions {
  /** Gives the bearer token; called again only when the cached one is no longer good. */
  token: () => TokenResult | Promise<TokenResult>;
  /** How long before `expiresAt` a token stops being used. Default 30 000. */
  refreshBeforeMs?: number;
  /**
   * How long one provider call may take, in ms. Past it, the calls waiting for the token fail with
   * UNAVAILABLE, as when the provider fails, the provider's late answer is dropped, and the next
   * call asks the provider again. Default 10 000.
   */
  tokenTimeoutMs?: number;
  /** The time source for expiry. Default the system clock. */
  clock?: Clock;
}

interface Cached {
  token: string;
  header: string;
  expiresAt: number;
}

/**
 * A client interceptor that adds `authorization: Bearer <token>` metadata to every call (on a copy:
 * the caller's `Metadata` object is not changed), from an
 * async token provider (an OAuth client-credentials grant, a workload identity file, a secret
 * manager). The token is cached until the provider says otherwise: until its `expiresAt`
 * (less `refreshBeforeMs`) when it returns one, and in any case until a call is answered
 * UNAUTHENTICATED. Concurrent calls share one provider call. Calls with a cached token add it
 * synchronously.
 *
 * A provider that throws, returns something that is not a usable token or does not answer within
 * `tokenTimeoutMs` fails the calls waiting for it with UNAVAILABLE (as grpc-js does for failing
 * call credentials), whose details say why; the next call asks the provider again. A call's
 * deadline and cancellation, and those its `parent` server call propagates, end its wait. Works for
 * every call type; place it after {@link retryInterceptor} so each attempt is authenticated with
 * the current token.
 *
 * @example
 * ```ts
 * const client = new OrdersClient(address, credentials.createSsl(), {
 *   interceptors: [
 *     authInterceptor({
 *       token: async () => {
 *         const { access_token, expires_in } = await idp.clientCredentials();
 *         return { token: access_token, expiresAt: Date.now() + expires_in * 1000 };
 *       },
 *     }),
 *   ],
 * });
 * ```
 */
export function authInterceptor(options: AuthInterceptorOptions): Interceptor {
  assertOptions(options, 'authInterceptor');
  const { token: provider, refreshBeforeMs = 30_000, tokenTimeoutMs = 10_000, clock = systemClock } = options;
  assertFunction(provider, 'authInterceptor token');
  assertNumber(refreshBeforeMs, 'authInterceptor refreshBeforeMs', OPTIONS_CODE, { min: 0 });
  assertNumber(tokenTimeoutMs, 'authInterceptor tokenTimeoutMs', OPTIONS_CODE, { min: 0, exclusiveMin: true });
  if (typeof clock?.now !== 'function') throw new PatchbayError(OPTIONS_CODE, 'authInterceptor clock must have now()');

  let cached: Cached | undefined;
  let pending: Promise<Cached> | undefined;

  // async: a provider that throws synchronously fails like one that rejects.
  const ask = async (): Promise<TokenResult> => provider();
  const keep = (result: TokenResult): Cached => {
    const fresh = toCached(result);
    const now = clock.now();
    // most often a JWT `exp` in seconds, which reads as 1970: never cached, the provider would be
    // asked on every call and the server would refuse the token anyway
    if (fresh.expiresAt <= now) {
      throw new PatchbayError(
        'ERR_GRPC_TOKEN',
        `the token provider returned a token that expired at ${new Date(fresh.expiresAt).toISOString()} (expiresAt is epoch ms or a Date, not seconds)`,
      );
    }
    if (fresh.expiresAt - refreshBeforeMs > now) cached = fresh;
    return fresh;
  };
  // A callback, so it runs after `pending` is set: a `finally` inside the request ran before that
  // when the provider threw synchronously, and left the rejected request there for every later call.
  const release = (): void => {
    pending = undefined;
  };
  const timeout = { message: `no answer within ${tokenTimeoutMs} ms` };

  const fetchToken = (): Promise<Cached> => {
    // Bounded: a provider that never answers would otherwise hold every later call until its deadline.
    pending ??= withTimeout(ask(), tokenTimeoutMs, timeout).then(keep).finally(release);
    return pending;
  };

  // A token without expiry needs no clock read per call.
  const current = (): Cached | undefined =>
    cached !== undefined &&
    (cached.expiresAt === Number.POSITIVE_INFINITY || cached.expiresAt - refreshBeforeMs > clock.now())
      ? cached
      : undefined;

  const forget = (token: string): void => {
    if (cached?.token === token) cached = undefined;
  };

  return (callOptions, nextCall) => {
    // grpc-js starts a call in the tick it builds it, so the token cached now is the one it sends.
    const ready = current();
    if (ready) return new AuthorizedCall(nextCall(callOptions), ready, forget).asCall();
    const inner = nextCall(callOptions);
    // Set while the call waits for the provider: grpc-js has not started it yet, so its own
    // deadline and cancellation cannot reach the caller, and this interceptor answers instead.
    let waiting: ((code: status, details: string) => void) | undefined;
    // InterceptingCall holds the call's messages back until `next` runs with the token.
    return new InterceptingCall(inner, {
      start(callerMetadata, listener, next) {
        // Copied now, as grpc-js copies what a call starts with: see AuthorizedCall.start.
        const metadata = callerMetadata.clone();
        // One status reaches the caller, whether the call ends below or fails to begin here.
        let ended = false;
        const begin = (used: Cached): void => {
          metadata.set('authorization', used.header);
          next(metadata, {
            onReceiveStatus(final, nextStatus) {
              if (ended) return;
              ended = true;
              // The server rejected this token: the provider decides what comes next.
              if (final.code === status.UNAUTHENTICATED) forget(used.token);
              nextStatus(final);
            },
          });
        };
        // Begins from a promise callback, where what the layers below throw from start or from the
        // messages held back until now would be an unhandled rejection and the call never end.
        const beginLate = (used: Cached): void => {
          try {
            begin(used);
          } catch (error) {
            if (ended) return;
            ended = true;
            const details = `authInterceptor could not start the call: ${error instanceof Error ? error.message : String(error)}`;
            try {
              inner.cancelWithStatus(status.INTERNAL, details);
            } catch {
              // a call that could not start may not be able to cancel either; the caller is told below
            }
            listener.onReceiveStatus(statusOf(status.INTERNAL, details));
          }
        };
        // Another call may have brought a token since this one was built.
        const ready = current();
        if (ready) {
          begin(ready);
          return;
        }
        // grpc-js applies a parent's deadline and cancellation to the call below, which has no
        // listener until it starts: what ended it now would never reach the caller.
        const remaining = callDeadline(callOptions) - Date.now();
        const timer =
          remaining <= MAX_TIMER_MS
            ? setTimeout(
                () => waiting?.(status.DEADLINE_EXCEEDED, 'Deadline exceeded waiting for the auth token'),
                remaining,
              )
            : undefined;
        let unlisten: (() => void) | undefined;
        const settle = (): boolean => {
          if (waiting === undefined) return false;
          waiting = undefined;
          clearTimeout(timer);
          unlisten?.();
          return true;
        };
        waiting = (code, details) => {
          if (!settle()) return;
          inner.cancelWithStatus(code, details);
          listener.onReceiveStatus(statusOf(code, details));
        };
        unlisten = onParentCancelled(callOptions, () => waiting?.(status.CANCELLED, 'Cancelled by parent call'));
        if (waiting === undefined) return;
        fetchToken().then(
          (fresh) => {
            if (settle()) beginLate(fresh);
          },
          (error: unknown) => {
            const why = error instanceof Error ? error.message : String(error);
            waiting?.(status.UNAVAILABLE, `authInterceptor token provider failed: ${why}`);
          },
        );
      },
      cancel(next) {
        if (waiting) waiting(status.CANCELLED, 'Cancelled on client');
        else next();
      },
    });
  };
}

/** A call whose token was cached when it was built: no wait, so no buffering layer. */
class AuthorizedCall extends ForwardingCall {
  private readonly used: Cached;
  private readonly forget: (token: string) => void;

  constructor(next: InterceptingCallInterface, used: Cached, forget: (token: string) => void) {
    super(next);
    this.used = used;
    this.forget = forget;
  }

  override start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    // The header goes on a copy: the caller's Metadata may be reused for calls to other servers
    // (or be a handler's incoming call.metadata passed on), which must not carry this token.
    const sent = metadata.clone();
    sent.set('authorization', this.used.header);
    super.start(sent, listener);
  }

  override onReceiveStatus(final: StatusObject): void {
    // The server rejected this token: the provider decides what comes next.
    if (final.code === status.UNAUTHENTICATED) this.forget(this.used.token);
    this.listener?.onReceiveStatus?.(final);
  }
}

const tokenPattern = /^[\x21-\x7e]+$/;

function toCached(result: TokenResult): Cached {
  const token = typeof result === 'string' ? result : result?.token;
  if (typeof token !== 'string' || !tokenPattern.test(token)) {
    throw new PatchbayError(
      'ERR_GRPC_TOKEN',
      'the token provider returned no usable token (a non-empty printable string)',
    );
  }
  const expiry = typeof result === 'string' ? undefined : result.expiresAt;
  const expiresAt = expiry === undefined ? Number.POSITIVE_INFINITY : new Date(expiry).getTime();
  if (Number.isNaN(expiresAt)) {
    throw new PatchbayError('ERR_GRPC_TOKEN', 'the token provider returned an invalid expiresAt');
  }
  return { token, header: `Bearer ${token}`, expiresAt };
}
