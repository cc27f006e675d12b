import type { Redis } from 'ioredis';
import { sleep } from '../../src/core/timeout';

/**
 * The commands `client` sent while `fn` ran, as the server saw them (MONITOR on `observer`).
 * Only that client's own round trips count: commands other test files send to the shared Redis,
 * and commands a Lua script runs, are left out.
 */
export async function roundTrips(client: Redis, observer: Redis, fn: () => Promise<unknown>): Promise<string[]> {
  const address = /addr=(\S+)/.exec(String(await client.client('INFO')))?.[1];
  if (!address) throw new Error('CLIENT INFO gave no addr');
  const watcher = await observer.monitor();
  const seen: string[] = [];
  watcher.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === address) seen.push(String(args[0]).toLowerCase());
  });
  try {
    await fn();
    // MONITOR output can lag the command; a PING from the watched client marks the end
    await client.ping('end-of-round-trips');
    while (!seen.includes('ping')) await sleep(5);
  } finally {
    watcher.disconnect();
  }
  return seen.filter((command) => command !== 'ping');
}
