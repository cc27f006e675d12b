import type { IncomingMessage, ServerResponse } from 'node:http';
import { PatchbayError } from '../core/errors';
import type { Prewarmer } from './orchestrator';
import { codeOf, textOf } from './text';
import type { PrewarmReport, PrewarmTaskReport } from './types';

/**
 * What {@link readinessHandler} reads: a {@link Prewarmer}, or anything with the same two methods.
 *
 * @example
 * ```ts
 * const source: ReadinessSource = prewarmer;
 * ```
 */
export type ReadinessSource = Pick<Prewarmer, 'readiness' | 'lastReport'>;

/**
 * A `node:http` handler for a readiness probe (`/readyz`): `200` when the prewarmer is ready,
 * `503` otherwise, each with a JSON body of the readiness and, once a run has finished, its
 * report (task names, statuses, attempts, durations and error messages; task results are left
 * out, as they may name internal hosts). `HEAD` gets the status alone. Responses are not cached.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { readinessHandler } from 'patchbay/prewarm';
 *
 * const readyz = readinessHandler(prewarmer);
 * createServer((req, res) => (req.url === '/readyz' ? readyz(req, res) : app(req, res))).listen(8080);
 * ```
 */
export function readinessHandler(prewarmer: ReadinessSource): (req: IncomingMessage, res: ServerResponse) => void {
  if (typeof prewarmer?.readiness !== 'function' || typeof prewarmer.lastReport !== 'function') {
    throw new PatchbayError('ERR_PREWARM_OPTIONS', 'readinessHandler needs a prewarmer (readiness() and lastReport())');
  }
  return (req, res) => {
    const readiness = prewarmer.readiness();
    const report = prewarmer.lastReport();
    const body = JSON.stringify({ ...readiness, report: report === undefined ? null : publicReport(report) });
    res.writeHead(readiness.ready ? 200 : 503, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

function publicReport(report: PrewarmReport): object {
  return { ...report, tasks: report.tasks.map(publicTask) };
}

function publicTask({ name, status, required, attempts, durationMs, error }: PrewarmTaskReport): object {
  return {
    name,
    status,
    required,
    attempts,
    durationMs,
    ...(error === undefined ? {} : { error: publicError(error) }),
  };
}

function publicError(error: unknown): { message: string; code?: string } {
  const message = textOf(error);
  const code = codeOf(error);
  return code === undefined ? { message } : { message, code };
}
