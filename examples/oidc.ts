// Sign-in with OpenID Connect, end to end on localhost: a tiny issuer (built with jose, standing
// in for Google, Okta, Entra ID...) and the client side done with patchbay/oidc: discovery, PKCE,
// state and nonce, the authorization URL, the code exchange, and full ID-token verification.
// Run: npm run build && node examples/oidc.ts
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import {
  authorizationUrl,
  createIdTokenVerifier,
  createPkce,
  discover,
  exchangeCode,
  OidcError,
  randomNonce,
  randomState,
} from 'patchbay/oidc';

// --- the provider (what your identity provider does) -------------------------------------------
const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
const pending = new Map<string, { challenge: string; nonce: string | null; clientId: string }>();

const provider = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', issuer);
  res.setHeader('content-type', 'application/json');
  if (url.pathname === '/.well-known/openid-configuration') {
    res.end(
      JSON.stringify({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        id_token_signing_alg_values_supported: ['ES256'],
        code_challenge_methods_supported: ['S256'],
      }),
    );
  } else if (url.pathname === '/jwks') {
    res.end(JSON.stringify({ keys: [jwk] }));
  } else if (url.pathname === '/authorize') {
    // a real provider shows a login page here; this one signs "ada" in at once
    const code = randomUUID();
    pending.set(code, {
      challenge: url.searchParams.get('code_challenge') ?? '',
      nonce: url.searchParams.get('nonce'),
      clientId: url.searchParams.get('client_id') ?? '',
    });
    const back = new URL(url.searchParams.get('redirect_uri') ?? '');
    back.searchParams.set('code', code);
    back.searchParams.set('state', url.searchParams.get('state') ?? '');
    res.writeHead(302, { location: back.href }).end();
  } else if (url.pathname === '/token') {
    let body = '';
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    const grant = pending.get(form.get('code') ?? '');
    pending.delete(form.get('code') ?? '');
    const verifier = form.get('code_verifier') ?? '';
    if (!grant || createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) {
      res
        .writeHead(400)
        .end(JSON.stringify({ error: 'invalid_grant', error_description: 'bad code or PKCE verifier' }));
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const idToken = await new SignJWT({
      sub: 'user-ada',
      email: 'ada@example.com',
      ...(grant.nonce ? { nonce: grant.nonce } : {}),
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'key-1' })
      .setIssuer(issuer)
      .setAudience(grant.clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(privateKey);
    res.end(JSON.stringify({ access_token: randomUUID(), token_type: 'Bearer', expires_in: 300, id_token: idToken }));
  } else {
    res.writeHead(404).end('{}');
  }
});
provider.listen(0, '127.0.0.1');
await once(provider, 'listening');
const issuer = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;

// --- your service ---------------------------------------------------------------------------------
const clientId = 'example-app';
const redirectUri = 'http://127.0.0.1/callback';
const metadata = await discover(issuer);
const verifier = createIdTokenVerifier({ issuer, clientId });

// 1. /login: remember state, nonce and the PKCE verifier in the session, redirect the user
const session = { state: randomState(), nonce: randomNonce(), pkce: await createPkce() };
const loginUrl = authorizationUrl(metadata, {
  clientId,
  redirectUri,
  scope: 'openid email',
  state: session.state,
  nonce: session.nonce,
  codeChallenge: session.pkce.challenge,
});
console.log(`redirect the user to ${loginUrl.origin}${loginUrl.pathname}?…&code_challenge_method=S256`);

// (the browser goes to the provider and comes back; here we follow the redirect by hand)
const callback = new URL((await fetch(loginUrl, { redirect: 'manual' })).headers.get('location') ?? '');

// 2. /callback: check state, exchange the code with the verifier, verify the ID token
if (callback.searchParams.get('state') !== session.state) throw new Error('state mismatch: possible CSRF');
const code = callback.searchParams.get('code') ?? '';
const tokens = await exchangeCode(metadata, { clientId, code, redirectUri, codeVerifier: session.pkce.verifier });
const claims = await verifier.verify(tokens.id_token ?? '', {
  nonce: session.nonce,
  accessToken: tokens.access_token,
  code,
});
console.log(`signed in: ${claims.sub} <${claims.email}>, token issued by ${claims.iss}`);

// 3. the same code again is refused by the provider, and a token meant for another app by the verifier
const reused = await exchangeCode(metadata, { clientId, code, redirectUri, codeVerifier: session.pkce.verifier }).catch(
  (e) => e,
);
console.log(`code reused: ${reused instanceof OidcError ? `${reused.code} (${reused.error})` : 'accepted?!'}`);
const otherApp = createIdTokenVerifier({ issuer, clientId: 'another-app' });
const wrongAudience = await otherApp.verify(tokens.id_token ?? '', { nonce: session.nonce }).catch((e) => e);
console.log(`token shown to another app: ${wrongAudience instanceof OidcError ? wrongAudience.code : 'accepted?!'}`);

provider.close();
