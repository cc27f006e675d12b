import type { IncomingMessage, ServerResponse } from 'node:http';
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
  /** Units a request takes, or a function of the request. Default 1. */
  cost?: number | ((req: Req) => number);
}

/**
 * HTTP middleware for node:http, Connect and Express. Admitted requests get `RateLimit-Policy`
 * and `RateLimit` headers and go on to `next()`; denied ones are answered here with 429, the
 * same headers plus `Retry-After`, and a JSON body `{ "error": "rate_limited", "retryAfterMs" }`.
 * Errors (a throwing `key`, a bad cost) go to `next(error)`, or become a 500 without `next`.
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
  const { name: policyName, windowMs } = limiter.policy;

  const handle = async (req: Req, res: ServerResponse, next?: (error?: unknown) => void): Promise<void> => {
    const decision = await limiter.consume(await key(req), { cost: typeof cost === 'function' ? cost(req) : cost });
    const headers = rateLimitHeaders(decision, { policyName, windowMs });
    if (!res.headersSent) {
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    }
    if (decision.allowed) {
      next?.();
      return;
    }
    const retryAfterMs = Number.isFinite(decision.retryAfterMs) ? decision.retryAfterMs : null;
    res.statusCode = 429;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ error: 'rate_limited', message: 'Too many requests', retryAfterMs }));
  };

  return (req, res, next) => {
    handle(req, res, next).catch((error: unknown) => {
      if (next) {
        next(error);
        return;
      }
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader('Content-Type', 'application/json');
      }
      res.end(JSON.stringify({ error: 'internal_error' }));
    });
  };
}
