import { PatchbayError, type PatchbayErrorOptions } from '../core/errors';

/**
 * Codes of {@link OidcError}: one per check, so callers can log and alert on the exact reason.
 *
 * @example
 * ```ts
 * const retryable: OidcErrorCode[] = ['ERR_OIDC_JWKS', 'ERR_OIDC_DISCOVERY'];
 * ```
 */
export type OidcErrorCode =
  | 'ERR_OIDC_SIGNATURE'
  | 'ERR_OIDC_ALG'
  | 'ERR_OIDC_ISSUER'
  | 'ERR_OIDC_AUDIENCE'
  | 'ERR_OIDC_AZP'
  | 'ERR_OIDC_EXPIRED'
  | 'ERR_OIDC_NOT_YET_VALID'
  | 'ERR_OIDC_IAT'
  | 'ERR_OIDC_NONCE'
  | 'ERR_OIDC_AUTH_TIME'
  | 'ERR_OIDC_AT_HASH'
  | 'ERR_OIDC_C_HASH'
  | 'ERR_OIDC_JWKS'
  | 'ERR_OIDC_DISCOVERY'
  | 'ERR_OIDC_MALFORMED'
  | 'ERR_OIDC_TOKEN'
  | 'ERR_OIDC_OPTIONS'
  | 'ERR_OIDC_INPUT';

/**
 * Options of {@link OidcError}: besides `cause`, the OAuth `error` and `error_description` of a
 * failed token request.
 *
 * @example
 * ```ts
 * const options: OidcErrorOptions = { error: 'invalid_grant', errorDescription: 'code already used' };
 * ```
 */
export interface OidcErrorOptions extends PatchbayErrorOptions {
  /** OAuth 2.0 `error` from the provider, for `ERR_OIDC_TOKEN`. */
  error?: string | undefined;
  /** OAuth 2.0 `error_description` from the provider, for `ERR_OIDC_TOKEN`. */
  errorDescription?: string | undefined;
}

/**
 * Every failure of `patchbay/oidc`. `code` says which check failed; a token is never trusted
 * after one.
 *
 * @example
 * ```ts
 * import { OidcError } from 'patchbay/oidc';
 *
 * try {
 *   await verifier.verify(idToken, { nonce });
 * } catch (error) {
 *   if (error instanceof OidcError && error.code === 'ERR_OIDC_EXPIRED') return redirectToLogin();
 *   throw error;
 * }
 * ```
 */
export class OidcError extends PatchbayError {
  declare readonly code: OidcErrorCode;
  /** OAuth 2.0 `error` from the provider, when it sent one. */
  readonly error: string | undefined;
  /** OAuth 2.0 `error_description` from the provider, when it sent one. */
  readonly errorDescription: string | undefined;

  constructor(code: OidcErrorCode, message: string, options: OidcErrorOptions = {}) {
    super(code, message, options);
    this.error = options.error;
    this.errorDescription = options.errorDescription;
  }
}
