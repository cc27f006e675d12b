import { describe } from './assert';
import { PatchbayError } from './errors';

/**
 * `value` as JSON text. A value JSON cannot encode, whether `JSON.stringify` throws (a BigInt, a
 * cycle) or gives nothing (undefined, a function), throws a {@link PatchbayError} with `code`
 * saying `message`, rather than sending `undefined` or a raw TypeError on.
 *
 * @example
 * ```ts
 * const body = jsonText(payload, 'ERR_WEBHOOK_INPUT', 'payload is not JSON-serialisable');
 * ```
 */
export function jsonText(value: unknown, code: string, message: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new PatchbayError(code, message, { cause: error });
  }
  if (text === undefined) throw new PatchbayError(code, `${message}, got ${describe(value)}`);
  return text;
}
