// patchbay/oidc ID-token verification beside bare jose.jwtVerify with the key already imported
// (the floor: one signature check and claim parsing, nothing else), same tokens, same run.
// openid-client is not in the table: it validates ID tokens only inside its grant functions,
// with a network round trip to the token endpoint, so there is no call to time on its own.
// Run: npm run bench -- oidc
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { createIdTokenVerifier } from 'patchbay/oidc';

const ROUNDS = 5;
const SLICE_MS = 600;
const clientId = 'bench-client';

async function throughput(verify: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const deadline = performance.now() + SLICE_MS;
  while (performance.now() < deadline) {
    for (let i = 0; i < 16; i++) {
      await verify();
      count++;
    }
  }
  return count / (SLICE_MS / 1000);
}

async function compare(subjects: Record<string, () => Promise<unknown>>): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {};
  for (const verify of Object.values(subjects)) await throughput(verify);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, verify] of Object.entries(subjects)) {
      samples[name] ??= [];
      samples[name].push(await throughput(verify));
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, s.sort((a, b) => a - b)[ROUNDS >> 1]!]));
}

const rows: string[] = [];
for (const alg of ['RS256', 'ES256']) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg, use: 'sig' };
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/jwks') res.end(JSON.stringify({ keys: [jwk] }));
    else
      res.end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          jwks_uri: `${issuer}/jwks`,
          id_token_signing_alg_values_supported: [alg],
        }),
      );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ iss: issuer, aud: clientId, sub: 'user-1', iat: now, exp: now + 3_600, nonce: 'n' })
    .setProtectedHeader({ alg, kid: 'k1' })
    .sign(privateKey);

  const verifier = createIdTokenVerifier({ issuer, clientId });
  await verifier.verify(token, { nonce: 'n' }); // warm: discovery and JWKS fetched
  const result = await compare({
    jose: () => jwtVerify(token, publicKey, { issuer, audience: clientId, algorithms: [alg] }),
    patchbay: () => verifier.verify(token, { nonce: 'n' }),
  });
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  rows.push(
    `| ${alg} | ${fmt(result.jose!)} | ${fmt(result.patchbay!)} | ${(result.patchbay! / result.jose!).toFixed(2)}× |`,
  );
  server.close();
}

console.log(`### oidc — ${new Date().toISOString().slice(0, 10)}

${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; Node ${process.version}. ID-token verifications per second, warm JWKS,
one at a time (median of ${ROUNDS} alternating ${SLICE_MS} ms slices). patchbay runs every OIDC Core 3.1.3.7 check; bare jose
checks the signature, iss, aud and exp with the key already imported.

| alg | bare jose.jwtVerify | patchbay verify | ratio |
| --- | ---: | ---: | ---: |
${rows.join('\n')}
`);
