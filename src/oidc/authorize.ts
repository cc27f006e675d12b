import {
  assertFunction,
  assertNonEmptyString,
  assertNumber,
  assertUrl,
  describe,
  isStringRecord,
} from '../core/assert';
import type { ProviderMetadata } from './discovery';
import { OidcError } from './errors';
import { type Fetch, fetchJson } from './http';
import { checkVerifier } from './pkce';

/**
 * Parameters of {@link authorizationUrl}.
 *
 * @example
 * ```ts
 * const params: AuthorizationParams = { clientId, redirectUri, state, nonce, codeChallenge: pkce.challenge };
 * ```
 */
export interface AuthorizationParams {
  clientId: string;
  /** An absolute URL, as registered with the provider. */
  redirectUri: string;
  /** Space-separated scopes; `openid` is added when missing. Default `openid`. */
  scope?: string;
  state: string;
  nonce?: string;
  /** The S256 PKCE challenge from {@link createPkce}. */
  codeChallenge: string;
  /**
   * Further parameters (`prompt`, `login_hint`, `max_age`, ...) as strings; they may not replace the
   * ones above, nor be `request` or `request_uri`, whose request object would supersede them.
   */
  extra?: Record<string, string>;
}

const HTTP = ['https:', 'http:'];
const RESERVED = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  // a request object's values supersede the query's (OIDC Core 6.1), so either would replace the above
  'request',
  'request_uri',
];

/**
 * The URL to send the user to: an authorization code request with PKCE (S256).
 *
 * @example
 * ```ts
 * import { authorizationUrl, createPkce, discover, randomNonce, randomState } from 'patchbay/oidc';
 *
 * const metadata = await discover('https://accounts.example.com');
 * const pkce = await createPkce();
 * const url = authorizationUrl(metadata, {
 *   clientId: 'my-app',
 *   redirectUri: 'https://app.example.com/callback',
 *   scope: 'openid email',
 *   state: randomState(),
 *   nonce: randomNonce(),
 *   codeChallenge: pkce.challenge,
 * });
 * res.writeHead(302, { location: url.href }).end();
 * ```
 */
export function authorizationUrl(metadata: ProviderMetadata, params: AuthorizationParams): URL {
  if (typeof metadata?.authorization_endpoint !== 'string') {
    throw new OidcError('ERR_OIDC_INPUT', 'metadata has no authorization_endpoint; pass the result of discover()');
  }
  const { clientId, redirectUri, scope = 'openid', state, nonce, codeChallenge, extra = {} } = params ?? {};
  for (const [name, value] of Object.entries({ clientId, redirectUri, state, codeChallenge, scope })) {
    assertNonEmptyString(value, name, 'ERR_OIDC_INPUT');
  }
  if (nonce !== undefined) assertNonEmptyString(nonce, 'nonce', 'ERR_OIDC_INPUT');
  // the provider compares it with the registered one, so a relative or mangled one fails only there
  assertUrl(redirectUri, 'redirectUri', 'ERR_OIDC_INPUT');
  if ((redirectUri as string).includes('#')) {
    throw new OidcError('ERR_OIDC_INPUT', 'redirectUri must not have a fragment (RFC 6749 section 3.1.2)');
  }
  if (!isStringRecord(extra)) {
    throw new OidcError(
      'ERR_OIDC_INPUT',
      `extra must be an object of parameter names to strings, got ${describe(extra)}`,
    );
  }
  const url = assertUrl(metadata.authorization_endpoint, 'metadata.authorization_endpoint', 'ERR_OIDC_INPUT', HTTP);
  const clash = Object.keys(extra).find((name) => RESERVED.includes(name));
  if (clash) throw new OidcError('ERR_OIDC_INPUT', `extra may not set ${clash}; use the named parameter`);
  const scopes = scope.split(' ').filter(Boolean);
  const query: Record<string, string> = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: (scopes.includes('openid') ? scopes : ['openid', ...scopes]).join(' '),
    state,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    ...(nonce === undefined ? {} : { nonce }),
    ...extra,
  };
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url;
}

/**
 * Parameters of {@link exchangeCode}.
 *
 * @example
 * ```ts
 * const params: ExchangeCodeParams = { clientId, code, redirectUri, codeVerifier: session.codeVerifier };
 * ```
 */
export interface ExchangeCodeParams {
  clientId: string;
  /** Confidential clients: sent with HTTP Basic (client_secret_basic). Omit for public clients. */
  clientSecret?: string;
  code: string;
  redirectUri: string;
  codeVerifier: string;
  /** The `fetch` to use. Default `globalThis.fetch`. */
  fetch?: Fetch;
  /** Bound on the request, in ms. Default 10 000. */
  timeoutMs?: number;
}

/**
 * The token endpoint's answer (RFC 6749 §5.1, OIDC Core §3.1.3.3).
 *
 * @example
 * ```ts
 * const tokens: TokenSet = await exchangeCode(metadata, params);
 * const claims = await verifier.verify(tokens.id_token!, { nonce, accessToken: tokens.access_token });
 * ```
 */
export interface TokenSet {
  access_token: string;
  token_type: string;
  id_token?: string;
  refresh_token?: string;
  expires_in?: number;
  scope?: string;
  /** Epoch ms at which the access token expires, from `expires_in`. */
  expiresAt?: number;
  [field: string]: unknown;
}

// RFC 6749 §2.3.1: client id and secret are form-encoded before being joined for Basic auth
const formEncode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+');

/**
 * Exchanges an authorization code for tokens: a form-encoded POST to the token endpoint with
 * the PKCE verifier, authenticated with client_secret_basic when a secret is given (a public
 * client otherwise). An OAuth error response becomes an `ERR_OIDC_TOKEN` {@link OidcError} that
 * keeps `error` and `errorDescription`. Verify the returned `id_token` before trusting it.
 *
 * @example
 * ```ts
 * import { exchangeCode } from 'patchbay/oidc';
 *
 * const tokens = await exchangeCode(metadata, {
 *   clientId: 'my-app',
 *   clientSecret: process.env.CLIENT_SECRET,
 *   code: callbackUrl.searchParams.get('code')!,
 *   redirectUri: 'https://app.example.com/callback',
 *   codeVerifier: session.codeVerifier,
 * });
 * ```
 */
export async function exchangeCode(metadata: ProviderMetadata, params: ExchangeCodeParams): Promise<TokenSet> {
  if (typeof metadata?.token_endpoint !== 'string') {
    throw new OidcError('ERR_OIDC_INPUT', 'metadata has no token_endpoint; pass the result of discover()');
  }
  const {
    clientId,
    clientSecret,
    code,
    redirectUri,
    codeVerifier,
    fetch: fetchImpl = globalThis.fetch,
    timeoutMs = 10_000,
  } = params ?? ({} as ExchangeCodeParams);
  for (const [name, value] of Object.entries({ clientId, code, redirectUri })) {
    assertNonEmptyString(value, name, 'ERR_OIDC_INPUT');
  }
  // checked here, so a verifier mangled in the session fails at the call, not as the provider's invalid_grant
  checkVerifier(codeVerifier);
  if (clientSecret !== undefined) assertNonEmptyString(clientSecret, 'clientSecret', 'ERR_OIDC_INPUT');
  assertNumber(timeoutMs, 'timeoutMs', 'ERR_OIDC_INPUT', { min: 1 });
  assertFunction(fetchImpl, 'fetch', 'ERR_OIDC_INPUT');

  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    code_verifier: codeVerifier,
  });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (clientSecret === undefined) form.set('client_id', clientId);
  else headers.authorization = `Basic ${btoa(`${formEncode(clientId)}:${formEncode(clientSecret)}`)}`;

  const { status, body } = await fetchJson(
    fetchImpl,
    metadata.token_endpoint,
    { method: 'POST', headers, body: form.toString() },
    timeoutMs,
    'ERR_OIDC_TOKEN',
  );
  if (status !== 200 || typeof body.error === 'string') {
    const error = typeof body.error === 'string' ? body.error : undefined;
    const errorDescription = typeof body.error_description === 'string' ? body.error_description : undefined;
    throw new OidcError('ERR_OIDC_TOKEN', `token endpoint answered ${status}${error ? `: ${error}` : ''}`, {
      error,
      errorDescription,
    });
  }
  if (typeof body.access_token !== 'string' || typeof body.token_type !== 'string') {
    throw new OidcError('ERR_OIDC_TOKEN', 'token response lacks access_token or token_type');
  }
  const tokens = body as TokenSet;
  // RFC 6749 says a number; some providers send a numeric string, which means the same
  const seconds = typeof body.expires_in === 'string' ? Number(body.expires_in) : body.expires_in;
  return typeof seconds === 'number' && Number.isFinite(seconds)
    ? { ...tokens, expires_in: seconds, expiresAt: Date.now() + seconds * 1000 }
    : tokens;
}
