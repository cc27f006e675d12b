import { describe, expect, it } from 'vitest';
import { codeChallenge, createPkce, randomNonce, randomState } from '../../src/oidc/pkce';

describe('PKCE (RFC 7636, S256)', () => {
  it('matches the RFC 7636 Appendix B vector', async () => {
    expect(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('creates a 43-character verifier from the unreserved set, with its challenge', async () => {
    const pkce = await createPkce();
    expect(pkce.method).toBe('S256');
    expect(pkce.verifier).toMatch(/^[A-Za-z0-9\-._~]{43}$/);
    expect(pkce.challenge).toBe(await codeChallenge(pkce.verifier));
    expect((await createPkce()).verifier).not.toBe(pkce.verifier);
  });

  it.each(['short', 'a'.repeat(129), `${'a'.repeat(42)}+`, `${'a'.repeat(42)} `, 42])(
    'refuses verifier %j',
    async (verifier) => {
      await expect(codeChallenge(verifier as string)).rejects.toMatchObject({ code: 'ERR_OIDC_INPUT' });
    },
  );
});

describe('randomState and randomNonce', () => {
  it('are 256-bit base64url strings, different every time', () => {
    const values = new Set(Array.from({ length: 1_000 }, (_, i) => (i % 2 ? randomState() : randomNonce())));
    expect(values.size).toBe(1_000);
    for (const value of values) expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
