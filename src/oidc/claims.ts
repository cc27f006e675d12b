import { OidcError } from './errors';
import { tokenHash } from './token-hash';

/**
 * The claims of a verified ID token: the standard ones typed, any others kept.
 *
 * @example
 * ```ts
 * const claims: IdTokenClaims = await verifier.verify(idToken);
 * const user = { issuer: claims.iss, subject: claims.sub, email: claims.email };
 * ```
 */
export interface IdTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nbf?: number;
  auth_time?: number;
  nonce?: string;
  azp?: string;
  at_hash?: string;
  c_hash?: string;
  acr?: string;
  amr?: string[];
  email?: string;
  email_verified?: boolean;
  name?: string;
  [claim: string]: unknown;
}

/** What the claims are checked against. */
export interface ClaimChecks {
  issuer: string;
  clientId: string;
  /** Other client ids the token may name as its `azp`. */
  authorizedParties: readonly string[];
  /** Current time in seconds. */
  now: number;
  toleranceSeconds: number;
  nonce: string | undefined;
  maxAgeSeconds: number | undefined;
  accessToken: string | undefined;
  code: string | undefined;
  alg: string;
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Parses the payload of a verified token into claims; anything but a JSON object is malformed. */
export function parseClaims(payload: Uint8Array): IdTokenClaims {
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (error) {
    throw new OidcError('ERR_OIDC_MALFORMED', 'ID token payload is not JSON', { cause: error });
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new OidcError('ERR_OIDC_MALFORMED', 'ID token payload is not a JSON object');
  }
  const c = claims as Record<string, unknown>;
  if (typeof c.iss !== 'string' || typeof c.sub !== 'string' || !isNumber(c.exp) || !isNumber(c.iat)) {
    throw new OidcError('ERR_OIDC_MALFORMED', 'ID token lacks iss, sub, exp or iat, or has them of the wrong type');
  }
  if (typeof c.aud !== 'string' && !(Array.isArray(c.aud) && c.aud.every((a) => typeof a === 'string'))) {
    throw new OidcError('ERR_OIDC_MALFORMED', 'ID token aud is neither a string nor a list of strings');
  }
  if (c.nbf !== undefined && !isNumber(c.nbf)) {
    throw new OidcError('ERR_OIDC_MALFORMED', 'ID token nbf is not a number');
  }
  return c as IdTokenClaims;
}

/** OpenID Connect Core 1.0 §3.1.3.7, steps 2 to 12 after the signature: each failure its own code. */
export async function checkClaims(claims: IdTokenClaims, checks: ClaimChecks): Promise<void> {
  const { issuer, clientId, now, toleranceSeconds: skew } = checks;
  if (claims.iss !== issuer) {
    throw new OidcError('ERR_OIDC_ISSUER', `ID token issuer ${claims.iss} is not ${issuer}`);
  }
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : claims.aud;
  if (!audiences.includes(clientId)) {
    throw new OidcError('ERR_OIDC_AUDIENCE', `ID token audience does not include client ${clientId}`);
  }
  // several audiences: the token must say it was issued to us (azp); a present azp must be us,
  // or another of our clients the caller named
  const { azp } = claims;
  if (
    (audiences.length > 1 || azp !== undefined) &&
    azp !== clientId &&
    !(typeof azp === 'string' && checks.authorizedParties.includes(azp))
  ) {
    throw new OidcError(
      'ERR_OIDC_AZP',
      azp === undefined
        ? 'ID token has several audiences and no azp'
        : `ID token was issued to ${String(azp)}, not ${clientId}`,
    );
  }
  if (claims.exp <= now - skew) throw new OidcError('ERR_OIDC_EXPIRED', `ID token expired at ${claims.exp}`);
  if (claims.nbf !== undefined && claims.nbf > now + skew) {
    throw new OidcError('ERR_OIDC_NOT_YET_VALID', `ID token is not valid before ${claims.nbf}`);
  }
  if (claims.iat > now + skew) throw new OidcError('ERR_OIDC_IAT', `ID token was issued in the future (${claims.iat})`);
  if (checks.nonce !== undefined ? claims.nonce !== checks.nonce : claims.nonce !== undefined) {
    throw new OidcError(
      'ERR_OIDC_NONCE',
      checks.nonce === undefined ? 'ID token carries a nonce, but none was sent' : 'ID token nonce does not match',
    );
  }
  if (checks.maxAgeSeconds !== undefined) {
    if (!isNumber(claims.auth_time))
      throw new OidcError('ERR_OIDC_AUTH_TIME', 'ID token has no auth_time, and max_age was requested');
    if (claims.auth_time + checks.maxAgeSeconds < now - skew) {
      throw new OidcError(
        'ERR_OIDC_AUTH_TIME',
        `the user authenticated at ${claims.auth_time}, longer ago than max_age ${checks.maxAgeSeconds} s`,
      );
    }
  }
  if (checks.accessToken !== undefined && claims.at_hash !== undefined) {
    if (claims.at_hash !== (await tokenHash(checks.accessToken, checks.alg))) {
      throw new OidcError('ERR_OIDC_AT_HASH', 'ID token at_hash does not match the access token');
    }
  }
  if (checks.code !== undefined && claims.c_hash !== undefined) {
    if (claims.c_hash !== (await tokenHash(checks.code, checks.alg))) {
      throw new OidcError('ERR_OIDC_C_HASH', 'ID token c_hash does not match the authorization code');
    }
  }
}
