import type { Interceptor, InterceptorOptions, StatusObject } from '@grpc/grpc-js';
import { assertBoolean } from '../../core/assert';
import { notify } from '../../core/notify';
import { assertFunction, assertOptions, OPTIONS_CODE } from '../options';
import { callType, codeName, type GrpcCallType } from '../status';
import { ForwardingCall, type InterceptingCallInterface, type MessageContext } from './forwarding';

/**
 * What {@link metricsInterceptor} reports for each finished call.
 *
 * @example
 * ```ts
 * const metric: CallMetrics = {
 *   method: '/orders.v1.Orders/Get', type: 'unary', code: 0, status: 'OK', durationMs: 2.1,
 *   requestMessages: 1, responseMessages: 1, requestBytes: 12, responseBytes: undefined,
 * };
 * ```
 */
export interface CallMetrics {
  /** The full method path, `/package.Service/Method`. */
  method: string;
  type: GrpcCallType;
  /** The status code the call ended with. */
  code: number;
  /** The status code's name: `OK`, `UNAVAILABLE`, ... */
  status: string;
  /** From the start of the call to its status, in ms (`performance.now()` resolution). */
  durationMs: number;
  /** Messages sent. */
  requestMessages: number;
  /** Messages received. */
  responseMessages: number;
  /** Serialized size of the messages sent, before compression; undefined when `sizes` is off. */
  requestBytes: number | undefined;
  /**
   * Size of the messages received: their byte length when they are bytes, or what `responseSize`
   * says; undefined otherwise (grpc-js hands interceptors decoded messages only).
   */
  responseBytes: number | undefined;
}

/**
 * Options of {@link metricsInterceptor}.
 *
 * @example
 * ```ts
 * const options: MetricsInterceptorOptions = {
 *   onCall: (m) => histogram.observe({ method: m.method, code: m.status }, m.durationMs / 1000),
 * };
 * ```
 */
export interface MetricsInterceptorOptions {
  /**
   * Called once per finished call. Keep it cheap: it runs on the call's completion path. What it
   * throws is dropped.
   */
  onCall: (metrics: CallMetrics) => void;
  /** Measure message sizes: a boolean (`'false'` is refused). Default true; request sizes cost one extra serialization a message. */
  sizes?: boolean;
  /** The size of a received message that is not bytes, e.g. `(m) => Order.encode(m).finish().length`. */
  responseSize?: (message: unknown) => number;
}

/**
 * A client interceptor that reports each finished call (any call type) to `onCall`: method,
 * call type, status code, duration, message counts and sizes. Feed it to Prometheus,
 * OpenTelemetry or StatsD. First in the chain, it measures what the caller experienced
 * (all retries included); after {@link retryInterceptor}, each attempt.
 *
 * `onCall` runs once the caller has the status. What it (or `responseSize`) throws is dropped:
 * grpc-js runs interceptors inside its own callbacks, where an exception is uncaught and would end
 * the process. A `responseSize` that throws leaves the call's `responseBytes` undefined.
 *
 * @example
 * ```ts
 * const client = new OrdersClient(address, credentials.createInsecure(), {
 *   interceptors: [
 *     metricsInterceptor({
 *       onCall: ({ method, status, durationMs }) => rpcDuration.record(durationMs, { method, status }),
 *     }),
 *   ],
 * });
 * ```
 */
export function metricsInterceptor(options: MetricsInterceptorOptions): Interceptor {
  assertOptions(options, 'metricsInterceptor');
  const { onCall, sizes = true, responseSize } = options;
  assertFunction(onCall, 'metricsInterceptor onCall');
  assertFunction(responseSize, 'metricsInterceptor responseSize', { optional: true });
  assertBoolean(sizes, 'metricsInterceptor sizes', OPTIONS_CODE);
  const settings: Settings = { onCall, sizes, responseSize };
  return (callOptions, nextCall) =>
    new MeasuredCall(nextCall(callOptions), callOptions.method_definition, settings).asCall();
}

interface Settings {
  onCall: (metrics: CallMetrics) => void;
  sizes: boolean;
  responseSize: ((message: unknown) => number) | undefined;
}

/** One call's layer: counts and sizes messages, reports the status. */
class MeasuredCall extends ForwardingCall {
  private readonly definition: InterceptorOptions['method_definition'];
  private readonly settings: Settings;
  private readonly started = performance.now();
  private requestMessages = 0;
  private responseMessages = 0;
  private requestBytes: number | undefined;
  private responseBytes: number | undefined;

  constructor(
    next: InterceptingCallInterface,
    definition: InterceptorOptions['method_definition'],
    settings: Settings,
  ) {
    super(next);
    this.definition = definition;
    this.settings = settings;
    this.requestBytes = settings.sizes ? 0 : undefined;
    this.responseBytes = settings.sizes ? 0 : undefined;
  }

  override onReceiveMessage(message: unknown): void {
    // grpc-js reports a unary call without a response as a null message.
    if (message !== null) {
      this.responseMessages++;
      if (this.responseBytes !== undefined) this.responseBytes = this.measure(this.responseBytes, message);
    }
    this.listener?.onReceiveMessage?.(message);
  }

  override onReceiveStatus(status: StatusObject): void {
    const metrics: CallMetrics = {
      method: this.definition.path,
      type: callType(this.definition),
      code: status.code,
      status: codeName(status.code),
      durationMs: performance.now() - this.started,
      requestMessages: this.requestMessages,
      responseMessages: this.responseMessages,
      requestBytes: this.requestBytes,
      responseBytes: this.responseBytes,
    };
    // The caller gets its status first, then the hook, whatever it does.
    this.listener?.onReceiveStatus?.(status);
    notify(this.settings.onCall, metrics);
  }

  /** `total` plus the size of `message`; undefined once a size is unknown, or `responseSize` throws. */
  private measure(total: number, message: unknown): number | undefined {
    const { responseSize } = this.settings;
    if (responseSize === undefined) {
      const size = byteLength(message);
      return size === undefined ? undefined : total + size;
    }
    try {
      return total + responseSize(message);
    } catch {
      // as a throwing onCall: the caller still gets its message, the metric just lacks the size
      return undefined;
    }
  }

  override sendMessageWithContext(context: MessageContext, message: unknown): void {
    this.requestMessages++;
    if (this.requestBytes !== undefined) {
      try {
        this.requestBytes += this.definition.requestSerialize(message).length;
      } catch {
        // grpc-js serializes it again below and fails the call with INTERNAL, as it would without us
        this.requestBytes = undefined;
      }
    }
    this.next.sendMessageWithContext(context, message);
  }
}

function byteLength(message: unknown): number | undefined {
  if (message instanceof Uint8Array) return message.byteLength;
  return typeof message === 'string' ? Buffer.byteLength(message) : undefined;
}
