import { PatchbayError } from './errors';

// The two messages of grpc.health.v1, encoded by hand so neither the gRPC module nor the
// pre-warmer needs a protobuf library:
//   HealthCheckRequest  { string service = 1; }
//   HealthCheckResponse { ServingStatus status = 1; }   (an enum; 0 = UNKNOWN, proto3's default)

const malformed = (): PatchbayError => new PatchbayError('ERR_GRPC_HEALTH', 'malformed grpc.health.v1 message');

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let rest = n;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/**
 * Walks the fields of a protobuf message. For varints (wire type 0) `a` is the value; for
 * length-delimited fields (wire type 2) `a` and `b` are the start and end of the bytes; fixed
 * 32- and 64-bit fields are skipped. Throws `ERR_GRPC_HEALTH` on a truncated or unknown encoding.
 */
function forEachField(buffer: Buffer, visit: (field: number, wireType: number, a: number, b: number) => void): void {
  let offset = 0;
  const readVarint = (): number => {
    let value = 0;
    for (let shift = 0; offset < buffer.length && shift < 64; shift += 7) {
      const byte = buffer[offset++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw malformed();
  };
  while (offset < buffer.length) {
    const tag = readVarint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === 0) visit(field, 0, readVarint(), 0);
    else if (wireType === 2) {
      const length = readVarint();
      const start = offset;
      offset += length;
      if (offset > buffer.length) throw malformed();
      visit(field, 2, start, offset);
    } else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else throw malformed();
    if (offset > buffer.length) throw malformed();
  }
}

/** Encodes a `HealthCheckRequest` for `service` ('' asks about the whole server). */
export function encodeHealthRequest(service: string): Buffer {
  const bytes = Buffer.from(service, 'utf8');
  return bytes.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(bytes.length), bytes]);
}

/** Decodes a `HealthCheckRequest`. */
export function decodeHealthRequest(buffer: Buffer): { service: string } {
  let service = '';
  forEachField(buffer, (field, wireType, start, end) => {
    if (field === 1 && wireType === 2) service = buffer.toString('utf8', start, end);
  });
  return { service };
}

/** Encodes a `HealthCheckResponse` with `status`; 0 is proto3's default and is sent as nothing. */
export function encodeHealthResponse(status: number): Buffer {
  return status === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x08]), varint(status)]);
}

/** Decodes a `HealthCheckResponse`; a missing status is 0 (UNKNOWN). */
export function decodeHealthResponse(buffer: Buffer): { status: number } {
  let status = 0;
  forEachField(buffer, (field, wireType, value) => {
    if (field === 1 && wireType === 0) status = value;
  });
  return { status };
}
