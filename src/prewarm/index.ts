export { AbortError, PatchbayError, type PatchbayErrorOptions, TimeoutError } from '../core/errors';
