import { Metadata, status } from '@grpc/grpc-js';
import { generateKeyPair, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { authInterceptor, bearerToken, identityOf, serverAuthInterceptor } from '../../src/grpc/index';
import { foreignPromise } from './support/foreign-promise';
import { cleanups, type LabHandlers, labClient, startLab } from './support/lab';

const after = cleanups();
afterEach(() => after.run());

const issuer = 'https://idp.test';
const audience = 'lab';
let keys: Awaited<ReturnType<typeof generateKeyPair>>;
let otherKeys: Awaited<ReturnType<typeof generateKeyPair>>;
beforeAll(async () => {
  keys = await generateKeyPair('ES256');
  otherKeys = await generateKeyPair('ES256');
});

/** An OIDC-style ID token: ES256, iss, aud, sub, exp. */
function idToken(claims: JWTPayload, { key = keys.privateKey, expiresIn = '5m' } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);
}

interface Claims extends JWTPayload {
  sub: string;
  roles?: string[];
}

/** What a service would write: verify the bearer JWT, and only admins may use the Bidi method. */
async function verify(metadata: Metadata, method: string): Promise<Claims | undefined> {
  const token = bearerToken(metadata);
  if (token === undefined) return undefined;
  const { payload } = await jwtVerify<Claims>(token, keys.publicKey, { issuer, audience, algorithms: ['ES256'] });
  if (method.endsWith('/Bidi') && !payload.roles?.includes('admin')) {
    throw Object.assign(new Error('admins only'), { code: status.PERMISSION_DENIED });
  }
  return payload;
}

/** Each handler answers with the `sub` of the identity it can see. */
const whoAmI: Partial<LabHandlers> = {
  Unary: (call, callback) => callback(null, { text: identityOf<Claims>(call)?.sub ?? 'nobody', index: 0 }),
  ClientStream: (call, callback) => {
    call.on('data', () => {});
    call.on('end', () => callback(null, { text: identityOf<Claims>(call)?.sub ?? 'nobody', index: 0 }));
  },
  ServerStream: (call) => {
    call.write({ text: identityOf<Claims>(call.metadata)?.sub ?? 'nobody', index: 0 });
    call.end();
  },
  Bidi: (call) => {
    call.on('data', () => call.write({ text: identityOf<Claims>(call)?.sub ?? 'nobody', index: 0 }));
    call.on('end', () => call.end());
  },
};

async function authLab(skip?: (method: string) => boolean) {
  let handled = 0;
  const counted = Object.fromEntries(
    Object.entries(whoAmI).map(([name, handler]) => [
      name,
      (...args: unknown[]) => {
        handled++;
        return (handler as (...a: unknown[]) => unknown)(...args);
      },
    ]),
  );
  const server = after.add(
    await startLab({
      interceptors: [serverAuthInterceptor({ verify, ...(skip ? { skip } : {}) })],
      handlers: counted as Partial<LabHandlers>,
    }),
    (s) => s.stop(),
  );
  return { server, handled: () => handled };
}

const withToken = (token: string): Metadata => {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
};

describe('serverAuthInterceptor', () => {
  it('admits a valid token on every call type and hands the identity to the handler', async () => {
    const { server } = await authLab();
    const token = await idToken({ sub: 'alice', roles: ['admin'] });
    const lab = after.add(labClient(server.address, [authInterceptor({ token: () => token })]), (c) => c.close());
    await expect(lab.unary({})).resolves.toEqual({ text: 'alice', index: 0 });
    await expect(lab.clientStream([{}, {}])).resolves.toEqual({ text: 'alice', index: 0 });
    await expect(lab.serverStream({})).resolves.toMatchObject({ messages: [{ text: 'alice' }], error: undefined });
    await expect(lab.bidi([{}])).resolves.toMatchObject({ messages: [{ text: 'alice' }], error: undefined });
  });

  it('answers UNAUTHENTICATED to a missing, forged or expired token, and never runs the handler', async () => {
    const { server, handled } = await authLab();
    const lab = after.add(labClient(server.address), (c) => c.close());
    const forged = await idToken({ sub: 'mallory' }, { key: otherKeys.privateKey });
    const expired = await idToken({ sub: 'alice' }, { expiresIn: '-1m' });
    await expect(lab.unary({})).rejects.toMatchObject({ code: status.UNAUTHENTICATED, details: 'Unauthenticated' });
    await expect(lab.unary({}, {}, withToken(forged))).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    await expect(lab.unary({}, {}, withToken(expired))).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    await expect(lab.unary({}, {}, withToken('not-a-jwt'))).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    await expect(lab.clientStream([{}], {}, withToken(forged))).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    await expect(lab.serverStream({})).resolves.toMatchObject({
      messages: [],
      error: { code: status.UNAUTHENTICATED },
    });
    await expect(lab.bidi([{}], {}, withToken(expired))).resolves.toMatchObject({
      messages: [],
      error: { code: status.UNAUTHENTICATED },
    });
    expect(handled()).toBe(0);
  });

  it('answers PERMISSION_DENIED, with its reason, when verify throws with that code', async () => {
    const { server, handled } = await authLab();
    const lab = after.add(labClient(server.address), (c) => c.close());
    const token = await idToken({ sub: 'bob', roles: ['reader'] });
    await expect(lab.bidi([{}], {}, withToken(token))).resolves.toMatchObject({
      messages: [],
      error: { code: status.PERMISSION_DENIED, details: 'admins only' },
    });
    await expect(lab.unary({}, {}, withToken(token))).resolves.toEqual({ text: 'bob', index: 0 });
    expect(handled()).toBe(1);
  });

  it('waits for a verify whose promise is not a native one, and refuses what it refuses', async () => {
    const server = after.add(
      await startLab({
        interceptors: [
          serverAuthInterceptor({ verify: (metadata, method) => foreignPromise(verify(metadata, method)) }),
        ],
        handlers: whoAmI,
      }),
      (s) => s.stop(),
    );
    const lab = after.add(labClient(server.address), (c) => c.close());
    await expect(lab.unary({})).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    const token = await idToken({ sub: 'carol' });
    await expect(lab.unary({}, {}, withToken(token))).resolves.toEqual({ text: 'carol', index: 0 });
  });

  it('lets skipped methods through without credentials', async () => {
    const { server } = await authLab((method) => method.endsWith('/Unary'));
    const lab = after.add(labClient(server.address), (c) => c.close());
    await expect(lab.unary({})).resolves.toEqual({ text: 'nobody', index: 0 });
    await expect(lab.clientStream([{}])).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
  });

  it('reads bearer tokens strictly', () => {
    const metadata = (value?: string) => {
      const m = new Metadata();
      if (value !== undefined) m.set('authorization', value);
      return m;
    };
    expect(bearerToken(metadata('Bearer abc.def'))).toBe('abc.def');
    expect(bearerToken(metadata('bearer abc'))).toBe('abc');
    expect(bearerToken(metadata('Basic dXNlcjpwYXNz'))).toBeUndefined();
    expect(bearerToken(metadata('Bearer '))).toBeUndefined();
    expect(bearerToken(metadata())).toBeUndefined();
    expect(identityOf(metadata('Bearer x'))).toBeUndefined();
    // What the one regular expression of the definition gives, for odd spacing and casing too.
    const reference = (value: string) => /^Bearer +([^ ]+) *$/i.exec(value)?.[1];
    for (const value of [
      'Bearer a',
      'BEARER   a.b-c_d~e+f/g=  ',
      'Bearer a b',
      'Bearer  ',
      'Bearer',
      'Bearerx',
      ' Bearer a',
      'bEaReR x ',
      'Bearer a  b ',
    ]) {
      expect(bearerToken(metadata(value)), value).toBe(reference(value));
    }
  });

  it('rejects bad options with ERR_GRPC_OPTIONS', () => {
    for (const bad of [undefined, {}, { verify: 'yes' }, { verify() {}, skip: [] }]) {
      expect(() => serverAuthInterceptor(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }));
    }
  });
});
