/**
 * Calls a user's hook (`onRetry`, `onCall`, `onError`) with `event` and drops what it throws.
 * grpc-js runs interceptors inside its own callbacks, where an exception is uncaught and ends
 * the process: a broken hook must take down neither the call nor the service. Callers run it
 * once the call has what it needs (its status, its retry timer), and check that the hook is
 * set before building `event`, so an absent hook costs no object.
 */
export function notify<Event>(hook: (event: Event) => void, event: Event): void {
  try {
    hook(event);
  } catch {
    // a hook's own failure has nowhere to go: reporting it is the hook's job
  }
}
