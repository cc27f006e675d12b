import { expect, it, describe as suite } from 'vitest';
import { describe } from '../../src/core/assert';

suite('describe', () => {
  it('names a value as an error message shows it, with the right article', () => {
    expect(describe({})).toBe('an object');
    expect(describe([])).toBe('an array');
    expect(describe(() => 1)).toBe('a function');
    expect(describe(Symbol('s'))).toBe('a symbol');
    expect(describe('false')).toBe('"false"');
    expect(describe(false)).toBe('false');
    expect(describe(null)).toBe('null');
  });
});
