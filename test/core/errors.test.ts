import { describe, expect, it } from 'vitest';
import { AbortError, PatchbayError, TimeoutError } from '../../src/core/errors';

describe('PatchbayError', () => {
  it('carries a stable code, a message, a name and the cause', () => {
    const cause = new Error('socket closed');
    const error = new PatchbayError('ERR_SOMETHING', 'it broke', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('ERR_SOMETHING');
    expect(error.message).toBe('it broke');
    expect(error.name).toBe('PatchbayError');
    expect(error.cause).toBe(cause);
    expect(error.stack).toContain('it broke');
  });

  it('has no cause property when none is given', () => {
    expect('cause' in new PatchbayError('ERR_X', 'x')).toBe(false);
  });

  it('names subclasses after themselves and keeps instanceof working', () => {
    class WidgetError extends PatchbayError {}
    const error = new WidgetError('ERR_WIDGET', 'bad widget');
    expect(error.name).toBe('WidgetError');
    expect(error).toBeInstanceOf(PatchbayError);
  });

  it('gives TimeoutError and AbortError their codes', () => {
    const timeout = new TimeoutError(250);
    expect(timeout.code).toBe('ERR_TIMEOUT');
    expect(timeout.timeoutMs).toBe(250);
    expect(timeout.message).toBe('Timed out after 250 ms');
    const reason = new Error('user left');
    const aborted = new AbortError(reason);
    expect(aborted.code).toBe('ERR_ABORTED');
    expect(aborted.cause).toBe(reason);
  });
});
