import { type Metadata, type ServerInterceptor, status } from '@grpc/grpc-js';
import { assertFunction, assertOptions } from '../options';
import { isThenable } from '../thenable';
import { type GateDecision, gate } from './gate';

/**
 * Options of {@link serverAuthInterceptor}.
 *
 * @example
 * ```ts
 * const options: ServerAuthInterceptorOptions<{ sub: string }> = {
 *   verify: async (metadata) => {
 *     const token = bearerToken(metadata);
 *     return token ? (await verifier.verify(token)) : undefined;
 *   },
 * };
 * ```
 */
export interface ServerAuthInterceptorOptions<Identity = unknown> {
  /**
   * Checks the call's credentials and returns who is calling. `undefined`, `null` or `false`,
   * or a throw, answers UNAUTHENTICATED with details that say nothing more. To answer
   * PERMISSION_DENIED (the caller is known but may not call `method`), throw an error whose
   * `code` is `status.PERMISSION_DENIED`; its `details` (or `message`) are sent to the client.
   */
  verify: (
    metadata: Metadata,
    method: string,
  ) => Identity | null | undefined | false | PromiseLike<Identity | null | undefined | false>;
  /** Methods that need no credentials, e.g. `(m) => m.startsWith('/grpc.health.v1.')`. */
  skip?: (method: string) => boolean;
}

// The identity rides on the call's Metadata object under a symbol only this module holds: a
// WeakMap entry per call cost several times as much, in the set and in garbage collection.
const identityKey = Symbol('patchbay.grpc.identity');

type WithIdentity = Metadata & { [identityKey]?: unknown };

/**
 * A server interceptor that authenticates every call (any call type) before its handler runs:
 * `verify` sees the request metadata and the method and returns the caller's identity, which the
 * handler reads with {@link identityOf}. Calls that fail get UNAUTHENTICATED or PERMISSION_DENIED
 * and never reach the handler.
 *
 * The identity is kept on the call's `Metadata` object, which grpc-js hands on to the handler as
 * `call.metadata`, under a symbol private to patchbay: nothing a client sends can forge it, and
 * it is collected with the call. An interceptor placed after this one that replaces the metadata
 * object (rather than changing it) loses the identity.
 *
 * @example
 * ```ts
 * import { createIdTokenVerifier } from 'patchbay/oidc';
 *
 * const verifier = createIdTokenVerifier({ issuer, clientId: 'orders' });
 * const server = new Server({
 *   interceptors: [
 *     serverAuthInterceptor({
 *       verify: async (metadata, method) => {
 *         const token = bearerToken(metadata);
 *         if (!token) return undefined;
 *         const claims = await verifier.verify(token);
 *         if (method.endsWith('/Delete') && !claims.roles?.includes('admin')) {
 *           throw Object.assign(new Error('admin only'), { code: status.PERMISSION_DENIED });
 *         }
 *         return claims;
 *       },
 *     }),
 *   ],
 * });
 * // in a handler:
 * const claims = identityOf<IdTokenClaims>(call);
 * ```
 */
export function serverAuthInterceptor<Identity = unknown>(
  options: ServerAuthInterceptorOptions<Identity>,
): ServerInterceptor {
  assertOptions(options, 'serverAuthInterceptor');
  const { verify, skip } = options;
  assertFunction(verify, 'serverAuthInterceptor verify');
  assertFunction(skip, 'serverAuthInterceptor skip', { optional: true });
  return gate((metadata, _call, method) => {
    let verified: ReturnType<typeof verify>;
    try {
      verified = verify(metadata, method);
    } catch (error) {
      return denial(error);
    }
    return isThenable(verified)
      ? Promise.resolve(verified).then((identity) => accept(metadata, identity), denial)
      : accept(metadata, verified);
  }, skip);
}

function accept(metadata: Metadata, identity: unknown): GateDecision {
  if (identity === undefined || identity === null || identity === false) return unauthenticated;
  // A plain assignment: Object.defineProperty (to hide it from util.inspect) costs as much as the
  // WeakMap did, and printed metadata shows the bearer token itself anyway.
  (metadata as WithIdentity)[identityKey] = identity;
  return undefined;
}

/**
 * The identity {@link serverAuthInterceptor}'s `verify` returned for a call, from the handler's
 * `call` (or its `call.metadata`); `undefined` for a call that did not go through it.
 *
 * @example
 * ```ts
 * const getOrder: handleUnaryCall<GetOrderRequest, Order> = (call, callback) => {
 *   const user = identityOf<{ sub: string }>(call);
 *   callback(null, orders.get(call.request.id, { owner: user?.sub }));
 * };
 * ```
 */
export function identityOf<Identity = unknown>(call: { metadata: Metadata } | Metadata): Identity | undefined {
  const metadata = 'metadata' in call ? call.metadata : call;
  return (metadata as WithIdentity)[identityKey] as Identity | undefined;
}

/**
 * The token of an `authorization: Bearer <token>` request header, or `undefined` when there is
 * none (or another scheme).
 *
 * @example
 * ```ts
 * serverAuthInterceptor({ verify: (metadata) => lookUpApiToken(bearerToken(metadata)) });
 * ```
 */
export function bearerToken(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  if (typeof value !== 'string' || !bearerPattern.test(value)) return undefined;
  // test() builds no match array, as exec() would on every call: the token's bounds by hand.
  let start = 'Bearer '.length;
  while (value.charCodeAt(start) === space) start++;
  const end = value.indexOf(' ', start);
  return value.slice(start, end === -1 ? value.length : end);
}

const bearerPattern = /^Bearer +[^ ]+ *$/i;
const space = 0x20;

const unauthenticated = { code: status.UNAUTHENTICATED, details: 'Unauthenticated' };

function denial(error: unknown): { code: status; details: string } {
  const { code, details, message } = (error ?? {}) as { code?: unknown; details?: unknown; message?: unknown };
  if (code !== status.PERMISSION_DENIED) return unauthenticated;
  const why = typeof details === 'string' ? details : typeof message === 'string' ? message : '';
  return { code: status.PERMISSION_DENIED, details: why || 'Permission denied' };
}
