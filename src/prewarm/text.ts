/**
 * A thrown or rejected value as text, without ever throwing. A task or a client may reject with
 * anything (a null-prototype object, an object whose `toString` throws, a revoked Proxy), and the
 * text is built where a throw would crash the process (an HTTP handler) or hide the real error.
 */
export function textOf(value: unknown): string {
  try {
    if (value instanceof Error && typeof value.message === 'string') return value.message;
    return String(value);
  } catch {
    return `an ${typeof value} that cannot be shown as text`;
  }
}

/** The value's `code` when it is a string, read without ever throwing (a getter may throw). */
export function codeOf(value: unknown): string | undefined {
  try {
    const code = (value as { code?: unknown } | null | undefined)?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}
