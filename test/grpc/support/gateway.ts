import { type Interceptor, Metadata, propagate, status } from '@grpc/grpc-js';
import { type cleanups, type Lab, labClient, startLab } from './lab';

/** How a call ended. */
export interface Outcome {
  code: number;
  details: string;
}

/**
 * A gateway server whose Unary handler calls `inner` with `parent: call`, through a client with
 * `interceptors`, as a handler propagating its deadline and cancellation does. `child` is that
 * call's outcome; `upstream` is a client of the gateway.
 */
export async function startGateway(
  after: ReturnType<typeof cleanups>,
  inner: string,
  interceptors: Interceptor[],
  flags: number = propagate.DEFAULTS,
): Promise<{ child: Promise<Outcome>; upstream: Lab }> {
  const downstream = after.add(labClient(inner, interceptors), (c) => c.close());
  let report: (outcome: Outcome) => void = () => {};
  const child = new Promise<Outcome>((resolve) => {
    report = resolve;
  });
  const outer = after.add(
    await startLab({
      handlers: {
        Unary: (call, callback) => {
          const options = { parent: call, propagate_flags: flags };
          downstream.raw.Unary({ text: '', count: 0 }, new Metadata(), options, (error, reply) => {
            report({ code: error?.code ?? status.OK, details: error?.details ?? '' });
            callback(error, reply);
          });
        },
      },
    }),
    (s) => s.stop(),
  );
  return { child, upstream: after.add(labClient(outer.address), (c) => c.close()) };
}
