import {
  Agent,
  globalAgent as httpAgent,
  request as httpRequest,
  type OutgoingHttpHeaders,
  validateHeaderName,
  validateHeaderValue,
} from 'node:http';
import { globalAgent as httpsAgent, request as httpsRequest } from 'node:https';
import { assertNumber, assertOptionsObject, describe } from '../../core/assert';
import { PatchbayError } from '../../core/errors';
import { textOf } from '../text';
import { never, type Warmer } from './warmer';

const code = 'ERR_PREWARM_OPTIONS';

/**
 * Options of {@link warmHttp}.
 *
 * @example
 * ```ts
 * const agent = new Agent({ keepAlive: true, maxSockets: 64 });
 * const options: WarmHttpOptions = { agent, connections: 16, headers: { 'user-agent': 'prewarm' } };
 * ```
 */
export interface WarmHttpOptions {
  /**
   * The keep-alive agent your service's requests go through; warming another agent's pool would
   * not help them. Default `http.globalAgent` / `https.globalAgent` (keep-alive since Node 19).
   */
  agent?: Agent;
  /** Connections to open per origin. Default 1. */
  connections?: number;
  /** Request method. Default `GET`; use `HEAD` or `OPTIONS` when the warm-up URL has a costly body. */
  method?: string;
  headers?: OutgoingHttpHeaders;
  /** Which response statuses count as warm. Default: anything below 500. */
  acceptStatus?: (status: number) => boolean;
}

/**
 * What {@link warmHttp} did for each origin: `opened` counts requests that needed a new
 * connection, `reused` those that found one already warm in the agent's pool.
 *
 * @example
 * ```ts
 * const { origins }: HttpWarmResult = await warmHttp(['http://127.0.0.1:8080/healthz'], { agent })();
 * ```
 */
export interface HttpWarmResult {
  origins: { origin: string; opened: number; reused: number; statuses: number[]; durationMs: number }[];
}

/**
 * Opens `connections` keep-alive connections to each URL's origin on `agent`, by sending that
 * many real requests at once (so each needs its own socket) and reading the responses to the
 * end, which returns every socket to the agent's free pool. Connections already warm are reused,
 * so running it again tops the pool up rather than growing it. Rejects with `ERR_PREWARM_HTTP`
 * when a request fails or a status is not accepted; the requests still in flight then, to any of
 * the origins, are aborted, so a hung upstream is not left holding the agent's sockets. Throws
 * `ERR_PREWARM_OPTIONS` at once for bad URLs, a method or header node:http would refuse (a header
 * set to `undefined`, a value with a line break), an agent without `keepAlive`, or an agent whose
 * `maxSockets` / `maxFreeSockets` cannot hold `connections` sockets.
 *
 * Servers close idle connections (Node's default `keepAliveTimeout` is 5 s): keep the pool warm
 * with {@link Prewarmer.keepWarm} at an interval below the upstream's idle timeout.
 *
 * @example
 * ```ts
 * import { Agent } from 'node:https';
 *
 * const agent = new Agent({ keepAlive: true });
 * prewarmer.add({ name: 'payments', run: warmHttp(['https://payments.internal/healthz'], { agent, connections: 8 }) });
 * ```
 */
export function warmHttp(urls: readonly (string | URL)[], options: WarmHttpOptions = {}): Warmer<HttpWarmResult> {
  assertOptionsObject(options, 'warmHttp options', code);
  const { connections = 1, method = 'GET', headers, acceptStatus = (status: number) => status < 500 } = options;
  const targets = parseUrls(urls);
  assertNumber(connections, 'warmHttp connections', code, { min: 1, integer: true });
  if (typeof acceptStatus !== 'function') throw new PatchbayError(code, 'warmHttp acceptStatus must be a function');
  checkRequest(method, headers);
  const protocols = new Set(targets.map((url) => url.protocol));
  if (options.agent !== undefined) checkAgent(options.agent, protocols, connections);

  return async (signal = never) => {
    // The first failure settles the warm-up. Its other requests, to this origin or another, are
    // cancelled then: nothing else would ever end them, and a hung upstream would keep them, and
    // the agent's sockets they hold, open for good (more on every retry and keep-warm round).
    const requests = new AbortController();
    const forward = (): void => requests.abort(signal.reason);
    if (signal.aborted) forward();
    else signal.addEventListener('abort', forward, { once: true });
    try {
      return await warm(requests.signal);
    } catch (error) {
      requests.abort(error);
      throw error;
    } finally {
      signal.removeEventListener('abort', forward);
    }
  };

  async function warm(signal: AbortSignal): Promise<HttpWarmResult> {
    const origins = await Promise.all(
      targets.map(async (url) => {
        const started = performance.now();
        const agent = options.agent ?? (url.protocol === 'https:' ? httpsAgent : httpAgent);
        const responses = await Promise.all(
          Array.from({ length: connections }, () => send(url, { agent, method, headers, signal })),
        );
        const rejected = responses.filter((response) => !acceptStatus(response.status));
        if (rejected.length > 0) {
          throw new PatchbayError(
            'ERR_PREWARM_HTTP',
            `${url.origin} answered ${rejected[0]?.status} to a warm-up request`,
          );
        }
        const reused = responses.filter((response) => response.reused).length;
        return {
          origin: url.origin,
          opened: connections - reused,
          reused,
          statuses: responses.map((response) => response.status),
          durationMs: performance.now() - started,
        };
      }),
    );
    return { origins };
  }
}

/** One URL per origin: connections are per origin, so a second URL for it would only add requests. */
function parseUrls(urls: readonly (string | URL)[]): URL[] {
  if (!Array.isArray(urls) || urls.length === 0) {
    throw new PatchbayError(code, `warmHttp urls must be a non-empty array of http(s) URLs, got ${describe(urls)}`);
  }
  const byOrigin = new Map<string, URL>();
  for (const raw of urls) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch (error) {
      throw new PatchbayError(code, `warmHttp: ${describe(textOf(raw))} is not a URL`, { cause: error });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new PatchbayError(code, `warmHttp: ${url.href} is not an http(s) URL`);
    }
    if (!byOrigin.has(url.origin)) byOrigin.set(url.origin, url);
  }
  return [...byOrigin.values()];
}

function checkAgent(agent: Agent, protocols: ReadonlySet<string>, connections: number): void {
  if (!(agent instanceof Agent))
    throw new PatchbayError(code, 'warmHttp agent must be a node:http or node:https Agent');
  // Node sets these on every Agent; @types/node does not declare them.
  const { keepAlive, protocol } = agent as Agent & { keepAlive?: boolean; protocol?: string };
  if (keepAlive !== true) {
    throw new PatchbayError(
      code,
      'warmHttp agent must be created with keepAlive: true, or warm connections are closed at once',
    );
  }
  if (protocol !== undefined && [...protocols].some((p) => p !== protocol)) {
    throw new PatchbayError(
      code,
      `warmHttp agent speaks ${protocol}, but the URLs use ${[...protocols].join(' and ')}`,
    );
  }
  if (agent.maxSockets < connections || agent.maxFreeSockets < connections) {
    throw new PatchbayError(
      code,
      `warmHttp connections (${connections}) exceeds the agent's maxSockets (${agent.maxSockets}) or maxFreeSockets (${agent.maxFreeSockets})`,
    );
  }
}

// RFC 9110 token characters, what node:http accepts as a method
const methodToken = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Checks what node:http would refuse only when the request is made: found then, the error would
 * fail every attempt and keep-warm round of the task, as a raw TypeError, not at the call.
 */
function checkRequest(method: unknown, headers: unknown): void {
  if (typeof method !== 'string' || !methodToken.test(method)) {
    throw new PatchbayError(code, `warmHttp method must be an HTTP method name, got ${describe(method)}`);
  }
  if (headers === undefined) return;
  assertOptionsObject(headers, 'warmHttp headers', code);
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (error) {
      throw new PatchbayError(code, `warmHttp headers: ${textOf(error)}`, { cause: error });
    }
  }
}

interface SendOptions {
  agent: Agent;
  method: string;
  headers: OutgoingHttpHeaders | undefined;
  signal: AbortSignal;
}

function send(url: URL, { agent, method, headers, signal }: SendOptions): Promise<{ status: number; reused: boolean }> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const fail = (error: unknown): void =>
      reject(
        new PatchbayError('ERR_PREWARM_HTTP', `warm-up request to ${url.origin} failed: ${textOf(error)}`, {
          cause: error,
        }),
      );
    const req = request(url, { agent, method, signal, ...(headers === undefined ? {} : { headers }) }, (res) => {
      res.on('error', fail);
      // Reading to the end is what hands the socket back to the agent's free pool.
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
      res.resume();
    });
    req.on('error', fail);
    req.end();
  });
}
