import { describe } from '../core/assert';
import { PatchbayError } from '../core/errors';

/**
 * Resolves `url` as the browser's own constructors do: a relative URL against the page, so in
 * Node (no page) only an absolute one works. Throws `ERR_REALTIME_INPUT` at the call when it
 * does not resolve or has another protocol, rather than failing every reconnection attempt.
 */
export function resolveUrl(url: unknown, name: string, protocols: readonly string[]): URL {
  let resolved: URL | undefined;
  try {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    resolved = typeof url === 'string' || url instanceof URL ? new URL(url, base) : undefined;
  } catch {
    resolved = undefined;
  }
  if (resolved === undefined || !protocols.includes(resolved.protocol)) {
    throw new PatchbayError(
      'ERR_REALTIME_INPUT',
      `${name} must be a ${protocols.join(' or ')} URL (relative only in a browser), got ${describe(typeof url === 'string' ? url : String(url))}`,
    );
  }
  return resolved;
}
