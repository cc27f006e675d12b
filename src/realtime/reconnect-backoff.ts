import { assertOptionsObject } from '../core/assert';
import { type Backoff, type BackoffOptions, backoff } from '../core/backoff';
import { PatchbayError } from '../core/errors';

/**
 * The reconnect backoff of a realtime client: the caller's options over the client's defaults,
 * refused with the module's own code (core's backoff has its own), and refused when they are not
 * an object at all, where spreading them would silently give the defaults.
 */
export function reconnectBackoff(options: BackoffOptions | undefined, defaults: BackoffOptions): Backoff {
  if (options !== undefined) assertOptionsObject(options, 'backoff', 'ERR_REALTIME_OPTIONS');
  try {
    return backoff({ ...defaults, ...options });
  } catch (error) {
    throw new PatchbayError('ERR_REALTIME_OPTIONS', `backoff: ${(error as Error).message}`, { cause: error });
  }
}
