import { createLocalJWKSet, errors, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import type { Clock } from '../core/clock';
import { OidcError } from './errors';
import { failureHoldMs, failureMemo } from './failure-memo';
import { type Fetch, fetchJson } from './http';

/** Settings of a {@link JwksCache}. */
export interface JwksCacheOptions {
  uri: string;
  fetch: Fetch;
  timeoutMs: number;
  /** Least time between two fetches caused by an unknown `kid`, in ms. */
  cooldownMs: number;
  /** Age after which the keys are refreshed in the background, in ms. */
  maxAgeMs: number;
  clock: Clock;
}

/** Resolves the key for a JWS header, for `jose.compactVerify`. */
export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

/**
 * A provider's JWKS, cached. Keys are fetched on first use; a token whose `kid` is not in the
 * set triggers one refetch (at most once per `cooldownMs`, and one request however many
 * verifications wait on it); stale keys are refreshed in the background; when the endpoint
 * is down, the keys already held keep verifying tokens; and before any keys are held, a failed
 * load is not retried for a few seconds.
 */
export function createJwksCache(options: JwksCacheOptions): KeyResolver {
  const { uri, fetch: fetchImpl, timeoutMs, cooldownMs, maxAgeMs, clock } = options;
  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  // refetches caused by unknown kids, which anyone can send, are throttled; the first load and
  // background refreshes are not, so a rotation just after start-up is picked up at once
  let missRefreshAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | undefined;
  const failed = failureMemo(clock, failureHoldMs(cooldownMs), 'ERR_OIDC_JWKS', `fetching ${uri}`);

  const load = async (): Promise<void> => {
    const { status, body } = await fetchJson(
      fetchImpl,
      uri,
      { headers: { accept: 'application/json' } },
      timeoutMs,
      'ERR_OIDC_JWKS',
    );
    if (status !== 200) throw new OidcError('ERR_OIDC_JWKS', `${uri} answered ${status}`);
    try {
      keys = createLocalJWKSet(body as unknown as JSONWebKeySet);
    } catch (error) {
      throw new OidcError('ERR_OIDC_JWKS', `${uri} did not return a JWK Set`, { cause: error });
    }
  };

  const refresh = (): Promise<void> => {
    if (!inflight) {
      fetchedAt = clock.now();
      inflight = load()
        .then(
          () => failed.clear(),
          (error: unknown) => {
            failed.record(error);
            throw error;
          },
        )
        .finally(() => {
          inflight = undefined;
        });
    }
    return inflight;
  };

  return async (header, token) => {
    if (!keys) {
      const recent = failed.recent();
      if (recent) throw recent;
      await refresh();
    } else if (clock.now() - fetchedAt >= maxAgeMs) refresh().catch(() => {}); // stale-while-revalidate
    try {
      return await keys!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // a new kid usually means the provider rotated its keys
      // join a refresh already under way; otherwise start one, at most once per cooldown
      if (!inflight) {
        if (clock.now() - missRefreshAt < cooldownMs) throw noKey(header, error);
        missRefreshAt = clock.now();
      }
      await refresh().catch((cause: unknown) => {
        throw new OidcError('ERR_OIDC_JWKS', `no key for kid ${String(header.kid)}, and refreshing ${uri} failed`, {
          cause,
        });
      });
      try {
        return await keys!(header, token);
      } catch (retry) {
        throw retry instanceof errors.JWKSNoMatchingKey ? noKey(header, retry) : retry;
      }
    }
  };
}

function noKey(header: JWSHeaderParameters, cause: unknown): OidcError {
  return new OidcError(
    'ERR_OIDC_JWKS',
    `the provider's JWKS has no key for kid ${String(header.kid)} and alg ${header.alg}`,
    { cause },
  );
}
