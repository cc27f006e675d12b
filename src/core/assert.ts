import { PatchbayError } from './errors';

/**
 * Throws a {@link PatchbayError} with `code` unless `value` is a finite number that is an
 * integer (when `integer`) and at least `min`. Used to validate options at the call that
 * received them.
 */
export function assertNumber(
  value: unknown,
  name: string,
  code: string,
  { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false, exclusiveMin = false } = {},
): asserts value is number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    (exclusiveMin ? value > min : value >= min) &&
    value <= max;
  if (!ok) {
    const kind = integer ? 'an integer' : 'a finite number';
    const lower = Number.isFinite(min) ? ` ${exclusiveMin ? '>' : '>='} ${min}` : '';
    const upper = Number.isFinite(max) ? `${lower ? ' and' : ''} <= ${max}` : '';
    throw new PatchbayError(code, `${name} must be ${kind}${lower}${upper}, got ${describe(value)}`);
  }
}

/** Throws a {@link PatchbayError} with `code` unless `value` is a non-empty string. */
export function assertNonEmptyString(value: unknown, name: string, code: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new PatchbayError(code, `${name} must be a non-empty string, got ${describe(value)}`);
  }
}

/** A short, safe rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Throws a {@link PatchbayError} with `code` unless `value` is a boolean: a string `'false'` would read as true. */
export function assertBoolean(value: unknown, name: string, code: string): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new PatchbayError(code, `${name} must be a boolean, got ${describe(value)}`);
  }
}

/** Throws a {@link PatchbayError} with `code` unless `value` is a function. */
export function assertFunction(
  value: unknown,
  name: string,
  code: string,
): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') {
    throw new PatchbayError(code, `${name} must be a function, got ${describe(value)}`);
  }
}

/**
 * Throws a {@link PatchbayError} with `code` unless `value` is an options object (not null, not
 * an array), so a factory reports its own code rather than a TypeError on the first property read.
 */
export function assertOptionsObject(value: unknown, name: string, code: string): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PatchbayError(code, `${name} must be an object, got ${describe(value)}`);
  }
}

/** Whether `value` is a plain object whose values are all strings (headers, extra parameters). */
export function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((entry) => typeof entry === 'string')
  );
}

/** Throws a {@link PatchbayError} with `code` unless `value` has a `now()` method, as a `Clock` does. */
export function assertClock(value: unknown, name: string, code: string): void {
  if (typeof (value as { now?: unknown } | null | undefined)?.now !== 'function') {
    throw new PatchbayError(code, `${name} must be an object with a now() method, got ${describe(value)}`);
  }
}

/**
 * Throws a {@link PatchbayError} with `code` unless `value` is an `AbortSignal`. Duck-typed, so a
 * signal from another realm or polyfill passes; these are the members the library calls.
 */
export function assertAbortSignal(value: unknown, name: string, code: string): asserts value is AbortSignal {
  const signal = value as Partial<AbortSignal> | null | undefined;
  if (
    typeof signal?.aborted !== 'boolean' ||
    typeof signal.throwIfAborted !== 'function' ||
    typeof signal.addEventListener !== 'function' ||
    typeof signal.removeEventListener !== 'function'
  ) {
    throw new PatchbayError(code, `${name} must be an AbortSignal, got ${describe(value)}`);
  }
}

/**
 * Parses `value` (a string or URL) as an absolute URL, and throws a {@link PatchbayError} with
 * `code` unless it is one, with one of `protocols` when given (like `['https:', 'http:']`).
 */
export function assertUrl(value: unknown, name: string, code: string, protocols?: readonly string[]): URL {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' || value instanceof URL ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (protocols !== undefined && !protocols.includes(url.protocol))) {
    const kind = protocols === undefined ? 'an absolute URL' : `an absolute ${protocols.join(' or ')} URL`;
    throw new PatchbayError(code, `${name} must be ${kind}, got ${describe(String(value))}`);
  }
  return url;
}
