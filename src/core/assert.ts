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
  { min = Number.NEGATIVE_INFINITY, integer = false, exclusiveMin = false } = {},
): asserts value is number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    (exclusiveMin ? value > min : value >= min);
  if (!ok) {
    const kind = integer ? 'an integer' : 'a finite number';
    const bound = Number.isFinite(min) ? ` ${exclusiveMin ? '>' : '>='} ${min}` : '';
    throw new PatchbayError(code, `${name} must be ${kind}${bound}, got ${describe(value)}`);
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
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
