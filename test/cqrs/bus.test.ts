import { describe, expect, expectTypeOf, it } from 'vitest';
import { PatchbayError } from '../../src/core/errors';
import type { MessageContext, Middleware } from '../../src/cqrs/bus';
import { createCommandBus } from '../../src/cqrs/command-bus';
import { ConcurrencyError } from '../../src/cqrs/errors';
import { createQueryBus } from '../../src/cqrs/query-bus';
import { retryOnConcurrency } from '../../src/cqrs/retry-on-concurrency';

type Commands = {
  PlaceOrder: { input: { orderId: string; total: number }; result: { version: number } };
  CancelOrder: { input: { orderId: string }; result: undefined };
};

describe('command bus', () => {
  it('runs the one registered handler with the typed input and returns its typed result', async () => {
    const bus = createCommandBus<Commands>();
    bus.register('PlaceOrder', async (input) => ({ version: input.total }));
    const result = await bus.execute('PlaceOrder', { orderId: '1', total: 3 });
    expect(result).toEqual({ version: 3 });
    expectTypeOf(result).toEqualTypeOf<{ version: number }>();
    // @ts-expect-error: the input of PlaceOrder needs total
    await expect(bus.execute('PlaceOrder', { orderId: '1' })).resolves.toBeDefined();
    // @ts-expect-error: no such command
    await expect(bus.execute('Nope', {})).rejects.toMatchObject({ code: 'ERR_CQRS_HANDLER' });
  });

  it('refuses a second handler for one name, and an unknown name, with ERR_CQRS_HANDLER', async () => {
    const bus = createCommandBus<Commands>();
    bus.register('CancelOrder', () => undefined);
    expect(() => bus.register('CancelOrder', () => undefined)).toThrow(
      expect.objectContaining({ code: 'ERR_CQRS_HANDLER', message: expect.stringContaining('already has a handler') }),
    );
    const error = await bus.execute('PlaceOrder', { orderId: '1', total: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PatchbayError);
    expect(error).toMatchObject({ code: 'ERR_CQRS_HANDLER', message: expect.stringContaining('PlaceOrder') });
  });

  it('unregisters, after which the name can be registered again', async () => {
    const bus = createCommandBus<Commands>();
    const off = bus.register('CancelOrder', () => undefined);
    off();
    await expect(bus.execute('CancelOrder', { orderId: '1' })).rejects.toMatchObject({ code: 'ERR_CQRS_HANDLER' });
    bus.register('CancelOrder', () => undefined);
    await expect(bus.execute('CancelOrder', { orderId: '1' })).resolves.toBeUndefined();
  });

  it('rejects bad names, handlers and options with ERR_CQRS_INPUT / ERR_CQRS_OPTIONS at the call', async () => {
    const bus = createCommandBus<Commands>();
    expect(() => bus.register('' as 'PlaceOrder', async () => ({ version: 1 }))).toThrow(
      expect.objectContaining({ code: 'ERR_CQRS_INPUT' }),
    );
    expect(() => bus.register('PlaceOrder', 'nope' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_CQRS_INPUT' }),
    );
    await expect(bus.execute(42 as never, {} as never)).rejects.toMatchObject({ code: 'ERR_CQRS_INPUT' });
    expect(() => bus.use('nope' as never)).toThrow(expect.objectContaining({ code: 'ERR_CQRS_INPUT' }));
    expect(() => createCommandBus({ middleware: ['x' as never] })).toThrow(
      expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }),
    );
    for (const options of [null, 'x']) {
      expect(() => createCommandBus(options as never)).toThrow(expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }));
    }
  });

  it.each([
    ['options not an object', 'x'],
    ['a correlationId that is not a string', { correlationId: 42 }],
    ['an empty causationId', { causationId: '' }],
    ['metadata that is not an object', { metadata: 'admin' }],
    ['a parent without ids', { parent: {} }],
  ])('refuses execute options with %s, with ERR_CQRS_INPUT and without running the handler', async (_, options) => {
    const bus = createCommandBus<Commands>();
    let ran = 0;
    bus.register('PlaceOrder', async () => {
      ran++;
      return { version: 1 };
    });
    await expect(
      bus.execute('PlaceOrder', { orderId: '1', customerId: 'c', total: 1 } as never, options as never),
    ).rejects.toMatchObject({ code: 'ERR_CQRS_INPUT' });
    expect(ran).toBe(0);
  });

  it('runs middleware outermost first around the handler, in options order then use order', async () => {
    const trace: string[] = [];
    const step =
      (name: string): Middleware =>
      async (_ctx, next) => {
        trace.push(`${name}>`);
        const result = await next();
        trace.push(`<${name}`);
        return result;
      };
    const bus = createCommandBus<Commands>({ middleware: [step('a'), step('b')] }).use(step('c'));
    bus.register('CancelOrder', () => {
      trace.push('handler');
    });
    await bus.execute('CancelOrder', { orderId: '1' });
    expect(trace).toEqual(['a>', 'b>', 'c>', 'handler', '<c', '<b', '<a']);
  });

  it('lets a middleware answer without the handler (authorization) and turns sync throws into rejections', async () => {
    const bus = createCommandBus<Commands>({
      middleware: [
        (ctx, next) => {
          if (ctx.metadata.user !== 'admin') throw new Error('forbidden');
          return next();
        },
      ],
    });
    let ran = 0;
    bus.register('CancelOrder', () => {
      ran++;
    });
    const pending = bus.execute('CancelOrder', { orderId: '1' });
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).rejects.toThrow('forbidden');
    await bus.execute('CancelOrder', { orderId: '1' }, { metadata: { user: 'admin' } });
    expect(ran).toBe(1);

    const throwing = createCommandBus<Commands>();
    throwing.register('CancelOrder', () => {
      throw new Error('sync boom');
    });
    await expect(throwing.execute('CancelOrder', { orderId: '1' })).rejects.toThrow('sync boom');
  });

  it('takes a bare value from a plain (non-async) middleware as its answer, inside other middleware too', async () => {
    type Queries = { Price: { input: { cached: boolean }; result: string } };
    // JavaScript callers are not held to the Promise return type
    const cache = ((ctx: MessageContext<string, { cached: boolean }>, next: () => Promise<unknown>) =>
      ctx.input.cached ? 'from cache' : next()) as unknown as Middleware;
    const seen: unknown[] = [];
    const log: Middleware = async (_ctx, next) => {
      const result = await next();
      seen.push(result);
      return result;
    };
    const bus = createCommandBus<Queries>({ middleware: [log, cache] });
    bus.register('Price', async () => 'from handler');
    await expect(bus.execute('Price', { cached: true })).resolves.toBe('from cache');
    await expect(bus.execute('Price', { cached: false })).resolves.toBe('from handler');
    expect(seen).toEqual(['from cache', 'from handler']);

    const alone = createCommandBus<Queries>({ middleware: [cache] });
    alone.register('Price', async () => 'from handler');
    const pending = alone.execute('Price', { cached: true });
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).resolves.toBe('from cache');
  });

  it('rejects, rather than throws, when the newId option throws', async () => {
    const bus = createCommandBus<Commands>({
      newId: () => {
        throw new Error('id source down');
      },
    });
    bus.register('CancelOrder', () => undefined);
    let pending: Promise<unknown> | undefined;
    expect(() => {
      pending = bus.execute('CancelOrder', { orderId: '1' });
    }).not.toThrow();
    await expect(pending).rejects.toThrow('id source down');
  });

  it('carries correlation and causation ids: fresh, given, or inherited from a parent message', async () => {
    const seen: MessageContext[] = [];
    let id = 0;
    const bus = createCommandBus<Commands>({ newId: () => `m${++id}` });
    bus.register('CancelOrder', (_input, ctx) => {
      seen.push(ctx);
    });
    bus.register('PlaceOrder', async (input, ctx) => {
      seen.push(ctx);
      await bus.execute('CancelOrder', { orderId: input.orderId }, { parent: ctx });
      return { version: 1 };
    });
    await bus.execute('PlaceOrder', { orderId: '1', total: 1 }, { correlationId: 'req-7' });
    await bus.execute('CancelOrder', { orderId: '2' });
    expect(
      seen.map(({ name, messageId, correlationId, causationId, kind }) => ({
        name,
        messageId,
        correlationId,
        causationId,
        kind,
      })),
    ).toEqual([
      { name: 'PlaceOrder', messageId: 'm1', correlationId: 'req-7', causationId: undefined, kind: 'command' },
      { name: 'CancelOrder', messageId: 'm2', correlationId: 'req-7', causationId: 'm1', kind: 'command' },
      { name: 'CancelOrder', messageId: 'm3', correlationId: 'm3', causationId: undefined, kind: 'command' },
    ]);
  });

  it('refuses a second next() while the first is still running, so a handler never runs twice at once', async () => {
    let runs = 0;
    const bus = createCommandBus<Commands>({
      middleware: [(_ctx, next) => Promise.all([next(), next()])],
    });
    bus.register('CancelOrder', async () => {
      runs++;
    });
    await expect(bus.execute('CancelOrder', { orderId: '1' })).rejects.toMatchObject({ code: 'ERR_CQRS_HANDLER' });
    expect(runs).toBe(1);
  });

  it('retryOnConcurrency re-runs the pipeline on ConcurrencyError only, up to attempts', async () => {
    const bus = createCommandBus<Commands>({
      middleware: [retryOnConcurrency({ attempts: 3, backoff: { initialMs: 1 } })],
    });
    let tries = 0;
    bus.register('PlaceOrder', async () => {
      tries++;
      if (tries < 3) throw new ConcurrencyError('order-1', 0, 1);
      return { version: tries };
    });
    await expect(bus.execute('PlaceOrder', { orderId: '1', total: 1 })).resolves.toEqual({ version: 3 });

    tries = 0;
    const always = createCommandBus<Commands>({
      middleware: [retryOnConcurrency({ attempts: 2, backoff: { initialMs: 1 } })],
    });
    always.register('PlaceOrder', async () => {
      tries++;
      throw new ConcurrencyError('order-1', 0, 1);
    });
    await expect(always.execute('PlaceOrder', { orderId: '1', total: 1 })).rejects.toBeInstanceOf(ConcurrencyError);
    expect(tries).toBe(2);

    tries = 0;
    const other = createCommandBus<Commands>({ middleware: [retryOnConcurrency()] });
    other.register('CancelOrder', async () => {
      tries++;
      throw new Error('not a conflict');
    });
    await expect(other.execute('CancelOrder', { orderId: '1' })).rejects.toThrow('not a conflict');
    expect(tries).toBe(1);
    expect(() => retryOnConcurrency({ attempts: 0 })).toThrow(expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }));
  });

  it('retryOnConcurrency refuses null or non-object options with ERR_CQRS_OPTIONS, and takes none as the defaults', () => {
    for (const options of [null, 'x', 3]) {
      expect(() => retryOnConcurrency(options as never)).toThrow(expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }));
    }
    expect(() => retryOnConcurrency()).not.toThrow();
  });
});

describe('query bus', () => {
  type Queries = { OrdersByCustomer: { input: { customerId: string }; result: string[] } };

  it('has the same shape and rules, with kind "query"', async () => {
    const bus = createQueryBus<Queries>();
    let kind = '';
    bus.register('OrdersByCustomer', ({ customerId }, ctx) => {
      kind = ctx.kind;
      return [`${customerId}:1`];
    });
    const result = await bus.execute('OrdersByCustomer', { customerId: 'c1' });
    expectTypeOf(result).toEqualTypeOf<string[]>();
    expect(result).toEqual(['c1:1']);
    expect(kind).toBe('query');
    expect(() => bus.register('OrdersByCustomer', () => [])).toThrow(
      expect.objectContaining({ code: 'ERR_CQRS_HANDLER' }),
    );
  });
});
