import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

/** A real OpenID Provider (oidc-provider) on 127.0.0.1, with a confidential and a public client. */
export interface TestProvider {
  issuer: string;
  redirectUri: string;
  confidential: { clientId: string; clientSecret: string };
  publicClientId: string;
  /** Restarts the provider on the same issuer, signing with a new key (the old one still published). */
  rotateKeys(): Promise<void>;
  close(): Promise<void>;
}

async function signingKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

export async function startProvider(): Promise<TestProvider> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  probe.close();
  await once(probe, 'close');

  const issuer = `http://127.0.0.1:${port}`;
  const redirectUri = `${issuer}/callback`;
  const confidential = { clientId: 'confidential-app', clientSecret: 'a secret: with spaces & symbols' };
  const publicClientId = 'public-app';
  let keys = [await signingKey('k1')];
  let server: Server | undefined;

  const start = async (): Promise<void> => {
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: confidential.clientId,
          client_secret: confidential.clientSecret,
          redirect_uris: [redirectUri],
          token_endpoint_auth_method: 'client_secret_basic',
          application_type: 'native',
        },
        {
          client_id: publicClientId,
          redirect_uris: [redirectUri],
          token_endpoint_auth_method: 'none',
          application_type: 'native',
        },
      ],
      jwks: { keys },
      cookies: { keys: ['patchbay-test-cookie-key'] },
      features: { devInteractions: { enabled: true } },
      claims: { openid: ['sub'], email: ['email', 'email_verified'] },
      findAccount: async (_ctx: unknown, sub: string) => ({
        accountId: sub,
        claims: async () => ({ sub, email: `${sub}@example.com`, email_verified: true }),
      }),
    });
    // the provider logs nothing we need; keep test output clean
    provider.on('server_error', () => {});
    server = createServer(provider.callback());
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  };

  const stop = async (): Promise<void> => {
    if (!server) return;
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
    server = undefined;
  };

  await start();
  return {
    issuer,
    redirectUri,
    confidential,
    publicClientId,
    async rotateKeys() {
      keys = [await signingKey(`k${keys.length + 1}`), ...keys];
      await stop();
      await start();
    },
    close: stop,
  };
}

/**
 * Follows an authorization URL through the provider's development login and consent pages the
 * way a browser would (cookies, redirects, form posts) and returns the callback URL with the code.
 */
export async function loginThrough(authorizationUrl: URL, account = 'alice'): Promise<URL> {
  const jar = new Map<string, string>();
  const request = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers ?? {}), cookie } });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      jar.set(pair!.slice(0, index), pair!.slice(index + 1));
    }
    return response;
  };
  let url = authorizationUrl.href;
  for (let step = 0; step < 12; step++) {
    const response = await request(url);
    await response.arrayBuffer();
    const location = response.headers.get('location');
    if (!location) throw new Error(`no redirect from ${url}: ${response.status}`);
    const next = new URL(location, url);
    if (next.pathname === '/callback') return next;
    if (next.pathname.startsWith('/interaction/')) {
      const page = await request(next.href);
      const html = await page.text();
      const prompt = html.includes('name="login"') ? 'login' : 'consent';
      const body = new URLSearchParams(prompt === 'login' ? { prompt, login: account, password: 'any' } : { prompt });
      const submitted = await request(next.href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
      });
      await submitted.arrayBuffer();
      url = new URL(submitted.headers.get('location') ?? '', next).href;
      continue;
    }
    url = next.href;
  }
  throw new Error('login did not reach the callback');
}
