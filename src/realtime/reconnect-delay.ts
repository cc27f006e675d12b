import type { Backoff } from '../core/backoff';

/**
 * The wait before reconnect attempt `attempt` (0-based). A backoff whose random source throws
 * gets the attempt's ceiling instead, the longest wait the policy allows: the client keeps
 * reconnecting, neither stuck in CONNECTING nor throwing out of a socket callback or a timer.
 */
export function reconnectDelay(policy: Backoff, attempt: number): number {
  try {
    return policy.delay(attempt);
  } catch {
    return policy.ceiling(attempt);
  }
}
