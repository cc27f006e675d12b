import { base64url } from 'jose';
import { OidcError } from './errors';

/** RFC 7636 §4.1: 43 to 128 characters from the unreserved set. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

const random = (bytes: number): string => base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));

/**
 * A PKCE pair (RFC 7636, S256 only).
 *
 * @example
 * ```ts
 * const { verifier, challenge, method }: Pkce = await createPkce();
 * ```
 */
export interface Pkce {
  /** Keep it in the user's session; send it with the code exchange. */
  verifier: string;
  /** Send it in the authorization request. */
  challenge: string;
  method: 'S256';
}

/**
 * The S256 code challenge of `verifier`: base64url(SHA-256(verifier)). Throws `ERR_OIDC_INPUT`
 * for a verifier that RFC 7636 does not allow.
 *
 * @example
 * ```ts
 * await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'); // 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
 * ```
 */
export async function codeChallenge(verifier: string): Promise<string> {
  checkVerifier(verifier);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url.encode(new Uint8Array(digest));
}

/**
 * A fresh PKCE verifier (32 random bytes, 43 characters) and its S256 challenge.
 *
 * @example
 * ```ts
 * import { createPkce } from 'patchbay/oidc';
 *
 * const pkce = await createPkce();
 * session.codeVerifier = pkce.verifier;
 * const url = authorizationUrl(metadata, { clientId, redirectUri, state, codeChallenge: pkce.challenge });
 * ```
 */
export async function createPkce(): Promise<Pkce> {
  const verifier = random(32);
  return { verifier, challenge: await codeChallenge(verifier), method: 'S256' };
}

/**
 * A random `state` for the authorization request (32 bytes, base64url): compare it when the
 * user comes back, to stop cross-site request forgery.
 *
 * @example
 * ```ts
 * session.state = randomState();
 * ```
 */
export function randomState(): string {
  return random(32);
}

/**
 * A random `nonce` for the authorization request (32 bytes, base64url): pass it to `verify` to
 * bind the ID token to this login and stop replays.
 *
 * @example
 * ```ts
 * session.nonce = randomNonce();
 * ```
 */
export function randomNonce(): string {
  return random(32);
}

/** Throws `ERR_OIDC_INPUT` unless `verifier` is one RFC 7636 allows. */
export function checkVerifier(verifier: unknown): asserts verifier is string {
  if (typeof verifier !== 'string' || !VERIFIER.test(verifier)) {
    throw new OidcError('ERR_OIDC_INPUT', 'a PKCE verifier is 43 to 128 characters of A-Z a-z 0-9 - . _ ~');
  }
}
