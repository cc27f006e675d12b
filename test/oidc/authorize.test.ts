import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { authorizationUrl, exchangeCode } from '../../src/oidc/authorize';
import type { ProviderMetadata } from '../../src/oidc/discovery';

const metadata: ProviderMetadata = {
  issuer: 'https://op.example.com',
  authorization_endpoint: 'https://op.example.com/authorize?tenant=7',
  token_endpoint: 'https://op.example.com/token',
  jwks_uri: 'https://op.example.com/jwks',
};
const base = { clientId: 'app', redirectUri: 'https://app.example.com/cb', state: 's-1', codeChallenge: 'c-1' };

describe('authorizationUrl', () => {
  it('builds a code request with S256 PKCE, keeping the endpoint’s own query', () => {
    const url = authorizationUrl(metadata, {
      ...base,
      nonce: 'n-1',
      scope: 'email profile',
      extra: { prompt: 'login' },
    });
    expect(url.origin + url.pathname).toBe('https://op.example.com/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      tenant: '7',
      response_type: 'code',
      client_id: 'app',
      redirect_uri: 'https://app.example.com/cb',
      scope: 'openid email profile',
      state: 's-1',
      nonce: 'n-1',
      code_challenge: 'c-1',
      code_challenge_method: 'S256',
      prompt: 'login',
    });
  });

  it('defaults the scope to openid and keeps openid first-class when given', () => {
    expect(authorizationUrl(metadata, base).searchParams.get('scope')).toBe('openid');
    expect(authorizationUrl(metadata, { ...base, scope: 'email openid' }).searchParams.get('scope')).toBe(
      'email openid',
    );
  });

  it('refuses extra parameters that would replace the protected ones, and missing inputs', () => {
    expect(() => authorizationUrl(metadata, { ...base, extra: { code_challenge_method: 'plain' } })).toThrow(
      expect.objectContaining({ code: 'ERR_OIDC_INPUT' }),
    );
    expect(() => authorizationUrl(metadata, { ...base, state: '' })).toThrow(
      expect.objectContaining({ code: 'ERR_OIDC_INPUT' }),
    );
    expect(() => authorizationUrl({} as ProviderMetadata, base)).toThrow(
      expect.objectContaining({ code: 'ERR_OIDC_INPUT' }),
    );
  });

  it.each([
    ['a redirectUri that is not a URL', { ...base, redirectUri: 'not a url' }],
    ['a relative redirectUri', { ...base, redirectUri: '/cb' }],
    ['a string as extra', { ...base, extra: 'x' }],
    ['null as extra', { ...base, extra: null }],
    ['an array as extra', { ...base, extra: ['prompt'] }],
    ['a number in extra', { ...base, extra: { max_age: 60 } }],
    // a request object's values supersede the query's (OIDC Core 6.1): they would replace the protected ones
    ['a request object in extra', { ...base, extra: { request: 'eyJhbGciOiJub25lIn0.e30.' } }],
    ['a request_uri in extra', { ...base, extra: { request_uri: 'https://evil.example.com/r' } }],
    // RFC 6749 3.1.2: a redirection endpoint URI must not include a fragment
    ['a redirectUri with a fragment', { ...base, redirectUri: 'https://app.example.com/cb#x' }],
  ])('refuses %s with ERR_OIDC_INPUT', (_, params) => {
    expect(() => authorizationUrl(metadata, params as never)).toThrow(
      expect.objectContaining({ code: 'ERR_OIDC_INPUT' }),
    );
  });

  it('refuses a malformed authorization_endpoint with ERR_OIDC_INPUT, not a TypeError', () => {
    for (const authorization_endpoint of ['not a url', '/authorize', 'javascript:alert(1)']) {
      expect(() => authorizationUrl({ ...metadata, authorization_endpoint }, base)).toThrow(
        expect.objectContaining({ code: 'ERR_OIDC_INPUT' }),
      );
    }
  });
});

describe('exchangeCode against a real token endpoint', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.closeAllConnections();
    server?.close();
  });

  async function tokenEndpoint(
    answer: (req: IncomingMessage, body: string) => { status: number; body: unknown } | undefined,
  ) {
    const seen: { headers: IncomingMessage['headers']; body: string }[] = [];
    server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      seen.push({ headers: req.headers, body });
      const reply = answer(req, body);
      if (!reply) return; // hang
      res.statusCode = reply.status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(reply.body));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    return { meta: { ...metadata, token_endpoint: endpoint }, seen };
  }

  const params = {
    clientId: 'app id',
    code: 'the-code',
    redirectUri: 'https://app.example.com/cb',
    codeVerifier: 'v'.repeat(43),
  };

  it('reads expires_in sent as a string, as some providers do, and ignores one that is no number', async () => {
    for (const [expiresIn, expected] of [
      ['3600', true],
      ['soon', false],
    ] as const) {
      const { meta } = await tokenEndpoint(() => ({
        status: 200,
        body: { access_token: 'at', token_type: 'Bearer', expires_in: expiresIn },
      }));
      const tokens = await exchangeCode(meta, params);
      if (expected) expect(tokens.expiresAt).toBeGreaterThan(Date.now() + 3_500_000);
      else expect(tokens.expiresAt).toBeUndefined();
    }
  });

  it('posts the form with client_secret_basic, form-encoding id and secret', async () => {
    const { meta, seen } = await tokenEndpoint(() => ({
      status: 200,
      body: { access_token: 'at', token_type: 'Bearer', expires_in: 60, id_token: 'x.y.z' },
    }));
    const tokens = await exchangeCode(meta, { ...params, clientSecret: 's3cr:t+/' });
    expect(tokens).toMatchObject({ access_token: 'at', id_token: 'x.y.z' });
    expect(tokens.expiresAt).toBeGreaterThan(Date.now() + 50_000);
    const [request] = seen;
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const basic = Buffer.from(String(request!.headers.authorization).replace('Basic ', ''), 'base64').toString();
    expect(basic).toBe('app+id:s3cr%3At%2B%2F');
    expect(Object.fromEntries(new URLSearchParams(request!.body))).toEqual({
      grant_type: 'authorization_code',
      code: 'the-code',
      redirect_uri: 'https://app.example.com/cb',
      code_verifier: 'v'.repeat(43),
    });
  });

  it('sends client_id in the body for a public client', async () => {
    const { meta, seen } = await tokenEndpoint(() => ({
      status: 200,
      body: { access_token: 'at', token_type: 'Bearer' },
    }));
    await exchangeCode(meta, params);
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(new URLSearchParams(seen[0]!.body).get('client_id')).toBe('app id');
  });

  it('turns an OAuth error response into ERR_OIDC_TOKEN with error and error_description', async () => {
    const { meta } = await tokenEndpoint(() => ({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'code expired' },
    }));
    await expect(exchangeCode(meta, params)).rejects.toMatchObject({
      code: 'ERR_OIDC_TOKEN',
      error: 'invalid_grant',
      errorDescription: 'code expired',
    });
  });

  it('times out a hanging token endpoint and rejects a response without tokens', async () => {
    const { meta } = await tokenEndpoint(() => undefined);
    await expect(exchangeCode(meta, { ...params, timeoutMs: 150 })).rejects.toMatchObject({ code: 'ERR_OIDC_TOKEN' });
    const { meta: empty } = await tokenEndpoint(() => ({ status: 200, body: { token_type: 'Bearer' } }));
    await expect(exchangeCode(empty, params)).rejects.toMatchObject({ code: 'ERR_OIDC_TOKEN' });
  });

  it('refuses missing inputs before any request', async () => {
    await expect(exchangeCode(metadata, { ...params, code: '' })).rejects.toMatchObject({ code: 'ERR_OIDC_INPUT' });
    await expect(exchangeCode({} as ProviderMetadata, params)).rejects.toMatchObject({ code: 'ERR_OIDC_INPUT' });
    await expect(exchangeCode(metadata, { ...params, fetch: 'x' as never })).rejects.toMatchObject({
      code: 'ERR_OIDC_INPUT',
    });
  });

  it('refuses a code verifier RFC 7636 does not allow, before any request', async () => {
    const { meta, seen } = await tokenEndpoint(() => ({
      status: 200,
      body: { access_token: 'a', token_type: 'Bearer' },
    }));
    for (const codeVerifier of ['too-short', 'v'.repeat(129), `${'v'.repeat(42)} `, `${'v'.repeat(42)}+`]) {
      await expect(exchangeCode(meta, { ...params, codeVerifier })).rejects.toMatchObject({ code: 'ERR_OIDC_INPUT' });
    }
    expect(seen).toEqual([]);
  });
});
