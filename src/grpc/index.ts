export { PatchbayError, type PatchbayErrorOptions } from '../core/errors';
