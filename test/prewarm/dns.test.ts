import { lookup } from 'node:dns/promises';
import { describe, expect, it } from 'vitest';
import { AbortError } from '../../src/core/errors';
import { createPrewarmer, type DnsLookup, warmDns } from '../../src/prewarm/index';

describe('warmDns', () => {
  it('resolves each host with the system resolver and reports its addresses', async () => {
    const { hosts } = await warmDns(['localhost'])();
    expect(hosts).toHaveLength(1);
    expect(hosts[0]?.host).toBe('localhost');
    expect(hosts[0]?.addresses.some((address) => address === '127.0.0.1' || address === '::1')).toBe(true);
  });

  it('fails cleanly naming the host that does not resolve, after trying the others', async () => {
    const asked: string[] = [];
    const tracking: DnsLookup = (hostname, options) => {
      asked.push(hostname);
      return lookup(hostname, options);
    };
    const error = await warmDns(['nonexistent.invalid', 'localhost'], { lookup: tracking })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PREWARM_DNS', message: expect.stringContaining('nonexistent.invalid') });
    expect((error as Error).message).not.toContain('localhost');
    expect((error as Error).cause).toMatchObject({ code: 'ENOTFOUND' });
    expect(asked.sort()).toEqual(['localhost', 'nonexistent.invalid']);
  });

  it('fails with ERR_PREWARM_DNS when its lookup rejects with a value that cannot be shown as text', async () => {
    const unprintable: DnsLookup = () => Promise.reject(Object.create(null));
    const error = await warmDns(['localhost'], { lookup: unprintable })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PREWARM_DNS', message: expect.stringContaining('localhost') });
  });

  it('warms the resolver it is given, so a caching lookup is filled before traffic', async () => {
    const cache = new Map<string, Promise<{ address: string; family: number }[]>>();
    let misses = 0;
    const caching: DnsLookup = (hostname, options) => {
      let answer = cache.get(hostname);
      if (answer === undefined) {
        misses++;
        answer = lookup(hostname, options);
        cache.set(hostname, answer);
      }
      return answer;
    };
    await warmDns(['localhost'], { lookup: caching })();
    await caching('localhost', { all: true });
    expect(misses).toBe(1);
  });

  it('runs as a prewarm task and reports the resolution as its result', async () => {
    const report = await createPrewarmer()
      .add({ name: 'dns', run: warmDns(['localhost']) })
      .add({ name: 'bad-dns', run: warmDns(['nonexistent.invalid']), required: false })
      .run();
    expect(report.tasks[0]).toMatchObject({ status: 'ok', result: { hosts: [{ host: 'localhost' }] } });
    expect(report.tasks[1]).toMatchObject({ status: 'failed', error: { code: 'ERR_PREWARM_DNS' } });
    expect(report).toMatchObject({ ready: true, degraded: true });
  });

  it('rejects with AbortError when its signal is already aborted, and bad input at once', async () => {
    await expect(warmDns(['localhost'])(AbortSignal.abort())).rejects.toBeInstanceOf(AbortError);
    for (const hosts of [[], [''], 'localhost', [42]]) {
      expect(() => warmDns(hosts as never)).toThrow(expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }));
    }
    for (const options of [null, 'x', { lookup: 'x' }]) {
      expect(() => warmDns(['localhost'], options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }),
      );
    }
  });
});
