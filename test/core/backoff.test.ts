import { describe, expect, it } from 'vitest';
import { backoff } from '../../src/core/backoff';
import { seededRandom } from '../../src/core/random';

describe('backoff', () => {
  it('grows the ceiling by factor and caps it at maxMs', () => {
    const policy = backoff({ initialMs: 100, maxMs: 1_000, factor: 2 });
    expect([0, 1, 2, 3, 4, 5].map(policy.ceiling)).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('never overflows for huge attempt numbers', () => {
    const policy = backoff({ initialMs: 1, maxMs: 5_000, factor: 10 });
    expect(policy.ceiling(10_000)).toBe(5_000);
    expect(policy.delay(10_000)).toBeLessThan(5_000);
  });

  it('applies full jitter: delays are spread uniformly below the ceiling', () => {
    const policy = backoff({ initialMs: 1_000, maxMs: 1_000, random: seededRandom(7) });
    const delays = Array.from({ length: 10_000 }, () => policy.delay(0));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(1_000);
    const mean = delays.reduce((sum, d) => sum + d, 0) / delays.length;
    expect(mean).toBeGreaterThan(480);
    expect(mean).toBeLessThan(520);
    // every tenth of the range gets its share: no clustering that would make clients retry together
    const buckets = new Array(10).fill(0);
    for (const d of delays) buckets[Math.floor(d / 100)]++;
    for (const count of buckets) expect(count).toBeGreaterThan(850);
  });

  it('is reproducible with a seeded random source', () => {
    const a = backoff({ random: seededRandom(42) });
    const b = backoff({ random: seededRandom(42) });
    const seqA = [0, 1, 2, 3].map(a.delay);
    expect([0, 1, 2, 3].map(b.delay)).toEqual(seqA);
  });

  it('uses 100 ms, 30 s and factor 2 by default', () => {
    const policy = backoff();
    expect(policy.ceiling(0)).toBe(100);
    expect(policy.ceiling(1)).toBe(200);
    expect(policy.ceiling(50)).toBe(30_000);
  });

  it.each([
    [{ initialMs: 0 }, 'initialMs'],
    [{ initialMs: -5 }, 'initialMs'],
    [{ initialMs: Number.NaN }, 'initialMs'],
    [{ initialMs: 100, maxMs: 50 }, 'maxMs'],
    [{ factor: 0.5 }, 'factor'],
    [{ factor: Number.POSITIVE_INFINITY }, 'factor'],
    [{ random: 'no' as unknown as () => number }, 'random'],
  ])('rejects bad options %o with ERR_BACKOFF_OPTIONS', (options, field) => {
    expect(() => backoff(options)).toThrow(expect.objectContaining({ code: 'ERR_BACKOFF_OPTIONS' }));
    expect(() => backoff(options)).toThrow(field);
  });

  it('rejects a negative or fractional attempt', () => {
    const policy = backoff();
    expect(() => policy.delay(-1)).toThrow(expect.objectContaining({ code: 'ERR_BACKOFF_OPTIONS' }));
    expect(() => policy.ceiling(1.5)).toThrow(expect.objectContaining({ code: 'ERR_BACKOFF_OPTIONS' }));
  });
});

describe('seededRandom', () => {
  it('yields numbers in [0, 1)', () => {
    const random = seededRandom(1);
    for (let i = 0; i < 1_000; i++) {
      const value = random();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
    }
  });

  it('differs between seeds', () => {
    expect(seededRandom(1)()).not.toBe(seededRandom(2)());
  });
});
