import { assertBoolean, assertNumber, assertOptionsObject } from '../core/assert';
import { PatchbayError } from '../core/errors';
import { checkName } from './limiter';
import type { Decision } from './types';

const INPUT = 'ERR_RATELIMIT_INPUT';

/**
 * Options of {@link rateLimitHeaders}.
 *
 * @example
 * ```ts
 * const options: RateLimitHeaderOptions = { policyName: 'api', windowMs: 60_000 };
 * ```
 */
export interface RateLimitHeaderOptions {
  /** The policy's name in both fields. Default `default`. */
  policyName?: string;
  /** The policy's window; adds `w=<seconds>` to `RateLimit-Policy` when given. */
  windowMs?: number;
  /** The current time in epoch ms, for `t=`: a finite number, else `ERR_RATELIMIT_INPUT`. Default `Date.now()`. */
  now?: number;
}

/**
 * The response headers for a decision, per the IETF draft "RateLimit header fields for HTTP"
 * (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy` (`q` quota, `w` window in
 * seconds), `RateLimit` (`r` remaining, `t` seconds until the quota is fully restored), and,
 * when denied, `Retry-After` in whole seconds, rounded up. A decision that can never be
 * admitted (`retryAfterMs: Infinity`) gets no `Retry-After`: retrying will not help.
 *
 * @example
 * ```ts
 * const decision = await limiter.consume(ip);
 * for (const [name, value] of Object.entries(rateLimitHeaders(decision, { windowMs: 60_000 }))) {
 *   res.setHeader(name, value);
 * }
 * // RateLimit-Policy: "default";q=100;w=60
 * // RateLimit: "default";r=99;t=60
 * ```
 */
export function rateLimitHeaders(decision: Decision, options: RateLimitHeaderOptions = {}): Record<string, string> {
  checkDecision(decision);
  assertOptionsObject(options, 'rateLimitHeaders options', 'ERR_RATELIMIT_OPTIONS');
  const { policyName = 'default', windowMs, now = Date.now() } = options;
  // a bad time would write `t=NaN` into a header rather than fail
  assertNumber(now, 'now', INPUT);
  checkName(policyName);
  const name = `"${policyName}"`;
  let policy = `${name};q=${int(decision.limit)}`;
  if (windowMs !== undefined) {
    assertNumber(windowMs, 'windowMs', 'ERR_RATELIMIT_OPTIONS', { min: 0, exclusiveMin: true });
    policy += `;w=${int(Math.ceil(windowMs / 1000))}`;
  }
  const headers: Record<string, string> = {
    'RateLimit-Policy': policy,
    RateLimit: `${name};r=${int(decision.remaining)};t=${int(Math.max(0, Math.ceil((decision.resetAt - now) / 1000)))}`,
  };
  if (!decision.allowed && Number.isFinite(decision.retryAfterMs)) {
    headers['Retry-After'] = int(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
  }
  return headers;
}

// A structured-field integer has at most 15 digits (RFC 9651), and String() of 1e21 is '1e+21'.
const MAX_INTEGER = 999_999_999_999_999;
const int = (value: number): string => String(Math.min(value, MAX_INTEGER));

/** Throws `ERR_RATELIMIT_INPUT` unless `decision` looks like a limiter's, so no header reads `NaN` or `undefined`. */
function checkDecision(decision: unknown): asserts decision is Decision {
  if (typeof decision !== 'object' || decision === null) {
    throw new PatchbayError(INPUT, 'rateLimitHeaders needs the Decision a limiter returned');
  }
  const { allowed, limit, remaining, resetAt, retryAfterMs } = decision as Record<string, unknown>;
  assertBoolean(allowed, 'decision.allowed', INPUT);
  assertNumber(limit, 'decision.limit', INPUT, { min: 0 });
  assertNumber(remaining, 'decision.remaining', INPUT, { min: 0 });
  assertNumber(resetAt, 'decision.resetAt', INPUT);
  // Infinity is a decision that can never be admitted
  if (retryAfterMs !== Number.POSITIVE_INFINITY) assertNumber(retryAfterMs, 'decision.retryAfterMs', INPUT, { min: 0 });
}
