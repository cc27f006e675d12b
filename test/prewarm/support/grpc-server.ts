import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';

/** The serving statuses of grpc.health.v1, as numbers on the wire. */
export const SERVING = 1;
export const NOT_SERVING = 2;

/** A real grpc-js server on 127.0.0.1, with an echo service and, optionally, the standard health service. */
export interface TestGrpcServer {
  address: string;
  /** The `service` field of each health check received, decoded on the server. */
  healthChecks: string[];
  stop(): Promise<void>;
}

const echo: ServiceDefinition = {
  Echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: string) => Buffer.from(value),
    requestDeserialize: (buffer: Buffer) => buffer.toString(),
    responseSerialize: (value: string) => Buffer.from(value),
    responseDeserialize: (buffer: Buffer) => buffer.toString(),
  },
};

// grpc.health.v1.Health/Check with hand-written protobuf: HealthCheckRequest { string service = 1 },
// HealthCheckResponse { ServingStatus status = 1 }. Short strings and small enums only.
const health: ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    // Decoded into an object: grpc-js drops a unary request that deserializes to a falsy value.
    requestSerialize: ({ service }: { service: string }) =>
      Buffer.concat([Buffer.from([0x0a, service.length]), Buffer.from(service)]),
    requestDeserialize: (buffer: Buffer) => ({
      service: buffer.length === 0 ? '' : buffer.subarray(2, 2 + (buffer[1] ?? 0)).toString(),
    }),
    responseSerialize: (status: number) => Buffer.from([0x08, status]),
    responseDeserialize: (buffer: Buffer) => buffer[1] ?? 0,
  },
};

/** Starts the server; `healthStatus` adds the health service answering that status for every service. */
export async function startGrpcServer({ healthStatus }: { healthStatus?: number } = {}): Promise<TestGrpcServer> {
  const server = new Server();
  const healthChecks: string[] = [];
  server.addService(echo, {
    Echo: (call: { request: string }, callback: (error: null, value: string) => void) => callback(null, call.request),
  });
  if (healthStatus !== undefined) {
    server.addService(health, {
      Check: (call: { request: { service: string } }, callback: (error: null, value: number) => void) => {
        healthChecks.push(call.request.service);
        callback(null, healthStatus);
      },
    });
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    healthChecks,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
