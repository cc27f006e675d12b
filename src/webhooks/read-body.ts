import type { IncomingMessage } from 'node:http';

/** The raw body, or `too-large` as soon as it is known to exceed the limit (nothing more is buffered). */
export type ReadBodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'parsed' | 'aborted' };

/**
 * Reads a request's raw body up to `maxBytes`. A body that a framework already read is taken as
 * is when it is still raw (Express's `express.raw()`), and refused when it was parsed or lost.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<ReadBodyResult> {
  const preRead = (req as IncomingMessage & { body?: unknown }).body;
  if (req.readableEnded) {
    if (typeof preRead === 'string') return Promise.resolve(limit(Buffer.from(preRead), maxBytes));
    if (preRead instanceof Uint8Array) return Promise.resolve(limit(Buffer.from(preRead), maxBytes));
    // consumed by someone else: waiting for 'end' would wait for ever
    return Promise.resolve({ ok: false, reason: 'parsed' });
  }
  // the client left before anyone listened: no 'end' or 'close' is coming
  if (req.destroyed) return Promise.resolve({ ok: false, reason: 'aborted' });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve({ ok: false, reason: 'too-large' });

  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: ReadBodyResult): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
      resolve(result);
    };
    // an earlier middleware's setEncoding() turns chunks into text: back to the bytes signed
    const encoding = req.readableEncoding ?? undefined;
    const onData = (data: Buffer | string): void => {
      const chunk = typeof data === 'string' ? Buffer.from(data, encoding) : data;
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        finish({ ok: false, reason: 'too-large' });
      } else {
        chunks.push(chunk);
      }
    };
    const onEnd = (): void =>
      finish({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) });
    const onAbort = (): void => finish({ ok: false, reason: 'aborted' });
    const onClose = (): void => {
      if (!req.complete) onAbort();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}

function limit(body: Buffer, maxBytes: number): ReadBodyResult {
  return body.length > maxBytes ? { ok: false, reason: 'too-large' } : { ok: true, body };
}
