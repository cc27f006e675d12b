import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { discover } from '../../src/oidc/discovery';
import { manualClock } from '../support/clock';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** A discovery endpoint whose answer the test controls; counts requests. */
async function serve(answer: (issuer: string, req: IncomingMessage, res: ServerResponse) => void) {
  const counter = { requests: 0 };
  server = createServer((req, res) => {
    counter.requests++;
    answer(issuer, req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, counter };
}

const document = (issuer: string) => ({
  issuer,
  authorization_endpoint: `${issuer}/auth`,
  token_endpoint: `${issuer}/token`,
  jwks_uri: `${issuer}/jwks`,
  id_token_signing_alg_values_supported: ['RS256'],
});

const json = (res: ServerResponse, body: unknown, status = 200) => {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
};

describe('discover', () => {
  it('fetches /.well-known/openid-configuration and returns the metadata', async () => {
    let path = '';
    const { issuer } = await serve((iss, req, res) => {
      path = req.url ?? '';
      json(res, document(iss));
    });
    const metadata = await discover(issuer);
    expect(path).toBe('/.well-known/openid-configuration');
    expect(metadata).toMatchObject({ issuer, jwks_uri: `${issuer}/jwks` });
  });

  it('stops reading a body that streams past 1 MB without a content-length', async () => {
    let sent = 0;
    let closedEarly = false;
    const { issuer } = await serve((_iss, _req, res) => {
      res.setHeader('content-type', 'application/json');
      res.write('{"issuer":"');
      const chunk = 'x'.repeat(64 * 1024);
      // Chunked and endless: only the client can end it.
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => {
        closedEarly = !res.writableFinished;
      });
      pump();
    });
    const started = performance.now();
    await expect(discover(issuer, { timeoutMs: 30_000 })).rejects.toMatchObject({
      code: 'ERR_OIDC_DISCOVERY',
      message: expect.stringContaining('more than 1048576 bytes'),
    });
    expect(performance.now() - started).toBeLessThan(5_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closedEarly).toBe(true);
    expect(sent).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a body whose content-length is past 1 MB without reading it', async () => {
    const { issuer } = await serve((_iss, _req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) });
      res.write('{"issuer":"');
    });
    await expect(discover(issuer)).rejects.toMatchObject({
      code: 'ERR_OIDC_DISCOVERY',
      message: expect.stringContaining('announced 2097152 bytes'),
    });
  });

  it('requires the document to name exactly the requested issuer', async () => {
    const { issuer } = await serve((iss, _req, res) => json(res, document(`${iss}/`)));
    await expect(discover(issuer)).rejects.toMatchObject({ code: 'ERR_OIDC_DISCOVERY' });
    const { issuer: other } = await serve((_iss, _req, res) => json(res, document('https://accounts.example.com')));
    await expect(discover(other)).rejects.toMatchObject({
      code: 'ERR_OIDC_DISCOVERY',
      message: expect.stringContaining('accounts.example.com'),
    });
  });

  it('caches for cacheTtlMs and shares one request between concurrent callers', async () => {
    const { issuer, counter } = await serve((iss, _req, res) => setTimeout(() => json(res, document(iss)), 30));
    const clock = manualClock();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => discover(issuer, { clock, cacheTtlMs: 60_000 })),
    );
    expect(new Set(results).size).toBe(1);
    expect(counter.requests).toBe(1);
    clock.advance(59_000);
    await discover(issuer, { clock, cacheTtlMs: 60_000 });
    expect(counter.requests).toBe(1);
    clock.advance(2_000);
    await discover(issuer, { clock, cacheTtlMs: 60_000 });
    expect(counter.requests).toBe(2);
  });

  it('does not cache a failure', async () => {
    let fail = true;
    const { issuer, counter } = await serve((iss, _req, res) =>
      fail ? json(res, { error: 'boom' }, 500) : json(res, document(iss)),
    );
    await expect(discover(issuer)).rejects.toMatchObject({ code: 'ERR_OIDC_DISCOVERY' });
    fail = false;
    await expect(discover(issuer)).resolves.toMatchObject({ issuer });
    expect(counter.requests).toBe(2);
  });

  it('rejects, rather than throws, when the clock throws', async () => {
    const { issuer, counter } = await serve((iss, _req, res) => json(res, document(iss)));
    const broken = new Error('clock failed');
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = discover(issuer, {
        clock: {
          now: () => {
            throw broken;
          },
        },
      });
    }).not.toThrow();
    await expect(result).rejects.toBe(broken);
    expect(counter.requests).toBe(0);
  });

  it('times out a provider that does not answer', async () => {
    const { issuer } = await serve(() => {});
    const started = performance.now();
    await expect(discover(issuer, { timeoutMs: 150 })).rejects.toMatchObject({
      code: 'ERR_OIDC_DISCOVERY',
      message: expect.stringContaining('150 ms'),
    });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it.each([
    ['not JSON', (res: ServerResponse) => res.end('<html>')],
    ['a JSON array', (res: ServerResponse) => json(res, [1, 2])],
    ['no jwks_uri', (res: ServerResponse, iss: string) => json(res, { ...document(iss), jwks_uri: undefined })],
    [
      'bad algorithm list',
      (res: ServerResponse, iss: string) =>
        json(res, { ...document(iss), id_token_signing_alg_values_supported: 'RS256' }),
    ],
  ])('rejects a document that is %s', async (_, answer) => {
    const { issuer } = await serve((iss, _req, res) => answer(res, iss));
    await expect(discover(issuer)).rejects.toMatchObject({ code: 'ERR_OIDC_DISCOVERY' });
  });

  it.each(['http://accounts.example.com', 'ftp://127.0.0.1', 'https://a.example.com/?x=1', 'not a url', ''])(
    'rejects issuer %j with ERR_OIDC_OPTIONS',
    async (issuer) => {
      await expect(discover(issuer)).rejects.toMatchObject({ code: 'ERR_OIDC_OPTIONS' });
    },
  );

  it.each([
    ['null options', null],
    ['a fetch that is not a function', { fetch: 'x' }],
    ['a clock without now()', { clock: {} }],
    ['a number as the clock', { clock: 42 }],
  ])('rejects %s with ERR_OIDC_OPTIONS', async (_, options) => {
    const result = discover('https://a.example.com', options as never);
    await expect(result).rejects.toMatchObject({ code: 'ERR_OIDC_OPTIONS' });
  });
});
