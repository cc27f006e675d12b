import { describe, expect, it } from 'vitest';
import { fulfilled, settledValue } from '../../src/core/settled';

describe('fulfilled and settledValue', () => {
  it('makes an ordinary fulfilled promise that also carries its value', async () => {
    const decision = { allowed: true };
    const promise = fulfilled(decision);
    expect(promise).toBeInstanceOf(Promise);
    expect(settledValue(promise)).toBe(decision);
    await expect(promise).resolves.toBe(decision);
  });

  it('knows nothing of any other promise, settled or not', async () => {
    const resolved = Promise.resolve(1);
    await resolved;
    expect(settledValue(resolved)).toBeUndefined();
    expect(settledValue(fulfilled(1).then((n) => n + 1))).toBeUndefined();
    expect(settledValue(new Promise(() => {}))).toBeUndefined();
  });
});
