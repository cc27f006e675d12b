import { TimeoutError } from '../core/errors';
import { withTimeout } from '../core/timeout';
import { OidcError, type OidcErrorCode } from './errors';

/**
 * The `fetch` the module uses; pass your own for proxies, mTLS agents or tests.
 *
 * @example
 * ```ts
 * const viaProxy: Fetch = (url, init) => fetch(url, { ...init, dispatcher: proxyAgent });
 * ```
 */
export type Fetch = typeof globalThis.fetch;

/** Largest JSON document accepted from a provider (discovery, JWKS, token response). */
const MAX_BYTES = 1024 * 1024;

/**
 * Fetches `url` and parses a JSON object, all within `timeoutMs`. Any failure (network, status,
 * size, content) becomes an {@link OidcError} with `code`.
 */
export async function fetchJson(
  fetchImpl: Fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  code: OidcErrorCode,
): Promise<{ status: number; body: Record<string, unknown> }> {
  let text: string;
  let status: number;
  try {
    ({ status, text } = await withTimeout(
      async (signal) => {
        const response = await fetchImpl(url, { ...init, signal, redirect: 'error' });
        const length = Number(response.headers.get('content-length') ?? 0);
        if (length > MAX_BYTES) {
          await response.body?.cancel();
          throw new OidcError(code, `${url} announced ${length} bytes, more than ${MAX_BYTES}`);
        }
        return { status: response.status, text: await readText(response, url, code) };
      },
      timeoutMs,
      { message: `${url} did not answer within ${timeoutMs} ms` },
    ));
  } catch (error) {
    if (error instanceof OidcError) throw error;
    const why = error instanceof TimeoutError ? error.message : `request to ${url} failed`;
    throw new OidcError(code, why, { cause: error });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new OidcError(code, `${url} answered ${status} with a body that is not JSON`, { cause: error });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new OidcError(code, `${url} answered ${status} with JSON that is not an object`);
  }
  return { status, body: body as Record<string, unknown> };
}

/**
 * The body as text, read only up to {@link MAX_BYTES}: a body without a `content-length` (chunked)
 * is counted as it arrives and cancelled past the limit, rather than buffered whole first.
 */
async function readText(response: Response, url: string, code: OidcErrorCode): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    bytes += value.byteLength;
    if (bytes > MAX_BYTES) {
      await reader.cancel();
      throw new OidcError(code, `${url} sent more than ${MAX_BYTES} bytes`);
    }
    text += decoder.decode(value, { stream: true });
  }
}
