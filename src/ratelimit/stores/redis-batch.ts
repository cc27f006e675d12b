import { integerReply } from '../../core/redis-script';
import type { RateLimitAlgorithm } from '../types';

/** A script's answer for one decision: allowed (1/0), remaining, reset, retry after. */
export type Reply = readonly [number, number, number, number];

/**
 * Redis ran the script but refused one decision's key (a key of another type, say): Redis itself
 * is fine, and the decisions sent with it were made.
 */
export class KeyRefusedError extends Error {}

/** Sends one limiter's decisions as one script call: keys in order, then cost and commit per key. */
export type SendBatch = (algorithm: RateLimitAlgorithm, keys: string[], args: number[]) => Promise<unknown>;

interface Batch {
  keys: string[];
  args: number[];
  settle: { resolve(reply: Reply): void; reject(error: unknown): void }[];
}

/**
 * Collects the decisions made during one turn of the event loop and sends each limiter's as one
 * script call of at most `maxBatch` keys: under load Redis runs one script (and one clock read)
 * for many decisions instead of one each, and a decision waits for nothing but its own round
 * trip, because the batch leaves at the end of the turn that made it (`process.nextTick`, which
 * runs once the current promise jobs have drained). With `maxBatch` 1 every decision leaves at once.
 */
export function decisionBatcher(
  send: SendBatch,
  maxBatch: number,
): {
  decide(algorithm: RateLimitAlgorithm, key: string, cost: number, commit: boolean): Promise<Reply>;
  /**
   * Sends what is queued now and resolves once every call sent so far has been answered (or timed
   * out), so a command sent next (a reset) reaches Redis after them: even a call that is sent
   * again, as EVAL, after Redis answered NOSCRIPT.
   */
  drain(): Promise<void>;
} {
  let queued = new Map<RateLimitAlgorithm, Batch>();
  let scheduled = false;
  const inflight = new Set<Promise<void>>();

  const dispatch = (algorithm: RateLimitAlgorithm, batch: Batch): void => {
    const failAll = (error: unknown): void => {
      for (const { reject } of batch.settle) reject(error);
    };
    let sent: Promise<unknown>;
    try {
      sent = send(algorithm, batch.keys, batch.args);
    } catch (error) {
      // dispatch runs from process.nextTick too, where a throw would be uncaught
      sent = Promise.reject(error);
    }
    // Neither handler throws, so `answered` never rejects: a reply that is not what the script
    // returns (from a proxy or a client wrapper) fails the decisions, and the store's onError
    // fallback answers them, instead of leaving them pending behind an unhandled rejection.
    const answered = sent.then((reply) => {
      if (!Array.isArray(reply) || reply.length !== 4 * batch.settle.length) {
        failAll(new Error(`unexpected reply to a batch of ${batch.settle.length} rate-limit decisions`));
        return;
      }
      batch.settle.forEach(({ resolve, reject }, i) => {
        const raw = reply.slice(4 * i, 4 * i + 4) as unknown[];
        // integerReply: a client made with stringNumbers answers integers as strings
        const values = raw.map(integerReply);
        if (!values.some(Number.isNaN)) resolve(values as unknown as Reply);
        // batch.lua puts a decision's own error message in place of its first number
        else if (typeof raw[0] === 'string') reject(new KeyRefusedError(raw[0]));
        else reject(new Error('unexpected reply to a rate-limit decision'));
      });
    }, failAll);
    inflight.add(answered);
    const done = (): void => {
      inflight.delete(answered);
    };
    answered.then(done, done);
  };

  const flush = (): void => {
    const batches = queued;
    queued = new Map();
    for (const [algorithm, batch] of batches) dispatch(algorithm, batch);
  };

  const decide = (algorithm: RateLimitAlgorithm, key: string, cost: number, commit: boolean): Promise<Reply> =>
    new Promise<Reply>((resolve, reject) => {
      let batch = queued.get(algorithm);
      if (!batch) {
        batch = { keys: [], args: [], settle: [] };
        queued.set(algorithm, batch);
      }
      batch.keys.push(key);
      batch.args.push(cost, commit ? 1 : 0);
      batch.settle.push({ resolve, reject });
      if (batch.keys.length >= maxBatch) {
        queued.delete(algorithm);
        dispatch(algorithm, batch);
      } else if (!scheduled) {
        scheduled = true;
        process.nextTick(() => {
          scheduled = false;
          flush();
        });
      }
    });

  const drain = (): Promise<void> => {
    flush();
    return Promise.all(inflight).then(() => undefined);
  };

  return { decide, drain };
}
