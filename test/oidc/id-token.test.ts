import { base64url, exportSPKI, importJWK, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { OidcError } from '../../src/oidc/errors';
import { createIdTokenVerifier } from '../../src/oidc/id-token';
import { tokenHash } from '../../src/oidc/token-hash';
import { recordFaults } from '../support/faults';
import { runIsolated } from '../support/isolated';
import { startIssuer, type TestIssuer } from './support/issuer';

let issuer: TestIssuer | undefined;
afterEach(async () => {
  await issuer?.close();
  issuer = undefined;
});

async function setup(options: { alg?: string } = {}) {
  issuer = await startIssuer(options);
  const verifier = createIdTokenVerifier({ issuer: issuer.issuer, clientId: issuer.clientId });
  return { issuer, verifier };
}

async function failure(promise: Promise<unknown>): Promise<OidcError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OidcError);
  return error as OidcError;
}

const now = () => Math.floor(Date.now() / 1000);

describe('createIdTokenVerifier: valid tokens', () => {
  it.each(['RS256', 'ES256', 'PS256', 'EdDSA'])('verifies a %s token and returns its claims', async (alg) => {
    issuer = await startIssuer({ alg, algorithms: [alg] });
    const verifier = createIdTokenVerifier({ issuer: issuer.issuer, clientId: issuer.clientId });
    const token = await issuer.sign({ email: 'a@example.com' });
    const claims = await verifier.verify(token);
    expect(claims).toMatchObject({ iss: issuer.issuer, sub: 'user-1', aud: issuer.clientId, email: 'a@example.com' });
  });

  it('discovers once and fetches the JWKS once for many verifications', async () => {
    const { issuer, verifier } = await setup();
    const token = await issuer.sign();
    await Promise.all(Array.from({ length: 50 }, () => verifier.verify(token)));
    for (let i = 0; i < 50; i++) await verifier.verify(token);
    expect(issuer.requests).toEqual({ discovery: 1, jwks: 1 });
  });

  it('accepts several audiences when azp is the client', async () => {
    const { issuer, verifier } = await setup();
    const token = await issuer.sign({ aud: [issuer.clientId, 'other-api'], azp: issuer.clientId });
    await expect(verifier.verify(token)).resolves.toMatchObject({ azp: issuer.clientId });
  });

  it('accepts an azp named in authorizedParties (a cross-client token), and no other', async () => {
    issuer = await startIssuer();
    const verifier = createIdTokenVerifier({
      issuer: issuer.issuer,
      clientId: issuer.clientId,
      authorizedParties: ['android-app'],
    });
    const crossClient = await issuer.sign({ azp: 'android-app' });
    await expect(verifier.verify(crossClient)).resolves.toMatchObject({ aud: issuer.clientId, azp: 'android-app' });
    const several = await issuer.sign({ aud: [issuer.clientId, 'other-api'], azp: 'android-app' });
    await expect(verifier.verify(several)).resolves.toMatchObject({ azp: 'android-app' });
    const other = await issuer.sign({ azp: 'someone-else' });
    expect((await failure(verifier.verify(other))).code).toBe('ERR_OIDC_AZP');
    // the party must still be named: several audiences and no azp stay refused
    const unnamed = await issuer.sign({ aud: [issuer.clientId, 'android-app'] });
    expect((await failure(verifier.verify(unnamed))).code).toBe('ERR_OIDC_AZP');
  });

  it('allows clock skew within the tolerance', async () => {
    const { issuer, verifier } = await setup();
    const token = await issuer.sign({ exp: now() - 20, iat: now() + 20, nbf: now() + 20 });
    await expect(verifier.verify(token)).resolves.toBeDefined();
  });
});

describe('createIdTokenVerifier: every OIDC Core 3.1.3.7 rule', () => {
  it('refuses alg none, even though the provider advertises it', async () => {
    const { issuer, verifier } = await setup();
    const payload = base64url.encode(
      JSON.stringify({ iss: issuer.issuer, aud: issuer.clientId, sub: 'x', iat: now(), exp: now() + 60 }),
    );
    const token = `${base64url.encode('{"alg":"none"}')}.${payload}.`;
    expect((await failure(verifier.verify(token))).code).toBe('ERR_OIDC_ALG');
  });

  it('refuses HS256 signed with the RSA public key as the HMAC secret (key confusion)', async () => {
    const { issuer, verifier } = await setup();
    const publicKey = await importJWK(issuer.current.publicJwk, 'RS256');
    const publicBytes = new TextEncoder().encode(await exportSPKI(publicKey as CryptoKey));
    const token = await new SignJWT({ iss: issuer.issuer, aud: issuer.clientId, sub: 'x', iat: now(), exp: now() + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: issuer.current.kid })
      .sign(publicBytes);
    expect((await failure(verifier.verify(token))).code).toBe('ERR_OIDC_ALG');
  });

  it('refuses a tampered payload and a token signed by an unknown key', async () => {
    const { issuer, verifier } = await setup();
    const [header, , signature] = (await issuer.sign()).split('.');
    const forged = base64url.encode(
      JSON.stringify({ iss: issuer.issuer, aud: issuer.clientId, sub: 'admin', iat: now(), exp: now() + 60 }),
    );
    expect((await failure(verifier.verify(`${header}.${forged}.${signature}`))).code).toBe('ERR_OIDC_SIGNATURE');
    const stranger = await issuer.unpublishedKey();
    const wrongKey = await issuer.sign({}, { key: { ...stranger, kid: issuer.current.kid } });
    expect((await failure(verifier.verify(wrongKey))).code).toBe('ERR_OIDC_SIGNATURE');
  });

  it.each([
    ['ERR_OIDC_ISSUER', { iss: 'https://evil.example.com' }],
    ['ERR_OIDC_AUDIENCE', { aud: 'someone-else' }],
    ['ERR_OIDC_AUDIENCE', { aud: ['someone-else', 'another'] }],
    ['ERR_OIDC_AZP', { aud: ['patchbay-client', 'other-api'] }],
    ['ERR_OIDC_AZP', { aud: ['patchbay-client', 'other-api'], azp: 'other-api' }],
    ['ERR_OIDC_AZP', { azp: 'other-api' }],
    ['ERR_OIDC_EXPIRED', { exp: now() - 31 }],
    ['ERR_OIDC_NOT_YET_VALID', { nbf: now() + 120 }],
    ['ERR_OIDC_IAT', { iat: now() + 120 }],
    ['ERR_OIDC_NONCE', { nonce: 'unexpected' }],
    ['ERR_OIDC_MALFORMED', { sub: 42 }],
    ['ERR_OIDC_MALFORMED', { exp: 'tomorrow' }],
    ['ERR_OIDC_MALFORMED', { nbf: 'soon' }],
  ])('%s for %j', async (code, claims) => {
    const { issuer, verifier } = await setup();
    const token = await issuer.sign(claims as Record<string, unknown>);
    expect((await failure(verifier.verify(token))).code).toBe(code);
  });

  it('checks the nonce both ways', async () => {
    const { issuer, verifier } = await setup();
    const token = await issuer.sign({ nonce: 'n-123' });
    await expect(verifier.verify(token, { nonce: 'n-123' })).resolves.toMatchObject({ nonce: 'n-123' });
    expect((await failure(verifier.verify(token, { nonce: 'n-456' }))).code).toBe('ERR_OIDC_NONCE');
    const without = await issuer.sign();
    expect((await failure(verifier.verify(without, { nonce: 'n-123' }))).code).toBe('ERR_OIDC_NONCE');
  });

  it('checks auth_time against max age, per call or per verifier', async () => {
    const { issuer, verifier } = await setup();
    const recent = await issuer.sign({ auth_time: now() - 60 });
    const old = await issuer.sign({ auth_time: now() - 3_600 });
    const none = await issuer.sign();
    await expect(verifier.verify(recent, { maxAgeSeconds: 300 })).resolves.toBeDefined();
    expect((await failure(verifier.verify(old, { maxAgeSeconds: 300 }))).code).toBe('ERR_OIDC_AUTH_TIME');
    expect((await failure(verifier.verify(none, { maxAgeSeconds: 300 }))).code).toBe('ERR_OIDC_AUTH_TIME');
    const strict = createIdTokenVerifier({ issuer: issuer.issuer, clientId: issuer.clientId, maxAgeSeconds: 300 });
    expect((await failure(strict.verify(old))).code).toBe('ERR_OIDC_AUTH_TIME');
  });

  it.each(['RS256', 'ES384'])('checks at_hash and c_hash with the hash of %s', async (alg) => {
    issuer = await startIssuer({ alg, algorithms: [alg] });
    const verifier = createIdTokenVerifier({ issuer: issuer.issuer, clientId: issuer.clientId });
    const accessToken = 'access-token-value';
    const code = 'authorization-code-value';
    const token = await issuer.sign({ at_hash: await tokenHash(accessToken, alg), c_hash: await tokenHash(code, alg) });
    await expect(verifier.verify(token, { accessToken, code })).resolves.toBeDefined();
    expect((await failure(verifier.verify(token, { accessToken: 'other' }))).code).toBe('ERR_OIDC_AT_HASH');
    expect((await failure(verifier.verify(token, { code: 'other' }))).code).toBe('ERR_OIDC_C_HASH');
  });

  it('computes at_hash as OIDC Core specifies (left half of SHA-256, base64url)', async () => {
    // OIDC Core A.3's access token, whose at_hash is published
    expect(await tokenHash('jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y', 'RS256')).toBe('77QmUPtjPfzWtF2AnpK9RQ');
  });
});

describe('createIdTokenVerifier: keys', () => {
  it('refetches the JWKS once when a token has an unknown kid (rotation)', async () => {
    const { issuer, verifier } = await setup();
    await verifier.verify(await issuer.sign());
    await issuer.rotate();
    await verifier.verify(await issuer.sign());
    expect(issuer.requests.jwks).toBe(2);
  });

  it('1 000 concurrent verifications with a new kid cause one JWKS fetch', async () => {
    const { issuer, verifier } = await setup();
    await verifier.verify(await issuer.sign());
    await issuer.rotate('ES256');
    const token = await issuer.sign();
    const results = await Promise.all(Array.from({ length: 1_000 }, () => verifier.verify(token)));
    expect(results).toHaveLength(1_000);
    expect(issuer.requests.jwks).toBe(2);
  });

  it('does not refetch for unknown kids within the cooldown', async () => {
    const { issuer, verifier } = await setup();
    await verifier.verify(await issuer.sign());
    const stranger = await issuer.unpublishedKey();
    await issuer.rotate(); // published, but the first refetch is what finds it
    const unknown = await issuer.sign({}, { key: stranger });
    expect((await failure(verifier.verify(unknown))).code).toBe('ERR_OIDC_JWKS');
    expect(issuer.requests.jwks).toBe(2);
    for (let i = 0; i < 10; i++) expect((await failure(verifier.verify(unknown))).code).toBe('ERR_OIDC_JWKS');
    expect(issuer.requests.jwks).toBe(2);
    await expect(verifier.verify(await issuer.sign())).resolves.toBeDefined();
  });

  it('keeps verifying with cached keys while the JWKS endpoint is down', async () => {
    const { issuer, verifier } = await setup();
    const token = await issuer.sign();
    await verifier.verify(token);
    issuer.jwksMode = 'down';
    await expect(verifier.verify(token)).resolves.toBeDefined();
    const rotatedAway = await issuer.unpublishedKey();
    const error = await failure(verifier.verify(await issuer.sign({}, { key: rotatedAway })));
    expect(error.code).toBe('ERR_OIDC_JWKS');
    await expect(verifier.verify(token)).resolves.toBeDefined();
  });

  it('refreshes old keys in the background and keeps them when the refresh fails', async () => {
    issuer = await startIssuer();
    const verifier = createIdTokenVerifier({
      issuer: issuer.issuer,
      clientId: issuer.clientId,
      jwksMaxAgeMs: 50,
      jwksCooldownMs: 3_600_000,
    });
    const token = await issuer.sign();
    await verifier.verify(token);
    // spend the one kid-driven refetch the cooldown allows: from here on, only a background
    // refresh can bring new keys in
    const stranger = await issuer.unpublishedKey();
    expect((await failure(verifier.verify(await issuer.sign({}, { key: stranger })))).code).toBe('ERR_OIDC_JWKS');
    issuer.jwksMode = 'down';
    await sleep(80);
    await expect(verifier.verify(token)).resolves.toBeDefined(); // stale keys, a refresh fails behind it
    await sleep(80);
    await expect(verifier.verify(token)).resolves.toBeDefined();
    issuer.jwksMode = 'ok';
    await issuer.rotate();
    const rotated = await issuer.sign();
    const deadline = Date.now() + 10_000;
    for (;;) {
      await sleep(60);
      const outcome = await verifier.verify(rotated).then(
        () => 'verified',
        (error: OidcError) => error.code,
      );
      if (outcome === 'verified') break;
      expect(outcome).toBe('ERR_OIDC_JWKS');
      if (Date.now() > deadline) throw new Error('no background refresh picked up the rotated key');
    }
  });

  it('times out a hanging JWKS endpoint', async () => {
    issuer = await startIssuer();
    issuer.jwksMode = 'hang';
    const verifier = createIdTokenVerifier({ issuer: issuer.issuer, clientId: issuer.clientId, timeoutMs: 200 });
    const started = performance.now();
    const error = await failure(verifier.verify(await issuer.sign()));
    expect(error.code).toBe('ERR_OIDC_JWKS');
    expect(error.message).toContain('did not answer within 200 ms');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('lets the process exit after a timed-out JWKS fetch', async () => {
    issuer = await startIssuer();
    issuer.jwksMode = 'hang';
    const token = await issuer.sign();
    const result = await runIsolated(
      `
      import { createIdTokenVerifier } from './src/oidc/index';
      const verifier = createIdTokenVerifier({ issuer: process.env.ISSUER, clientId: 'patchbay-client', timeoutMs: 300 });
      const error = await verifier.verify(process.env.TOKEN).catch((e) => e);
      console.log(error.code);
      `,
      { env: { ISSUER: issuer.issuer, TOKEN: token } },
    );
    expect(result.stdout.trim()).toBe('ERR_OIDC_JWKS');
    expect(result.hung).toBe(false);
  });
});

describe('createIdTokenVerifier: a failing provider', () => {
  it.each([
    ['JWKS', 'jwks', 'ERR_OIDC_JWKS'],
    ['discovery', 'discovery', 'ERR_OIDC_DISCOVERY'],
  ] as const)(
    'does not ask a failing %s endpoint again for every token, and asks again once it is back',
    async (_, endpoint, code) => {
      issuer = await startIssuer();
      issuer[`${endpoint}Mode`] = 'down';
      const verifier = createIdTokenVerifier({ issuer: issuer.issuer, clientId: issuer.clientId, jwksCooldownMs: 300 });
      const token = await issuer.sign();
      for (let i = 0; i < 20; i++) expect((await failure(verifier.verify(token))).code).toBe(code);
      expect(issuer.requests[endpoint]).toBe(1);
      issuer[`${endpoint}Mode`] = 'ok';
      await sleep(350);
      await expect(verifier.verify(token)).resolves.toBeDefined();
      expect(issuer.requests[endpoint]).toBe(2);
    },
  );

  it("rejects verify with the clock's error, with no unhandled rejection, when the clock throws", async () => {
    const faults = recordFaults();
    try {
      issuer = await startIssuer();
      const broken = new Error('clock failed');
      const verifier = createIdTokenVerifier({
        issuer: issuer.issuer,
        clientId: issuer.clientId,
        clock: {
          now: () => {
            throw broken;
          },
        },
      });
      const token = await issuer.sign();
      await expect(verifier.verify(token)).rejects.toBe(broken);
      await expect(verifier.verify(token)).rejects.toBe(broken);
      await sleep(20);
      expect(faults.faults).toEqual([]);
    } finally {
      faults.stop();
    }
  });

  it('refuses a string that is no token before asking the provider anything', async () => {
    const { issuer, verifier } = await setup();
    for (const garbage of ['a.b.c', `${base64url.encode('[1]')}.e30.sig`]) {
      expect((await failure(verifier.verify(garbage))).code).toBe('ERR_OIDC_MALFORMED');
    }
    expect(issuer.requests).toEqual({ discovery: 0, jwks: 0 });
  });

  it('verifies a token without kid against a JWKS whose keys have none, trying each key', async () => {
    const { issuer, verifier } = await setup();
    const first = issuer.current;
    const second = await issuer.rotate();
    issuer.omitKids = true;
    for (const key of [first, second]) {
      const token = await issuer.sign({}, { key, header: { kid: undefined } });
      await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'user-1' });
    }
    const stranger = await issuer.unpublishedKey();
    const forged = await issuer.sign({}, { key: stranger, header: { kid: undefined } });
    expect((await failure(verifier.verify(forged))).code).toBe('ERR_OIDC_SIGNATURE');
  });
});

describe('createIdTokenVerifier: bad input', () => {
  it.each([
    ['empty', ''],
    ['not a string', 42],
    ['two segments', 'a.b'],
    ['four segments', 'a.b.c.d'],
    ['bad base64', '!!!.@@@.###'],
    ['header not JSON', `${base64url.encode('nope')}.e30.sig`],
    ['huge', `${'a'.repeat(20_000)}.b.c`],
  ])('%s → ERR_OIDC_MALFORMED', async (_, token) => {
    const { verifier } = await setup();
    expect((await failure(verifier.verify(token as string))).code).toBe('ERR_OIDC_MALFORMED');
  });

  it.each([
    ['maxAgeSeconds as a string', { maxAgeSeconds: '60' }],
    ['maxAgeSeconds NaN', { maxAgeSeconds: Number.NaN }],
    ['maxAgeSeconds negative', { maxAgeSeconds: -1 }],
    ['nonce not a string', { nonce: 42 }],
    ['accessToken not a string', { accessToken: {} }],
    ['code not a string', { code: 7 }],
    ['checks null', null],
  ])('per-call %s → ERR_OIDC_INPUT, even for a token that would fail that check', async (_, checks) => {
    const { issuer, verifier } = await setup();
    const old = await issuer.sign({ auth_time: now() - 86_400 });
    expect((await failure(verifier.verify(old, checks as never))).code).toBe('ERR_OIDC_INPUT');
  });

  it('refuses critical header extensions, b64: false (an unencoded payload) among them', async () => {
    const { issuer, verifier } = await setup();
    const { CompactSign, FlattenedSign } = await import('jose');
    const claims = new TextEncoder().encode(
      JSON.stringify({ iss: issuer.issuer, aud: issuer.clientId, sub: 'user-1', iat: now(), exp: now() + 300 }),
    );
    // jose builds an unencoded payload only in the flattened form; without dots it also reads as compact
    const flat = await new FlattenedSign(new TextEncoder().encode('{"sub":"user-1"}'))
      .setProtectedHeader({ alg: 'RS256', kid: issuer.current.kid, b64: false, crit: ['b64'] })
      .sign(issuer.current.privateKey);
    const unencoded = `${flat.protected}.${flat.payload}.${flat.signature}`;
    const extended = await new CompactSign(claims)
      .setProtectedHeader({ alg: 'RS256', kid: issuer.current.kid, crit: ['exp-tenant'], 'exp-tenant': 'a' })
      .sign(issuer.current.privateKey, { crit: { 'exp-tenant': true } });
    for (const token of [unencoded, extended]) {
      expect((await failure(verifier.verify(token))).code).toBe('ERR_OIDC_MALFORMED');
    }
  });

  it('a payload that is JSON but not an object', async () => {
    const { issuer, verifier } = await setup();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: issuer.current.kid })
      .sign(issuer.current.privateKey);
    // re-sign an array payload with the same key through the compact API
    const { CompactSign } = await import('jose');
    const arrayToken = await new CompactSign(new TextEncoder().encode('[1,2,3]'))
      .setProtectedHeader({ alg: 'RS256', kid: issuer.current.kid })
      .sign(issuer.current.privateKey);
    expect((await failure(verifier.verify(token))).code).toBe('ERR_OIDC_MALFORMED');
    expect((await failure(verifier.verify(arrayToken))).code).toBe('ERR_OIDC_MALFORMED');
  });

  it.each([
    [{ issuer: 'http://accounts.example.com', clientId: 'c' }],
    [{ issuer: 'not a url', clientId: 'c' }],
    [{ issuer: 'https://a.example.com', clientId: '' }],
    [{ issuer: 'https://a.example.com', clientId: 'c', algorithms: ['HS256'] }],
    [{ issuer: 'https://a.example.com', clientId: 'c', algorithms: ['none'] }],
    [{ issuer: 'https://a.example.com', clientId: 'c', algorithms: [] }],
    [{ issuer: 'https://a.example.com', clientId: 'c', clockToleranceSeconds: -1 }],
    [{ issuer: 'https://a.example.com', clientId: 'c', fetch: 'x' }],
    [{ issuer: 'https://a.example.com', clientId: 'c', clock: 42 }],
    [{ issuer: 'https://a.example.com', clientId: 'c', clock: {} }],
    [{ issuer: 'https://a.example.com', clientId: 'c', jwksUri: 'not a url' }],
    [{ issuer: 'https://a.example.com', clientId: 'c', jwksUri: '/jwks' }],
    [{ issuer: 'https://a.example.com', clientId: 'c', jwksUri: 'ftp://a.example.com/jwks' }],
    [{ issuer: 'https://a.example.com', clientId: 'c', authorizedParties: 'android-app' }],
    [{ issuer: 'https://a.example.com', clientId: 'c', authorizedParties: [''] }],
    [{ issuer: 'https://a.example.com', clientId: 'c', authorizedParties: [42] }],
  ])('options %j → ERR_OIDC_OPTIONS', (options) => {
    expect(() => createIdTokenVerifier(options as never)).toThrow(
      expect.objectContaining({ code: 'ERR_OIDC_OPTIONS' }),
    );
  });
});
