import { base64url } from 'jose';
import { OidcError } from './errors';

const HASHES: Record<string, string> = { '256': 'SHA-256', '384': 'SHA-384', '512': 'SHA-512' };

/**
 * The `at_hash` / `c_hash` of `value` for a token signed with `alg` (OIDC Core §3.1.3.6 and
 * §3.3.2.11): base64url of the left half of the hash of its ASCII bytes, with the hash of the
 * signature algorithm (SHA-512 for EdDSA on Ed25519).
 */
export async function tokenHash(value: string, alg: string): Promise<string> {
  const bits = /(256|384|512)$/.exec(alg)?.[1] ?? (alg === 'EdDSA' || alg === 'Ed25519' ? '512' : undefined);
  const hash = bits && HASHES[bits];
  if (!hash) throw new OidcError('ERR_OIDC_ALG', `no token hash is defined for alg ${alg}`);
  const digest = new Uint8Array(await crypto.subtle.digest(hash, new TextEncoder().encode(value)));
  return base64url.encode(digest.subarray(0, digest.length / 2));
}
