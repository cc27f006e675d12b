import { describe } from '../../core/assert';
import { PatchbayError } from '../../core/errors';
import { githubScheme } from './github';
import type { SchemeDefinition } from './scheme';
import { standardScheme } from './standard';
import { stripeScheme } from './stripe';

const schemes: Record<string, SchemeDefinition> = {
  standard: standardScheme,
  stripe: stripeScheme,
  github: githubScheme,
};

/** The definition of the scheme named `name`; throws `ERR_WEBHOOK_OPTIONS` for any other value. */
export function schemeNamed(name: unknown): SchemeDefinition {
  const scheme = typeof name === 'string' && Object.hasOwn(schemes, name) ? schemes[name] : undefined;
  if (!scheme) {
    throw new PatchbayError(
      'ERR_WEBHOOK_OPTIONS',
      `scheme must be 'standard', 'stripe' or 'github', got ${describe(name)}`,
    );
  }
  return scheme;
}
