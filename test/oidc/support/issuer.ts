import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

type Mode = 'ok' | 'down' | 'hang';

interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** A local OpenID issuer for negative tests: discovery and JWKS over real HTTP, tokens signed with jose. */
export interface TestIssuer {
  issuer: string;
  clientId: string;
  /** Requests served, per path. */
  requests: { discovery: number; jwks: number };
  /** `ok` serves, `down` answers 503, `hang` never answers. */
  jwksMode: Mode;
  /** The same, for the discovery document. */
  discoveryMode: Mode;
  /** Publishes the keys without their `kid`, as some providers do. */
  omitKids: boolean;
  /** The key tokens are signed with unless `sign` is told otherwise. */
  current: SigningKey;
  /** Signs `claims` on top of valid defaults (iss, aud, sub, iat, exp). */
  sign(
    claims?: JWTPayload & Record<string, unknown>,
    options?: { key?: SigningKey; header?: Record<string, unknown> },
  ): Promise<string>;
  /** Adds a key with a new kid, makes it current, and publishes it (the old one stays published). */
  rotate(alg?: string): Promise<SigningKey>;
  /** A key of the given alg that is not published in the JWKS. */
  unpublishedKey(alg?: string): Promise<SigningKey>;
  close(): Promise<void>;
}

let kids = 0;

async function newKey(alg: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `key-${++kids}`;
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export async function startIssuer({ alg = 'RS256', algorithms = ['RS256', 'ES256'] } = {}): Promise<TestIssuer> {
  const published: SigningKey[] = [await newKey(alg)];
  const hung: ServerResponse[] = [];
  // false when the mode answered for the endpoint (503) or left it hanging
  const answer = (mode: Mode, res: ServerResponse): boolean => {
    if (mode === 'hang') hung.push(res);
    if (mode === 'down') {
      res.statusCode = 503;
      res.end('{"error":"down"}');
    }
    return mode === 'ok';
  };
  const server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      state.requests.discovery++;
      if (!answer(state.discoveryMode, res)) return;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          issuer: state.issuer,
          authorization_endpoint: `${state.issuer}/auth`,
          token_endpoint: `${state.issuer}/token`,
          jwks_uri: `${state.issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: [...algorithms, 'HS256', 'none'],
        }),
      );
      return;
    }
    if (req.url === '/jwks') {
      state.requests.jwks++;
      if (!answer(state.jwksMode, res)) return;
      const keys = published.map(({ publicJwk: { kid, ...rest } }) => (state.omitKids ? rest : { kid, ...rest }));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const state: TestIssuer = {
    issuer,
    clientId: 'patchbay-client',
    requests: { discovery: 0, jwks: 0 },
    jwksMode: 'ok',
    discoveryMode: 'ok',
    omitKids: false,
    current: published[0]!,
    async sign(claims = {}, { key = state.current, header = {} } = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, aud: state.clientId, sub: 'user-1', iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
        .sign(key.privateKey);
    },
    async rotate(nextAlg = alg) {
      const key = await newKey(nextAlg);
      published.push(key);
      state.current = key;
      return key;
    },
    unpublishedKey: (nextAlg = alg) => newKey(nextAlg),
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  return state;
}
