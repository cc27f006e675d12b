import { PatchbayError } from '../core/errors';

/** The code of every error a `patchbay/grpc` factory throws for bad options. */
export const OPTIONS_CODE = 'ERR_GRPC_OPTIONS';

/** Throws `ERR_GRPC_OPTIONS` unless `options` is an object. */
export function assertOptions(options: unknown, factory: string): asserts options is object {
  if (typeof options !== 'object' || options === null) {
    throw new PatchbayError(OPTIONS_CODE, `${factory} needs an options object`);
  }
}

/** Throws `ERR_GRPC_OPTIONS` unless `value` is a function (or, when `optional`, undefined). */
export function assertFunction(value: unknown, name: string, { optional = false } = {}): void {
  if (optional && value === undefined) return;
  if (typeof value !== 'function') {
    throw new PatchbayError(OPTIONS_CODE, `${name} must be a function`);
  }
}
