import type { GrpcLogEntry, GrpcLogger, GrpcLogLevel } from '../../../src/grpc/index';

/** A logger that keeps what it is given, with its level. */
export function memoryLogger(): GrpcLogger & { lines: (GrpcLogEntry & { level: GrpcLogLevel; message: string })[] } {
  const lines: (GrpcLogEntry & { level: GrpcLogLevel; message: string })[] = [];
  const at =
    (level: GrpcLogLevel) =>
    (entry: GrpcLogEntry, message: string): void => {
      lines.push({ ...entry, level, message });
    };
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}
