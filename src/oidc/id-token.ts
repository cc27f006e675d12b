import { compactVerify, errors } from 'jose';
import { assertNonEmptyString, assertNumber } from '../core/assert';
import { type Clock, systemClock } from '../core/clock';
import { type ClaimChecks, checkClaims, type IdTokenClaims, parseClaims } from './claims';
import { checkIssuer, discover } from './discovery';
import { OidcError } from './errors';
import type { Fetch } from './http';
import { createJwksCache, type KeyResolver } from './jwks';

/** Signature algorithms an ID token may use: asymmetric only, so a JWKS can verify them. */
const ASYMMETRIC = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** Tokens longer than this are refused before any parsing: no real ID token comes close. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Options of {@link createIdTokenVerifier}.
 *
 * @example
 * ```ts
 * const options: IdTokenVerifierOptions = { issuer: 'https://accounts.example.com', clientId: 'my-app' };
 * ```
 */
export interface IdTokenVerifierOptions {
  /** The provider's issuer identifier, compared exactly with `iss`. */
  issuer: string;
  /** Your client id: must be in `aud`, and be `azp` when there are several audiences. */
  clientId: string;
  /** The provider's JWKS URL. Default: `jwks_uri` from discovery. */
  jwksUri?: string;
  /**
   * Accepted signature algorithms. Default: the provider's `id_token_signing_alg_values_supported`
   * that are asymmetric (RS256 when discovery is skipped). `none` and HMAC algorithms are refused.
   */
  algorithms?: string[];
  /** Allowed clock skew for `exp`, `nbf`, `iat` and `auth_time`, in seconds. Default 30. */
  clockToleranceSeconds?: number;
  /** Require `auth_time` no older than this, in seconds, for every token. */
  maxAgeSeconds?: number;
  /** The `fetch` for discovery and JWKS. Default `globalThis.fetch`. */
  fetch?: Fetch;
  /** Bound on each discovery or JWKS request, in ms. Default 5 000. */
  timeoutMs?: number;
  /** Least time between two JWKS fetches caused by an unknown `kid`, in ms. Default 30 000. */
  jwksCooldownMs?: number;
  /** Age after which JWKS keys are refreshed in the background, in ms. Default 10 minutes. */
  jwksMaxAgeMs?: number;
  /** Time source, for tests. */
  clock?: Clock;
}

/**
 * Per-call checks of {@link IdTokenVerifier.verify}.
 *
 * @example
 * ```ts
 * const checks: VerifyChecks = { nonce: session.nonce, accessToken: tokens.access_token };
 * ```
 */
export interface VerifyChecks {
  /** The nonce sent in the authorization request. Without it, a token carrying a nonce is refused. */
  nonce?: string;
  /** Require `auth_time` no older than this, in seconds (overrides the verifier's). */
  maxAgeSeconds?: number;
  /** The access token issued with the ID token: checked against `at_hash` when the token has one. */
  accessToken?: string;
  /** The authorization code: checked against `c_hash` when the token has one. */
  code?: string;
}

/**
 * Verifies ID tokens of one provider for one client.
 *
 * @example
 * ```ts
 * const claims = await verifier.verify(tokens.id_token, { nonce });
 * ```
 */
export interface IdTokenVerifier {
  /** Verifies the signature and every claim; resolves with the claims or throws {@link OidcError}. */
  verify(idToken: string, checks?: VerifyChecks): Promise<IdTokenClaims>;
}

function checkAlgorithms(algorithms: unknown): asserts algorithms is string[] {
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new OidcError('ERR_OIDC_OPTIONS', 'algorithms must be a non-empty list');
  }
  for (const alg of algorithms) {
    if (!ASYMMETRIC.includes(alg)) {
      throw new OidcError(
        'ERR_OIDC_OPTIONS',
        `algorithm ${String(alg)} cannot verify ID tokens against a JWKS; use ${ASYMMETRIC.join(', ')}`,
      );
    }
  }
}

/**
 * Creates an ID-token verifier that applies every rule of OpenID Connect Core 1.0 §3.1.3.7: the
 * signature against the provider's JWKS with an allowlist of asymmetric algorithms (never
 * `none`, never HMAC), `iss` exactly, `aud` containing `clientId`, `azp` when there are several
 * audiences, `exp` / `nbf` / `iat` with clock tolerance, `nonce`, `auth_time` against max age,
 * and `at_hash` / `c_hash`. Discovery and the JWKS are fetched lazily and cached; see
 * docs/oidc.md for the caching rules.
 *
 * @example
 * ```ts
 * import { createIdTokenVerifier } from 'patchbay/oidc';
 *
 * const verifier = createIdTokenVerifier({ issuer: 'https://accounts.google.com', clientId: process.env.CLIENT_ID! });
 * const claims = await verifier.verify(tokens.id_token, { nonce: session.nonce });
 * session.user = { issuer: claims.iss, subject: claims.sub };
 * ```
 */
export function createIdTokenVerifier(options: IdTokenVerifierOptions): IdTokenVerifier {
  if (typeof options !== 'object' || options === null) throw new OidcError('ERR_OIDC_OPTIONS', 'options are required');
  const {
    issuer,
    clientId,
    jwksUri,
    algorithms,
    clockToleranceSeconds = 30,
    maxAgeSeconds,
    fetch: fetchImpl = globalThis.fetch,
    timeoutMs = 5_000,
    jwksCooldownMs = 30_000,
    jwksMaxAgeMs = 600_000,
    clock = systemClock,
  } = options;
  checkIssuer(issuer);
  assertNonEmptyString(clientId, 'clientId', 'ERR_OIDC_OPTIONS');
  if (jwksUri !== undefined) assertNonEmptyString(jwksUri, 'jwksUri', 'ERR_OIDC_OPTIONS');
  if (algorithms !== undefined) checkAlgorithms(algorithms);
  assertNumber(clockToleranceSeconds, 'clockToleranceSeconds', 'ERR_OIDC_OPTIONS', { min: 0 });
  if (maxAgeSeconds !== undefined) assertNumber(maxAgeSeconds, 'maxAgeSeconds', 'ERR_OIDC_OPTIONS', { min: 0 });
  assertNumber(timeoutMs, 'timeoutMs', 'ERR_OIDC_OPTIONS', { min: 1 });
  assertNumber(jwksCooldownMs, 'jwksCooldownMs', 'ERR_OIDC_OPTIONS', { min: 0 });
  assertNumber(jwksMaxAgeMs, 'jwksMaxAgeMs', 'ERR_OIDC_OPTIONS', { min: 0 });

  let setup: Promise<{ keys: KeyResolver; algorithms: string[] }> | undefined;
  const prepare = (): Promise<{ keys: KeyResolver; algorithms: string[] }> => {
    setup ??= (async () => {
      let uri = jwksUri;
      let allowed = algorithms;
      if (uri === undefined || allowed === undefined) {
        const metadata = await discover(issuer, { fetch: fetchImpl, timeoutMs, clock });
        uri ??= metadata.jwks_uri;
        allowed ??= (metadata.id_token_signing_alg_values_supported ?? ['RS256']).filter((alg) =>
          ASYMMETRIC.includes(alg),
        );
        if (allowed.length === 0) {
          throw new OidcError('ERR_OIDC_DISCOVERY', `${issuer} advertises no asymmetric ID token signing algorithm`);
        }
      }
      const keys = createJwksCache({
        uri,
        fetch: fetchImpl,
        timeoutMs,
        cooldownMs: jwksCooldownMs,
        maxAgeMs: jwksMaxAgeMs,
        clock,
      });
      return { keys, algorithms: allowed };
    })();
    // a failed discovery is retried on the next verification rather than remembered
    setup.catch(() => {
      setup = undefined;
    });
    return setup;
  };

  return {
    async verify(idToken, checks = {}) {
      if (typeof idToken !== 'string' || idToken.length === 0) {
        throw new OidcError('ERR_OIDC_MALFORMED', 'ID token must be a non-empty string');
      }
      if (idToken.length > MAX_TOKEN_LENGTH) {
        throw new OidcError('ERR_OIDC_MALFORMED', `ID token is longer than ${MAX_TOKEN_LENGTH} characters`);
      }
      if (idToken.split('.').length !== 3)
        throw new OidcError('ERR_OIDC_MALFORMED', 'ID token is not a JWS in compact form');
      const { keys, algorithms: allowed } = await prepare();
      let verified: Awaited<ReturnType<typeof compactVerify>>;
      try {
        verified = await compactVerify(idToken, keys, { algorithms: allowed });
      } catch (error) {
        throw joseFailure(error);
      }
      const claims = parseClaims(verified.payload);
      const claimChecks: ClaimChecks = {
        issuer,
        clientId,
        now: Math.floor(clock.now() / 1000),
        toleranceSeconds: clockToleranceSeconds,
        nonce: checks.nonce,
        maxAgeSeconds: checks.maxAgeSeconds ?? maxAgeSeconds,
        accessToken: checks.accessToken,
        code: checks.code,
        alg: verified.protectedHeader.alg,
      };
      await checkClaims(claims, claimChecks);
      return claims;
    },
  };
}

/** Maps jose's failures onto the module's codes. */
function joseFailure(error: unknown): OidcError {
  if (error instanceof OidcError) return error;
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new OidcError('ERR_OIDC_ALG', 'ID token is signed with an algorithm that is not allowed', { cause: error });
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new OidcError('ERR_OIDC_SIGNATURE', 'ID token signature is invalid', { cause: error });
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys || error instanceof errors.JWKSNoMatchingKey) {
    return new OidcError('ERR_OIDC_JWKS', 'no single key in the JWKS matches the ID token', { cause: error });
  }
  return new OidcError('ERR_OIDC_MALFORMED', 'ID token is malformed', { cause: error });
}
