import { describe, expect, it } from 'vitest';
import {
  decodeHealthRequest,
  decodeHealthResponse,
  encodeHealthRequest,
  encodeHealthResponse,
} from '../../src/core/grpc-health-codec';

describe('grpc.health.v1 codec', () => {
  it('round-trips requests, including the empty (whole server) and non-ASCII services', () => {
    for (const service of ['', 'orders.v1.Orders', 'ünïcode.Service', 'x'.repeat(300)]) {
      expect(decodeHealthRequest(encodeHealthRequest(service))).toEqual({ service });
    }
    expect(encodeHealthRequest('')).toHaveLength(0);
    // field 1, wire type 2, length 300 as a two-byte varint
    expect([...encodeHealthRequest('x'.repeat(300)).subarray(0, 3)]).toEqual([0x0a, 0xac, 0x02]);
  });

  it('round-trips every serving status; 0 is sent as nothing (proto3 default)', () => {
    for (const status of [0, 1, 2, 3, 200])
      expect(decodeHealthResponse(encodeHealthResponse(status))).toEqual({ status });
    expect(encodeHealthResponse(0)).toHaveLength(0);
    expect([...encodeHealthResponse(1)]).toEqual([0x08, 0x01]);
  });

  it('skips unknown fields of every wire type', () => {
    const message = Buffer.from([
      0x10,
      0x05, // field 2, varint
      0x19,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8, // field 3, fixed64
      0x25,
      1,
      2,
      3,
      4, // field 4, fixed32
      0x2a,
      0x02,
      0x61,
      0x62, // field 5, bytes
      0x08,
      0x02, // field 1, status SERVING... NOT_SERVING = 2
    ]);
    expect(decodeHealthResponse(message)).toEqual({ status: 2 });
  });

  it.each([
    ['a truncated varint', [0x08, 0x80]],
    ['a length past the end', [0x0a, 0x05, 0x61]],
    ['a truncated fixed64', [0x19, 1, 2]],
    ['an unknown wire type', [0x0b]],
  ])('rejects %s with ERR_GRPC_HEALTH', (_, bytes) => {
    expect(() => decodeHealthResponse(Buffer.from(bytes))).toThrow(
      expect.objectContaining({ code: 'ERR_GRPC_HEALTH' }),
    );
    expect(() => decodeHealthRequest(Buffer.from(bytes))).toThrow(expect.objectContaining({ code: 'ERR_GRPC_HEALTH' }));
  });
});
