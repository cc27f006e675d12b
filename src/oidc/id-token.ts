import { compactVerify, decodeProtectedHeader, errors } from 'jose';
import { assertClock, assertFunction, assertNonEmptyString, assertNumber, assertUrl, describe } from '../core/assert';
import { type Clock, systemClock } from '../core/clock';
import { type ClaimChecks, checkClaims, type IdTokenClaims, parseClaims } from './claims';
import { checkIssuer, discover } from './discovery';
import { OidcError } from './errors';
import { failureHoldMs, failureMemo } from './failure-memo';
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
const HTTP = ['https:', 'http:'];

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
  /**
   * Your client id: must be in `aud`, and be `azp` when there are several audiences or when the
   * token names an `azp` at all (a token issued to another party is refused even with one audience).
   */
  clientId: string;
  /**
   * Other client ids of yours that a token may name as its `azp`, beside `clientId`: Google's
   * cross-client tokens, say, have your server's client id as `aud` and your Android app's as
   * `azp`. Default none: any other `azp` is refused with `ERR_OIDC_AZP`.
   */
  authorizedParties?: readonly string[];
  /** The provider's JWKS URL, absolute http(s). Default: `jwks_uri` from discovery. */
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
  /**
   * Least time between two JWKS fetches caused by an unknown `kid`, in ms. Default 30 000. Before
   * any keys are held, a failed discovery or JWKS load waits this long, at most 5 s, to be retried.
   */
  jwksCooldownMs?: number;
  /** Age after which JWKS keys are refreshed in the background, in ms. Default 10 minutes. */
  jwksMaxAgeMs?: number;
  /** Time source, for tests. */
  clock?: Clock;
}

/**
 * Per-call checks of {@link IdTokenVerifier.verify}. A check of the wrong type is refused with
 * `ERR_OIDC_INPUT` rather than skipped.
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
 * `none`, never HMAC), `iss` exactly, `aud` containing `clientId`, `azp` equal to `clientId` when
 * there are several audiences or an `azp` at all, `exp` / `nbf` / `iat` with clock tolerance, `nonce`, `auth_time` against max age,
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
    authorizedParties = [],
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
  if (!Array.isArray(authorizedParties)) {
    throw new OidcError('ERR_OIDC_OPTIONS', 'authorizedParties must be an array of client ids');
  }
  for (const party of authorizedParties) assertNonEmptyString(party, 'authorizedParties[]', 'ERR_OIDC_OPTIONS');
  if (jwksUri !== undefined) assertUrl(jwksUri, 'jwksUri', 'ERR_OIDC_OPTIONS', HTTP);
  assertFunction(fetchImpl, 'fetch', 'ERR_OIDC_OPTIONS');
  assertClock(clock, 'clock', 'ERR_OIDC_OPTIONS');
  if (algorithms !== undefined) checkAlgorithms(algorithms);
  assertNumber(clockToleranceSeconds, 'clockToleranceSeconds', 'ERR_OIDC_OPTIONS', { min: 0 });
  if (maxAgeSeconds !== undefined) assertNumber(maxAgeSeconds, 'maxAgeSeconds', 'ERR_OIDC_OPTIONS', { min: 0 });
  assertNumber(timeoutMs, 'timeoutMs', 'ERR_OIDC_OPTIONS', { min: 1 });
  assertNumber(jwksCooldownMs, 'jwksCooldownMs', 'ERR_OIDC_OPTIONS', { min: 0 });
  assertNumber(jwksMaxAgeMs, 'jwksMaxAgeMs', 'ERR_OIDC_OPTIONS', { min: 0 });

  let setup: Promise<{ keys: KeyResolver; algorithms: string[] }> | undefined;
  const setupFailed = failureMemo(clock, failureHoldMs(jwksCooldownMs), 'ERR_OIDC_DISCOVERY', `discovering ${issuer}`);
  const prepare = (): Promise<{ keys: KeyResolver; algorithms: string[] }> => {
    if (setup === undefined) {
      const recent = setupFailed.recent();
      if (recent) return Promise.reject(recent);
    }
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
    // a failed discovery is retried, after a pause, rather than remembered for good
    setup.catch((error: unknown) => {
      setupFailed.record(error);
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
      checkVerifyChecks(checks);
      // before any request to the provider, so a string that is no token costs it nothing
      checkProtectedHeader(idToken);
      const { keys, algorithms: allowed } = await prepare();
      const verified = await verifySignature(idToken, keys, allowed);
      const claims = parseClaims(verified.payload);
      const claimChecks: ClaimChecks = {
        issuer,
        clientId,
        authorizedParties,
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

function checkVerifyChecks(checks: unknown): asserts checks is VerifyChecks {
  if (typeof checks !== 'object' || checks === null) {
    throw new OidcError('ERR_OIDC_INPUT', 'verify checks must be an object');
  }
  const { nonce, maxAgeSeconds, accessToken, code } = checks as Record<string, unknown>;
  for (const [name, value] of [
    ['nonce', nonce],
    ['accessToken', accessToken],
    ['code', code],
  ] as const) {
    if (value !== undefined && typeof value !== 'string') {
      throw new OidcError('ERR_OIDC_INPUT', `${name} must be a string, got ${describe(value)}`);
    }
  }
  // a string or NaN here would make the max_age comparison always pass
  if (
    maxAgeSeconds !== undefined &&
    !(typeof maxAgeSeconds === 'number' && maxAgeSeconds >= 0 && Number.isFinite(maxAgeSeconds))
  ) {
    throw new OidcError('ERR_OIDC_INPUT', `maxAgeSeconds must be a finite number >= 0, got ${describe(maxAgeSeconds)}`);
  }
}

/**
 * Refuses a header that is not base64url JSON, and any `crit` header: RFC 7515 has a recipient
 * refuse extensions it does not understand, and patchbay understands none. The one jose knows,
 * `b64: false` (RFC 7797), leaves the payload unencoded, which a JWT must not be.
 */
function checkProtectedHeader(idToken: string): void {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(idToken);
  } catch (error) {
    throw new OidcError('ERR_OIDC_MALFORMED', 'ID token header is not base64url-encoded JSON', { cause: error });
  }
  if (header.crit !== undefined) {
    throw new OidcError('ERR_OIDC_MALFORMED', `ID token header has critical extensions (${describe(header.crit)})`);
  }
}

/**
 * Verifies the signature. A token without `kid` that several keys of the JWKS could have signed
 * (a provider mid-rotation) is tried with each in turn, as jose offers them.
 */
async function verifySignature(
  idToken: string,
  keys: KeyResolver,
  algorithms: string[],
): Promise<Awaited<ReturnType<typeof compactVerify>>> {
  try {
    return await compactVerify(idToken, keys, { algorithms });
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw joseFailure(error);
    let last: unknown = error;
    for await (const key of error) {
      try {
        return await compactVerify(idToken, key, { algorithms });
      } catch (attempt) {
        last = attempt;
        if (!(attempt instanceof errors.JWSSignatureVerificationFailed)) break;
      }
    }
    throw joseFailure(last);
  }
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
