import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { REDIS_HINT, startRedisServer } from './redis-server';

/** A Redis Cluster of masters on 127.0.0.1, owned by a test. */
export interface RedisCluster {
  readonly nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

/**
 * Starts `masters` redis-servers in cluster mode on free ports, joins them with
 * `redis-cli --cluster create` (no replicas) and waits until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-cluster-'));
  const servers = await Promise.all(
    Array.from({ length: masters }, () =>
      startRedisServer((port) => [
        '--cluster-enabled',
        'yes',
        '--dir',
        dir,
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '2000',
      ]),
    ),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    await promisify(execFile)('redis-cli', [
      '--cluster',
      'create',
      ...addresses,
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const deadline = Date.now() + 10_000;
    for (const server of servers) {
      const node = new Redis(server.url, { lazyConnect: true });
      try {
        await node.connect();
        while (!String(await node.cluster('INFO')).includes('cluster_state:ok')) {
          if (Date.now() > deadline) throw new Error(`cluster node ${server.port} not ready within 10 s`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        node.disconnect();
      }
    }
  } catch (error) {
    await stop();
    throw new Error(`could not start a Redis Cluster: ${(error as Error).message}. ${REDIS_HINT}`);
  }
  return { nodes: servers.map((server) => ({ host: '127.0.0.1', port: server.port })), stop };
}
