export type { Clock } from '../core/clock';
export { PatchbayError, type PatchbayErrorOptions } from '../core/errors';
export {
  type AuthorizationParams,
  authorizationUrl,
  type ExchangeCodeParams,
  exchangeCode,
  type TokenSet,
} from './authorize';
export type { IdTokenClaims } from './claims';
export { type DiscoverOptions, discover, type ProviderMetadata } from './discovery';
export { OidcError, type OidcErrorCode, type OidcErrorOptions } from './errors';
export type { Fetch } from './http';
export {
  createIdTokenVerifier,
  type IdTokenVerifier,
  type IdTokenVerifierOptions,
  type VerifyChecks,
} from './id-token';
export { codeChallenge, createPkce, type Pkce, randomNonce, randomState } from './pkce';
