import { assertClock, assertFunction, assertNumber, assertOptionsObject } from '../core/assert';
import { type Clock, systemClock } from '../core/clock';
import { OidcError } from './errors';
import { type Fetch, fetchJson } from './http';

/**
 * The provider metadata patchbay uses (OpenID Connect Discovery 1.0 §3); every other field the
 * provider publishes is kept as well.
 *
 * @example
 * ```ts
 * const metadata: ProviderMetadata = await discover('https://accounts.example.com');
 * const tokenEndpoint = metadata.token_endpoint;
 * ```
 */
export interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint?: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
  id_token_signing_alg_values_supported?: string[];
  code_challenge_methods_supported?: string[];
  [field: string]: unknown;
}

/**
 * Options of {@link discover}.
 *
 * @example
 * ```ts
 * const options: DiscoverOptions = { timeoutMs: 3_000, cacheTtlMs: 60 * 60_000 };
 * ```
 */
export interface DiscoverOptions {
  /** The `fetch` to use. Default `globalThis.fetch`. */
  fetch?: Fetch;
  /** Bound on the request, in ms. Default 5 000. */
  timeoutMs?: number;
  /** How long a document is reused, in ms. Default 1 hour; 0 disables the cache. */
  cacheTtlMs?: number;
  /** Time source for the cache, for tests. */
  clock?: Clock;
}

interface CacheEntry {
  expiresAt: number;
  metadata: Promise<ProviderMetadata>;
}

// Documents are cached per fetch implementation, so a test's or a proxy's fetch never sees
// another caller's cached answer. A failed lookup is not cached.
const caches = new WeakMap<Fetch, Map<string, CacheEntry>>();

/** Checks an issuer identifier: an https URL (http only for loopback), no query or fragment. */
export function checkIssuer(issuer: unknown): asserts issuer is string {
  let url: URL;
  try {
    url = new URL(String(issuer));
  } catch {
    throw new OidcError('ERR_OIDC_OPTIONS', `issuer must be an https URL, got ${String(issuer)}`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (typeof issuer !== 'string' || (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))) {
    throw new OidcError('ERR_OIDC_OPTIONS', `issuer must be an https URL (http only on loopback), got ${issuer}`);
  }
  if (url.search || url.hash) {
    throw new OidcError('ERR_OIDC_OPTIONS', `issuer must not have a query or fragment, got ${issuer}`);
  }
}

function parseMetadata(issuer: string, body: Record<string, unknown>): ProviderMetadata {
  // OpenID Connect Discovery §4.3: the document's issuer must be exactly the one asked for, or
  // a provider could vouch for another's tokens
  if (body.issuer !== issuer) {
    throw new OidcError(
      'ERR_OIDC_DISCOVERY',
      `discovery document is for issuer ${String(body.issuer)}, expected ${issuer}`,
    );
  }
  for (const field of ['authorization_endpoint', 'jwks_uri'] as const) {
    if (typeof body[field] !== 'string') {
      throw new OidcError('ERR_OIDC_DISCOVERY', `discovery document of ${issuer} has no ${field}`);
    }
  }
  const algs = body.id_token_signing_alg_values_supported;
  if (algs !== undefined && (!Array.isArray(algs) || !algs.every((alg) => typeof alg === 'string'))) {
    throw new OidcError(
      'ERR_OIDC_DISCOVERY',
      `id_token_signing_alg_values_supported of ${issuer} is not a list of strings`,
    );
  }
  return body as ProviderMetadata;
}

/**
 * Fetches and checks a provider's `/.well-known/openid-configuration`. The document must name
 * exactly the requested `issuer`. Results are cached for `cacheTtlMs`, and concurrent calls for
 * one issuer share one request. Throws `ERR_OIDC_DISCOVERY` (unreachable, slow, not JSON, wrong
 * issuer) or `ERR_OIDC_OPTIONS` (an issuer that is not an https URL).
 *
 * @example
 * ```ts
 * import { discover } from 'patchbay/oidc';
 *
 * const metadata = await discover('https://accounts.google.com');
 * metadata.authorization_endpoint; // 'https://accounts.google.com/o/oauth2/v2/auth'
 * ```
 */
export function discover(issuer: string, options: DiscoverOptions = {}): Promise<ProviderMetadata> {
  let settings: ReturnType<typeof discoverSettings>;
  try {
    settings = discoverSettings(issuer, options);
  } catch (error) {
    return Promise.reject(error);
  }
  const { fetchImpl, timeoutMs, cacheTtlMs, now } = settings;
  let cache = caches.get(fetchImpl);
  if (!cache) {
    cache = new Map();
    caches.set(fetchImpl, cache);
  }
  const cached = cache.get(issuer);
  if (cached && cached.expiresAt > now) return cached.metadata;

  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const metadata = fetchJson(
    fetchImpl,
    url,
    { headers: { accept: 'application/json' } },
    timeoutMs,
    'ERR_OIDC_DISCOVERY',
  ).then(({ status, body }) => {
    if (status !== 200) throw new OidcError('ERR_OIDC_DISCOVERY', `${url} answered ${status}`);
    return parseMetadata(issuer, body);
  });
  const entry = { expiresAt: cacheTtlMs > 0 ? now + cacheTtlMs : now, metadata };
  // kept while in flight even without a cache, so concurrent callers share one request
  cache.set(issuer, { ...entry, expiresAt: Number.POSITIVE_INFINITY });
  metadata.then(
    () => {
      if (cache.get(issuer)?.metadata === metadata) {
        if (cacheTtlMs > 0) cache.set(issuer, entry);
        else cache.delete(issuer);
      }
    },
    () => {
      if (cache.get(issuer)?.metadata === metadata) cache.delete(issuer);
    },
  );
  return metadata;
}

/** The checked options of {@link discover} and the current time; throws on bad ones. */
function discoverSettings(issuer: unknown, options: DiscoverOptions) {
  checkIssuer(issuer);
  assertOptionsObject(options, 'discover options', 'ERR_OIDC_OPTIONS');
  const {
    fetch: fetchImpl = globalThis.fetch,
    timeoutMs = 5_000,
    cacheTtlMs = 3_600_000,
    clock = systemClock,
  } = options;
  assertFunction(fetchImpl, 'fetch', 'ERR_OIDC_OPTIONS');
  assertNumber(timeoutMs, 'timeoutMs', 'ERR_OIDC_OPTIONS', { min: 1 });
  assertNumber(cacheTtlMs, 'cacheTtlMs', 'ERR_OIDC_OPTIONS', { min: 0 });
  assertClock(clock, 'clock', 'ERR_OIDC_OPTIONS');
  // a clock that throws fails the promise, as every other failure here does
  return { fetchImpl, timeoutMs, cacheTtlMs, now: clock.now() };
}
