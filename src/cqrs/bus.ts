import { assertOptionsObject, describe } from '../core/assert';
import { PatchbayError } from '../core/errors';

/**
 * A map from message name to its input and result types, the type parameter of
 * `createCommandBus` and `createQueryBus`.
 *
 * @example
 * ```ts
 * type Commands = {
 *   PlaceOrder: { input: { orderId: string; customerId: string }; result: { version: number } };
 * };
 * ```
 */
export type MessageMap = Record<string, { input: unknown; result: unknown }>;

/**
 * What a middleware and a handler see of one command or query. `correlationId` is shared by
 * everything one request causes; `causationId` is the `messageId` of the message that caused this
 * one (undefined for the first). Put both in the metadata of the events a handler appends.
 *
 * @example
 * ```ts
 * const logging: Middleware = async (ctx, next) => {
 *   show(ctx.kind, ctx.name, ctx.correlationId);
 *   return next();
 * };
 * ```
 */
export interface MessageContext<Name extends string = string, Input = unknown> {
  /** `'command'` or `'query'`. */
  readonly kind: 'command' | 'query';
  /** The command or query name. */
  readonly name: Name;
  /** The input given to `execute`. */
  readonly input: Input;
  /** A fresh id for this message. */
  readonly messageId: string;
  /** Shared by every message and event one request leads to. */
  readonly correlationId: string;
  /** The `messageId` of the message that caused this one, if any. */
  readonly causationId: string | undefined;
  /** Free-form data for middleware (the authenticated user, say); starts as `execute`'s `metadata`. */
  readonly metadata: Record<string, unknown>;
}

/**
 * A step of the pipeline around every handler: validation, logging, authorization, retries.
 * Call `next()` to go on (again after it settled, to retry); return or throw to answer without the handler.
 *
 * @example
 * ```ts
 * const authorize: Middleware = (ctx, next) => {
 *   if (!ctx.metadata.userId) throw new Error('unauthenticated');
 *   return next();
 * };
 * ```
 */
export type Middleware = (ctx: MessageContext, next: () => Promise<unknown>) => Promise<unknown>;

/**
 * The handler of one command or query.
 *
 * @example
 * ```ts
 * const placeOrder: Handler<{ orderId: string }, { version: number }> = async (input, ctx) =>
 *   store.append(`order-${input.orderId}`, [{ type: 'OrderPlaced', data: input, metadata: { correlationId: ctx.correlationId } }]);
 * ```
 */
export type Handler<Input, Result> = (
  input: Input,
  ctx: MessageContext<string, Input>,
  // a command with `result: undefined` may have a handler that just returns nothing
) => Promise<Result> | Result | (undefined extends Result ? Promise<void> | void : never);

/**
 * Options of one `execute` call.
 *
 * @example
 * ```ts
 * await commands.execute('PlaceOrder', input, { parent: ctx, metadata: { userId } });
 * ```
 */
export interface ExecuteOptions {
  /** The context of the message that causes this one: its correlation id is kept and its `messageId` becomes the `causationId`. */
  parent?: Pick<MessageContext, 'messageId' | 'correlationId'>;
  /** The correlation id to use (a request id, say) when there is no `parent`. Default: the new `messageId`. */
  correlationId?: string;
  /** The causation id to use when there is no `parent`. */
  causationId?: string;
  /** Initial `ctx.metadata`. */
  metadata?: Record<string, unknown>;
}

/**
 * Options of `createCommandBus` and `createQueryBus`.
 *
 * @example
 * ```ts
 * const options: BusOptions = { middleware: [logging, authorize] };
 * ```
 */
export interface BusOptions {
  /** Middleware, outermost first. More can be added with `use`. */
  middleware?: readonly Middleware[];
  /** Id source for `messageId` (and default correlation ids). Default `crypto.randomUUID`. */
  newId?: () => string;
}

/**
 * A typed command or query bus: exactly one handler per name, every execution through the
 * middleware pipeline.
 *
 * @example
 * ```ts
 * const bus: Bus<Commands> = createCommandBus<Commands>();
 * bus.register('PlaceOrder', placeOrder);
 * const { version } = await bus.execute('PlaceOrder', { orderId: '42', customerId: 'c1' });
 * ```
 */
export interface Bus<Messages extends MessageMap> {
  /**
   * Registers the handler of `name`; returns a function that unregisters it. Throws
   * `ERR_CQRS_HANDLER` when `name` already has one.
   */
  register<Name extends keyof Messages & string>(
    name: Name,
    handler: Handler<Messages[Name]['input'], Messages[Name]['result']>,
  ): () => void;
  /**
   * Runs `name`'s handler through the middleware. Rejects with `ERR_CQRS_HANDLER` when no handler
   * is registered, `ERR_CQRS_INPUT` on a bad name, or with whatever the pipeline throws.
   */
  execute<Name extends keyof Messages & string>(
    name: Name,
    input: Messages[Name]['input'],
    options?: ExecuteOptions,
  ): Promise<Messages[Name]['result']>;
  /** Appends a middleware (innermost so far). */
  use(middleware: Middleware): Bus<Messages>;
}

type Step = (ctx: MessageContext, handler: Handler<unknown, unknown>) => Promise<unknown>;

/** The shared implementation of both buses; `kind` is what `ctx.kind` says. */
export function createBus<Messages extends MessageMap>(kind: 'command' | 'query', options: BusOptions): Bus<Messages> {
  assertOptionsObject(options, `${kind} bus options`, 'ERR_CQRS_OPTIONS');
  const { middleware = [], newId = () => globalThis.crypto.randomUUID() } = options;
  if (!Array.isArray(middleware) || middleware.some((m) => typeof m !== 'function')) {
    throw new PatchbayError(
      'ERR_CQRS_OPTIONS',
      `middleware must be an array of functions, got ${describe(middleware)}`,
    );
  }
  if (typeof newId !== 'function') {
    throw new PatchbayError('ERR_CQRS_OPTIONS', `newId must be a function, got ${describe(newId)}`);
  }
  const handlers = new Map<string, Handler<unknown, unknown>>();
  const stack: Middleware[] = [...middleware];
  // the pipeline is composed once per `use`, not per message, so execute costs one closure per middleware
  let pipeline: Step = compose(stack);

  const bus: Bus<Messages> = {
    register(name, handler) {
      if (typeof name !== 'string' || name.length === 0) {
        throw new PatchbayError('ERR_CQRS_INPUT', `${kind} name must be a non-empty string, got ${describe(name)}`);
      }
      if (typeof handler !== 'function') {
        throw new PatchbayError(
          'ERR_CQRS_INPUT',
          `handler of ${kind} ${name} must be a function, got ${describe(handler)}`,
        );
      }
      if (handlers.has(name)) {
        throw new PatchbayError('ERR_CQRS_HANDLER', `${kind} ${name} already has a handler`);
      }
      const registered = handler as Handler<unknown, unknown>;
      handlers.set(name, registered);
      return () => {
        if (handlers.get(name) === registered) handlers.delete(name);
      };
    },
    execute(name, input, executeOptions) {
      if (typeof name !== 'string' || name.length === 0) {
        return Promise.reject(
          new PatchbayError('ERR_CQRS_INPUT', `${kind} name must be a non-empty string, got ${describe(name)}`),
        );
      }
      const handler = handlers.get(name);
      if (handler === undefined) {
        return Promise.reject(new PatchbayError('ERR_CQRS_HANDLER', `no handler registered for ${kind} ${name}`));
      }
      const refused = executeOptions === undefined ? undefined : badExecuteOptions(executeOptions);
      if (refused) return Promise.reject(refused);
      let messageId: string;
      try {
        messageId = newId();
      } catch (error) {
        // the caller awaits execute(): a throwing id source must reach it as a rejection too
        return Promise.reject(error);
      }
      const parent = executeOptions?.parent;
      const ctx: MessageContext = {
        kind,
        name,
        input,
        messageId,
        correlationId: parent?.correlationId ?? executeOptions?.correlationId ?? messageId,
        causationId: parent?.messageId ?? executeOptions?.causationId,
        metadata: { ...executeOptions?.metadata },
      };
      return pipeline(ctx, handler) as Promise<Messages[typeof name]['result']>;
    },
    use(next) {
      if (typeof next !== 'function') {
        throw new PatchbayError('ERR_CQRS_INPUT', `middleware must be a function, got ${describe(next)}`);
      }
      stack.push(next);
      pipeline = compose(stack);
      return bus;
    },
  };
  return bus;
}

function compose(stack: readonly Middleware[]): Step {
  const middleware = [...stack];
  return (ctx, handler) => {
    const dispatch = (index: number): Promise<unknown> => {
      const current = middleware[index];
      try {
        if (current === undefined) return Promise.resolve(handler(ctx.input, ctx));
        let running = false;
        const settled = (): void => {
          running = false;
        };
        // a plain (non-async) middleware may answer with a bare value; the next one out calls .then on it
        return Promise.resolve(
          current(ctx, () => {
            // a retry may call next() again once the last call settled; two at once would run the
            // handler twice concurrently, and a duplicated command is worse than an error
            if (running) {
              return Promise.reject(
                new PatchbayError(
                  'ERR_CQRS_HANDLER',
                  `middleware ${index} called next() while its last call was running`,
                ),
              );
            }
            running = true;
            const result = dispatch(index + 1);
            result.then(settled, settled);
            return result;
          }),
        );
      } catch (error) {
        // a synchronous throw becomes a rejection, so `next().catch()` works in every middleware
        return Promise.reject(error);
      }
    };
    return dispatch(0);
  };
}

const isId = (value: unknown): boolean => typeof value === 'string' && value.length > 0;

/**
 * Why `execute`'s options are unusable, or undefined: ids that are not strings would end up in
 * every event's metadata, and a parent without ids would silently start a new correlation.
 */
function badExecuteOptions(options: ExecuteOptions): PatchbayError | undefined {
  const fail = (what: string, value: unknown) =>
    new PatchbayError('ERR_CQRS_INPUT', `execute options ${what}, got ${describe(value)}`);
  if (typeof options !== 'object' || options === null) return fail('must be an object', options);
  const { parent, correlationId, causationId, metadata } = options;
  if (parent !== undefined && !(isId(parent?.messageId) && isId(parent?.correlationId))) {
    return fail('parent must be a message context with messageId and correlationId', parent);
  }
  if (correlationId !== undefined && !isId(correlationId)) {
    return fail('correlationId must be a non-empty string', correlationId);
  }
  if (causationId !== undefined && !isId(causationId))
    return fail('causationId must be a non-empty string', causationId);
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
    return fail('metadata must be an object', metadata);
  }
  return undefined;
}
