import { PatchbayError } from '../core/errors';

/**
 * Thrown by `append` when the stream's version is not the `expectedVersion` the caller saw:
 * someone else wrote to the stream in between. Code `ERR_CQRS_CONCURRENCY`. Reload the stream and
 * decide again (the {@link retryOnConcurrency} middleware does that by re-running the command).
 *
 * @example
 * ```ts
 * try {
 *   await store.append('order-42', [{ type: 'OrderShipped', data: {} }], { expectedVersion: 3 });
 * } catch (error) {
 *   if (error instanceof ConcurrencyError) show(`stream is at ${error.actualVersion}`);
 * }
 * ```
 */
export class ConcurrencyError extends PatchbayError {
  /** The stream that was written to. */
  readonly streamId: string;
  /** The version the caller expected (`0` for `'no-stream'`). */
  readonly expectedVersion: number;
  /** The stream's version when the append was refused. */
  readonly actualVersion: number;

  constructor(streamId: string, expectedVersion: number, actualVersion: number) {
    super(
      'ERR_CQRS_CONCURRENCY',
      `Stream ${JSON.stringify(streamId)} is at version ${actualVersion}, expected ${expectedVersion}`,
    );
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}
