import {
  type CallOptions,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ClientWritableStream,
  credentials,
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type Interceptor,
  loadPackageDefinition,
  Metadata,
  Server,
  ServerCredentials,
  type ServerInterceptor,
  type ServiceClientConstructor,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export interface LabRequest {
  text: string;
  count: number;
}
export interface LabReply {
  text: string;
  index: number;
}

export interface LabHandlers {
  Unary: handleUnaryCall<LabRequest, LabReply>;
  ClientStream: handleClientStreamingCall<LabRequest, LabReply>;
  ServerStream: handleServerStreamingCall<LabRequest, LabReply>;
  Bidi: handleBidiStreamingCall<LabRequest, LabReply>;
}

const packageDefinition = loadSync(new URL('../fixtures/lab.proto', import.meta.url).pathname, {
  keepCase: true,
  defaults: true,
});
const LabClient = (loadPackageDefinition(packageDefinition).patchbay as Record<string, Record<string, unknown>>).test
  ?.Lab as ServiceClientConstructor;
export const labService: ServiceDefinition = LabClient.service;

/** The default behaviour: echo. Unary and server streams echo the text; client streams join the texts. */
export const echoHandlers: LabHandlers = {
  Unary: (call, callback) => callback(null, { text: call.request.text, index: 0 }),
  ClientStream: (call, callback) => {
    const texts: string[] = [];
    call.on('data', (request: LabRequest) => texts.push(request.text));
    call.on('end', () => callback(null, { text: texts.join(','), index: texts.length }));
  },
  ServerStream: (call) => {
    for (let index = 0; index < call.request.count; index++) call.write({ text: call.request.text, index });
    call.end();
  },
  Bidi: (call) => {
    let index = 0;
    call.on('data', (request: LabRequest) => call.write({ text: request.text, index: index++ }));
    call.on('end', () => call.end());
  },
};

export interface LabServer {
  address: string;
  server: Server;
  stop(): Promise<void>;
}

/** A real grpc-js server on 127.0.0.1 serving the Lab service (echo unless `handlers` says otherwise). */
export async function startLab({
  interceptors = [],
  handlers = {},
  implementation,
  services = [],
}: {
  interceptors?: ServerInterceptor[];
  handlers?: Partial<LabHandlers>;
  /** Used as it is instead of `handlers` merged over the echo handlers. */
  implementation?: UntypedServiceImplementation;
  services?: [ServiceDefinition, UntypedServiceImplementation][];
} = {}): Promise<LabServer> {
  const server = new Server({ interceptors });
  server.addService(labService, implementation ?? ({ ...echoHandlers, ...handlers } as UntypedServiceImplementation));
  for (const [definition, handlersOf] of services) server.addService(definition, handlersOf);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    server,
    stop: () =>
      new Promise((resolve) => {
        // Long-lived streams of a test may still be open: give them a moment, then force.
        const force = setTimeout(() => server.forceShutdown(), 500);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

interface RawLab extends Client {
  Unary(
    request: LabRequest,
    metadata: Metadata,
    options: CallOptions,
    callback: (error: ServiceError | null, reply?: LabReply) => void,
  ): ClientUnaryCall;
  ClientStream(
    metadata: Metadata,
    options: CallOptions,
    callback: (error: ServiceError | null, reply?: LabReply) => void,
  ): ClientWritableStream<LabRequest>;
  ServerStream(request: LabRequest, metadata: Metadata, options: CallOptions): ClientReadableStream<LabReply>;
  Bidi(metadata: Metadata, options: CallOptions): ClientDuplexStream<LabRequest, LabReply>;
}

/** What a streaming call produced: the messages, and the error it ended with, if any. */
export interface StreamResult {
  messages: LabReply[];
  error: ServiceError | undefined;
  metadata: Metadata[];
}

export interface Lab {
  raw: RawLab;
  unary(request: Partial<LabRequest>, options?: CallOptions, metadata?: Metadata): Promise<LabReply>;
  clientStream(requests: Partial<LabRequest>[], options?: CallOptions, metadata?: Metadata): Promise<LabReply>;
  serverStream(request: Partial<LabRequest>, options?: CallOptions, metadata?: Metadata): Promise<StreamResult>;
  bidi(requests: Partial<LabRequest>[], options?: CallOptions, metadata?: Metadata): Promise<StreamResult>;
  close(): void;
}

const full = (request: Partial<LabRequest>): LabRequest => ({ text: '', count: 0, ...request });

/** A Lab client with `interceptors`, and promise-returning helpers for the four call types. */
export function labClient(address: string, interceptors: Interceptor[] = []): Lab {
  const raw = new LabClient(address, credentials.createInsecure(), { interceptors }) as unknown as RawLab;
  const settle = (stream: ClientReadableStream<LabReply>): Promise<StreamResult> =>
    new Promise((resolve) => {
      const result: StreamResult = { messages: [], error: undefined, metadata: [] };
      stream.on('metadata', (metadata: Metadata) => result.metadata.push(metadata));
      stream.on('data', (reply: LabReply) => result.messages.push(reply));
      stream.on('error', (error: ServiceError) => {
        result.error = error;
      });
      stream.on('status', () => setImmediate(() => resolve(result)));
    });
  return {
    raw,
    unary: (request, options = {}, metadata = new Metadata()) =>
      new Promise((resolve, reject) =>
        raw.Unary(full(request), metadata, options, (error, reply) =>
          error ? reject(error) : resolve(reply as LabReply),
        ),
      ),
    clientStream: (requests, options = {}, metadata = new Metadata()) =>
      new Promise((resolve, reject) => {
        const call = raw.ClientStream(metadata, options, (error, reply) =>
          error ? reject(error) : resolve(reply as LabReply),
        );
        for (const request of requests) call.write(full(request));
        call.end();
      }),
    serverStream: (request, options = {}, metadata = new Metadata()) =>
      settle(raw.ServerStream(full(request), metadata, options)),
    bidi: (requests, options = {}, metadata = new Metadata()) => {
      const call = raw.Bidi(metadata, options);
      const result = settle(call);
      for (const request of requests) call.write(full(request));
      call.end();
      return result;
    },
    close: () => raw.close(),
  };
}

/** A ServiceError-shaped error for handlers to fail with. */
export function grpcError(code: number, details: string, trailers?: Record<string, string>): Partial<ServiceError> {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(trailers ?? {})) metadata.set(key, value);
  return Object.assign(new Error(details), { code, details, metadata });
}

/** Registers cleanups to run after each test, newest first. */
export function cleanups(): { add<T>(value: T, cleanup: (value: T) => unknown): T; run(): Promise<void> } {
  const steps: (() => unknown)[] = [];
  return {
    add(value, cleanup) {
      steps.push(() => cleanup(value));
      return value;
    },
    async run() {
      for (const step of steps.splice(0).reverse()) await step();
    },
  };
}
