import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationUrl, exchangeCode } from '../../src/oidc/authorize';
import { discover } from '../../src/oidc/discovery';
import { OidcError } from '../../src/oidc/errors';
import { createIdTokenVerifier } from '../../src/oidc/id-token';
import { createPkce, randomNonce, randomState } from '../../src/oidc/pkce';
import { loginThrough, startProvider, type TestProvider } from './support/provider';

let op: TestProvider;

beforeAll(async () => {
  op = await startProvider();
});

afterAll(async () => {
  await op?.close();
});

/** The whole code + PKCE flow for `clientId`, up to the token response. */
async function signIn(clientId: string, clientSecret?: string) {
  const metadata = await discover(op.issuer, { cacheTtlMs: 0 });
  const pkce = await createPkce();
  const state = randomState();
  const nonce = randomNonce();
  const url = authorizationUrl(metadata, {
    clientId,
    redirectUri: op.redirectUri,
    scope: 'openid email',
    state,
    nonce,
    codeChallenge: pkce.challenge,
  });
  const callback = await loginThrough(url);
  expect(callback.searchParams.get('state')).toBe(state);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback.href}`);
  const params = { clientId, code, redirectUri: op.redirectUri, codeVerifier: pkce.verifier };
  const tokens = await exchangeCode(metadata, clientSecret === undefined ? params : { ...params, clientSecret });
  return { metadata, tokens, nonce, code, params: clientSecret === undefined ? params : { ...params, clientSecret } };
}

describe('against a real OpenID Provider (oidc-provider)', () => {
  it('runs the code flow with PKCE for a confidential client and verifies the ID token', async () => {
    const { tokens, nonce, code } = await signIn(op.confidential.clientId, op.confidential.clientSecret);
    expect(tokens.token_type).toBe('Bearer');
    expect(typeof tokens.id_token).toBe('string');
    expect(tokens.expiresAt).toBeGreaterThan(Date.now());
    const verifier = createIdTokenVerifier({ issuer: op.issuer, clientId: op.confidential.clientId });
    const claims = await verifier.verify(tokens.id_token!, { nonce, accessToken: tokens.access_token, code });
    expect(claims).toMatchObject({ iss: op.issuer, sub: 'alice', aud: op.confidential.clientId, nonce });
    // the provider's token must not verify for another client
    const other = createIdTokenVerifier({ issuer: op.issuer, clientId: op.publicClientId });
    await expect(other.verify(tokens.id_token!, { nonce })).rejects.toMatchObject({ code: 'ERR_OIDC_AUDIENCE' });
  });

  it('runs the flow for a public client (no secret, client_id in the body)', async () => {
    const { tokens, nonce } = await signIn(op.publicClientId);
    const verifier = createIdTokenVerifier({ issuer: op.issuer, clientId: op.publicClientId });
    await expect(verifier.verify(tokens.id_token!, { nonce })).resolves.toMatchObject({ sub: 'alice' });
  });

  it('refuses a reused code with the provider’s OAuth error', async () => {
    const { metadata, params } = await signIn(op.confidential.clientId, op.confidential.clientSecret);
    const error = await exchangeCode(metadata, params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OidcError);
    expect(error).toMatchObject({ code: 'ERR_OIDC_TOKEN', error: 'invalid_grant' });
  });

  it('refuses a wrong PKCE verifier', async () => {
    const metadata = await discover(op.issuer, { cacheTtlMs: 0 });
    const pkce = await createPkce();
    const url = authorizationUrl(metadata, {
      clientId: op.publicClientId,
      redirectUri: op.redirectUri,
      state: randomState(),
      codeChallenge: pkce.challenge,
    });
    const code = (await loginThrough(url)).searchParams.get('code')!;
    const wrong = await createPkce();
    await expect(
      exchangeCode(metadata, {
        clientId: op.publicClientId,
        code,
        redirectUri: op.redirectUri,
        codeVerifier: wrong.verifier,
      }),
    ).rejects.toMatchObject({ code: 'ERR_OIDC_TOKEN', error: 'invalid_grant' });
  });

  it('follows a key rotation on the provider', async () => {
    const verifier = createIdTokenVerifier({ issuer: op.issuer, clientId: op.confidential.clientId });
    const before = await signIn(op.confidential.clientId, op.confidential.clientSecret);
    await verifier.verify(before.tokens.id_token!, { nonce: before.nonce });
    await op.rotateKeys();
    const after = await signIn(op.confidential.clientId, op.confidential.clientSecret);
    const header = JSON.parse(Buffer.from(after.tokens.id_token!.split('.')[0]!, 'base64url').toString());
    expect(header.kid).not.toBe(
      JSON.parse(Buffer.from(before.tokens.id_token!.split('.')[0]!, 'base64url').toString()).kid,
    );
    await expect(verifier.verify(after.tokens.id_token!, { nonce: after.nonce })).resolves.toMatchObject({
      sub: 'alice',
    });
    // the old key is still published, so earlier tokens still verify
    await expect(verifier.verify(before.tokens.id_token!, { nonce: before.nonce })).resolves.toBeDefined();
  });
});
