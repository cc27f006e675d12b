import type { IncomingMessage, ServerResponse } from 'node:http';
import { assertNumber } from '../core/assert';
import { PatchbayError } from '../core/errors';
import { rateLimitHeaders } from './headers';
import type { RateLimiter } from './types';

/**
 * Options of {@link rateLimitMiddleware}.
 *
 * @example
 * ```ts
 * const options: RateLimitMiddlewareOptions<IncomingMessage> = {
 *   key: (req) => req.socket.remoteAddress ?? 'unknown',
 * };
 * ```
 */
export interface RateLimitMiddlewareOptions<Req extends IncomingMessage = IncomingMessage> {
  /** The key a request is counted under: client IP, API key, user id, route... */
  key: (req: Req) => string | Promise<string>;
  /**
   * Units a request takes: a finite number >= 0 (else the factory throws `ERR_RATELIMIT_OPTIONS`),
   * or a function of the request. Default 1.
   */
  cost?: number | ((req: Req) => number);
}

/**
 * HTTP middleware for node:http, Connect and Express. Admitted requests get `RateLimit-Policy`
 * and `RateLimit` headers and go on to `next()`; denied ones are answered here with 429, the
 * same headers plus `Retry-After`, and a JSON body `{ "error": "rate_limited", "retryAfterMs" }`.
 * Errors (a throwing `key`, a bad cost) go to `next(error)`, or become a 500 without `next`. An
 * error thrown by what runs after (`next()` itself) is not the limiter's: it is raised as it would
 * be without this middleware, never passed to `next(error)` or answered as a 500; so is an error
 * thrown by `next(error)`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { rateLimitMiddleware, slidingWindow } from 'patchbay/ratelimit';
 *
 * const limit = rateLimitMiddleware(slidingWindow({ limit: 100, windowMs: 60_000 }), {
 *   key: (req) => req.socket.remoteAddress ?? 'unknown',
 * });
 * createServer((req, res) => limit(req, res, () => res.end('hello'))).listen(3000);
 * // Express: app.use(limit)
 * ```
 */
export function rateLimitMiddleware<Req extends IncomingMessage = IncomingMessage>(
  limiter: RateLimiter,
  options: RateLimitMiddlewareOptions<Req>,
): (req: Req, res: ServerResponse, next?: (error?: unknown) => void) => void {
  if (typeof limiter?.consume !== 'function' || limiter.policy === undefined) {
    throw new PatchbayError('ERR_RATELIMIT_OPTIONS', 'rateLimitMiddleware needs a RateLimiter');
  }
  if (typeof options?.key !== 'function') {
    throw new PatchbayError('ERR_RATELIMIT_OPTIONS', 'rateLimitMiddleware needs a key(req) function');
  }
  const { key, cost = 1 } = options;
  // a fixed cost is checked once here; otherwise every request would fail with a 500
  if (typeof cost !== 'function') assertNumber(cost, 'cost', 'ERR_RATELIMIT_OPTIONS', { min: 0 });
  const { name: policyName, windowMs } = limiter.policy;

  // Answers a denied request, and resolves true when the request may go on. `next` is called
  // outside this promise, so a downstream handler that throws is not taken for a limiter error
  // and run a second time through next(error).
  const admit = async (req: Req, res: ServerResponse): Promise<boolean> => {
    const decision = await limiter.consume(await key(req), { cost: typeof cost === 'function' ? cost(req) : cost });
    const headers = rateLimitHeaders(decision, { policyName, windowMs });
    if (!res.headersSent) {
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    }
    if (decision.allowed) return true;
    // a handler before this one has begun to answer: no 429 can be sent now, and the request
    // must not go on, so the answer begun is ended as it stands
    if (res.headersSent) {
      res.end();
      return false;
    }
    const retryAfterMs = Number.isFinite(decision.retryAfterMs) ? decision.retryAfterMs : null;
    res.statusCode = 429;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ error: 'rate_limited', message: 'Too many requests', retryAfterMs }));
    return false;
  };

  // What runs after this middleware throws its own error: raised as it would be without the
  // middleware, not turned into an unhandled rejection by the promise this runs in.
  const handOn = (run: () => void): void => {
    try {
      run();
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  };

  const failed = (res: ServerResponse, next: ((error?: unknown) => void) | undefined, error: unknown): void => {
    if (next) {
      handOn(() => next(error));
      return;
    }
    // an answer another handler began is ended as it stands, not given a JSON error in its body
    if (res.headersSent) {
      res.end();
      return;
    }
    res.statusCode = 500;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ error: 'internal_error' }));
  };

  return (req, res, next) => {
    admit(req, res).then(
      (allowed) => {
        if (allowed && next) handOn(next);
      },
      (error: unknown) => failed(res, next, error),
    );
  };
}
