import type { EventEmitter } from 'node:events';
import { type InterceptorOptions, propagate } from '@grpc/grpc-js';
import { deadlineMs } from '../status';

/**
 * What grpc-js propagates from a call's `parent` server call it applies below the interceptors, to
 * each call it creates for them, when it creates it. An interceptor that waits before it starts
 * the call below (a retry's backoff, a token fetch) must apply it itself for that time.
 */

/** The call's deadline as grpc-js applies it: its own, or its parent's when that is earlier. */
export function callDeadline(options: InterceptorOptions): number {
  const { deadline, parent, propagate_flags: flags } = options;
  const own = deadlineMs(deadline);
  if (parent == null || ((flags ?? propagate.DEFAULTS) & propagate.DEADLINE) === 0) return own;
  return Math.min(own, deadlineMs(parent.getDeadline()));
}

/**
 * Calls `cancelled` once the call's parent server call is cancelled (at once if it already is),
 * when the call propagates cancellation. Returns what stops listening, if anything listens.
 */
export function onParentCancelled(options: InterceptorOptions, cancelled: () => void): (() => void) | undefined {
  const { parent, propagate_flags: flags } = options;
  if (parent == null || ((flags ?? propagate.DEFAULTS) & propagate.CANCELLATION) === 0) return undefined;
  if (parent.cancelled) {
    cancelled();
    return undefined;
  }
  // Every kind of server call is an EventEmitter; the union of their types cannot be called.
  const events: EventEmitter = parent;
  events.once('cancelled', cancelled);
  return () => events.off('cancelled', cancelled);
}
