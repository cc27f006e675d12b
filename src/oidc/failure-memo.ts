import type { Clock } from '../core/clock';
import { OidcError, type OidcErrorCode } from './errors';

/**
 * The last failure of a provider request, remembered for `holdMs`. Verifications run while it is
 * fresh fail at once instead of each sending the failing provider another request: anyone can
 * send tokens, so without it an outage turns every incoming token into an outgoing request.
 */
export interface FailureMemo {
  /** Remembers `error` as of now. Never throws: with a clock that throws, nothing is remembered. */
  record(error: unknown): void;
  /** Forgets the failure: the request succeeded. */
  clear(): void;
  /** A fresh error standing for the remembered failure, or undefined when there is none or it is older than `holdMs`. */
  recent(): OidcError | undefined;
}

/** A {@link FailureMemo} whose errors carry `code` unless the failure had an `OidcError` code of its own. */
export function failureMemo(clock: Clock, holdMs: number, code: OidcErrorCode, what: string): FailureMemo {
  let last: { at: number; error: unknown } | undefined;
  return {
    record(error) {
      // called from rejection handlers, where a clock that throws would be an unhandled rejection;
      // without a time the failure cannot be held, so the next request simply tries again
      let at: number;
      try {
        at = clock.now();
      } catch {
        return;
      }
      last = { at, error };
    },
    clear() {
      last = undefined;
    },
    recent() {
      if (last === undefined) return undefined;
      const age = clock.now() - last.at;
      if (age >= holdMs) return undefined;
      const { error } = last;
      const reason = error instanceof Error ? error.message : String(error);
      return new OidcError(
        error instanceof OidcError ? error.code : code,
        `${what} failed ${Math.round(age)} ms ago (${reason}); retried ${Math.round(holdMs - age)} ms from now at the earliest`,
        { cause: error },
      );
    },
  };
}

/** How long a failed discovery or JWKS load is remembered: at most 5 s, so a recovered provider is used again soon. */
export function failureHoldMs(cooldownMs: number): number {
  return Math.min(cooldownMs, 5_000);
}
