import { Metadata, type StatusObject, status } from '@grpc/grpc-js';

/**
 * How a method streams: one of the four gRPC call types.
 *
 * @example
 * ```ts
 * const type: GrpcCallType = 'server_stream';
 * ```
 */
export type GrpcCallType = 'unary' | 'client_stream' | 'server_stream' | 'bidi';

/** The call type of a method definition, from its two streaming flags. */
export function callType(definition: { requestStream: boolean; responseStream: boolean }): GrpcCallType {
  if (definition.requestStream) return definition.responseStream ? 'bidi' : 'client_stream';
  return definition.responseStream ? 'server_stream' : 'unary';
}

/** The name of a status code, `UNAVAILABLE` for 14; the number itself for codes gRPC does not define. */
export function codeName(code: number): string {
  return status[code] ?? String(code);
}

/** A full status object, with empty trailers unless given. */
export function statusOf(code: status, details: string, metadata = new Metadata()): StatusObject {
  return { code, details, metadata };
}

/** A deadline as epoch ms; `Infinity` when there is none. */
export function deadlineMs(deadline: Date | number | undefined): number {
  if (deadline === undefined) return Number.POSITIVE_INFINITY;
  return deadline instanceof Date ? deadline.getTime() : deadline;
}
