import { describe, expect, it } from 'vitest';
import {
  createWebhookSigner,
  createWebhookVerifier,
  PatchbayError,
  type Scheme,
  type WebhookHeaders,
  WebhookVerificationError,
} from '../../src/webhooks/index';

const NOW = 1_700_000_000;
const clock = { now: () => NOW * 1000 };
const secrets: Record<Scheme, string> = {
  standard: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  stripe: 'whsec_stripe_secret_for_tests',
  github: 'github secret for tests',
};
const body = '{"id":"evt_1","type":"thing.happened"}';

function signed(scheme: Scheme, options: { timestamp?: number; secret?: string; body?: string } = {}) {
  const signer = createWebhookSigner({ scheme, secret: options.secret ?? secrets[scheme], clock });
  return signer.sign({ id: 'msg_1', timestamp: options.timestamp ?? NOW, body: options.body ?? body });
}

function verifier(scheme: Scheme, secret: string | string[] = secrets[scheme]) {
  return createWebhookVerifier({ scheme, secret, clock });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PatchbayError);
    return (error as PatchbayError).code;
  }
  return undefined;
}

const schemes: Scheme[] = ['standard', 'stripe', 'github'];

describe.each(schemes)('%s scheme', (scheme) => {
  it('accepts an authentic delivery, with headers in any case and as a fetch Headers', () => {
    const headers = signed(scheme);
    expect(verifier(scheme).verify(body, headers).payload).toEqual(JSON.parse(body));
    const upper = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]));
    expect(verifier(scheme).verify(body, upper).rawBody).toBe(body);
    expect(verifier(scheme).verify(Buffer.from(body), new Headers(headers)).rawBody).toBe(body);
  });

  it('rejects a tampered body with ERR_WEBHOOK_SIGNATURE', () => {
    const headers = signed(scheme);
    expect(codeOf(() => verifier(scheme).verify(body.replace('evt_1', 'evt_2'), headers))).toBe(
      'ERR_WEBHOOK_SIGNATURE',
    );
    expect(codeOf(() => verifier(scheme).verify(`${body} `, headers))).toBe('ERR_WEBHOOK_SIGNATURE');
  });

  it('rejects a signature made with another secret', () => {
    const headers = signed(scheme, { secret: scheme === 'standard' ? 'whsec_b3RoZXItc2VjcmV0LWtleQ==' : 'other' });
    const error = (() => {
      try {
        verifier(scheme).verify(body, headers);
      } catch (caught) {
        return caught as WebhookVerificationError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect(error?.code).toBe('ERR_WEBHOOK_SIGNATURE');
    expect(error?.message).not.toContain(secrets[scheme]);
  });

  it('accepts any secret of a rotation, and none outside it', () => {
    const old = signed(scheme);
    const rotated = [
      scheme === 'standard' ? 'whsec_bmV3LXNlY3JldC1hZnRlci1yb3RhdGlvbg==' : 'new secret',
      secrets[scheme],
    ];
    expect(verifier(scheme, rotated).verify(body, old).rawBody).toBe(body);
    expect(codeOf(() => verifier(scheme, [rotated[0] as string]).verify(body, old))).toBe('ERR_WEBHOOK_SIGNATURE');
  });

  it('refuses a parsed body with ERR_WEBHOOK_PAYLOAD and says to pass the raw body', () => {
    const headers = signed(scheme);
    expect(() => verifier(scheme).verify(JSON.parse(body), headers)).toThrow(/raw request body/);
    expect(codeOf(() => verifier(scheme).verify(JSON.parse(body), headers))).toBe('ERR_WEBHOOK_PAYLOAD');
    expect(codeOf(() => verifier(scheme).verify(null as unknown as string, headers))).toBe('ERR_WEBHOOK_PAYLOAD');
  });

  it('reports a body that is authentic but not JSON when the payload is read', () => {
    const event = verifier(scheme).verify('not json', signed(scheme, { body: 'not json' }));
    expect(event.rawBody).toBe('not json');
    expect(codeOf(() => event.payload)).toBe('ERR_WEBHOOK_PAYLOAD');
  });

  it('never crashes on malformed headers: missing, empty, garbage, huge, wrong types', () => {
    const good = signed(scheme);
    const name = Object.keys(good).find((key) => key !== 'webhook-id' && key !== 'x-github-delivery') as string;
    const cases: WebhookHeaders[] = [
      {},
      { ...good, [name]: '' },
      { ...good, [name]: '   ' },
      { ...good, [name]: 'garbage' },
      { ...good, [name]: ',,,,=,=,v1,' },
      { ...good, [name]: 'x'.repeat(100_000) },
      { ...good, [name]: `${good[name]} `.repeat(1_000) },
      { ...good, [name]: 42 as unknown as string },
      { ...good, [name]: [1, 2] as unknown as string[] },
    ];
    for (const headers of cases) {
      expect(['ERR_WEBHOOK_HEADERS', 'ERR_WEBHOOK_SIGNATURE', 'ERR_WEBHOOK_TIMESTAMP']).toContain(
        codeOf(() => verifier(scheme).verify(body, headers)),
      );
    }
    expect(codeOf(() => verifier(scheme).verify(body, {}))).toBe('ERR_WEBHOOK_HEADERS');
    expect(codeOf(() => verifier(scheme).verify(body, null as unknown as WebhookHeaders))).toBe('ERR_WEBHOOK_HEADERS');
    expect(codeOf(() => verifier(scheme).verify(body, { ...good, [name]: 'x'.repeat(100_000) }))).toBe(
      'ERR_WEBHOOK_HEADERS',
    );
  });

  it('accepts a repeated signature header when one of its values is authentic', () => {
    const good = signed(scheme);
    const name = Object.keys(good).find((key) => key.includes('signature')) as string;
    const forged = signed(scheme, { body: 'forged' })[name] as string;
    const headers = { ...good, [name]: [forged, good[name] as string] };
    expect(verifier(scheme).verify(body, headers).rawBody).toBe(body);
    expect(codeOf(() => verifier(scheme).verify(body, { ...good, [name]: [forged, forged] }))).toBe(
      'ERR_WEBHOOK_SIGNATURE',
    );
  });
});

describe.each(['standard', 'stripe'] as const)('%s timestamps', (scheme) => {
  it('accepts timestamps up to the tolerance in both directions', () => {
    expect(
      verifier(scheme)
        .verify(body, signed(scheme, { timestamp: NOW - 300 }))
        .timestamp?.getTime(),
    ).toBe((NOW - 300) * 1000);
    expect(verifier(scheme).verify(body, signed(scheme, { timestamp: NOW + 300 })).rawBody).toBe(body);
  });

  it('rejects old and future-dated timestamps beyond the tolerance', () => {
    expect(codeOf(() => verifier(scheme).verify(body, signed(scheme, { timestamp: NOW - 301 })))).toBe(
      'ERR_WEBHOOK_TIMESTAMP',
    );
    expect(codeOf(() => verifier(scheme).verify(body, signed(scheme, { timestamp: NOW + 301 })))).toBe(
      'ERR_WEBHOOK_TIMESTAMP',
    );
    const strict = createWebhookVerifier({ scheme, secret: secrets[scheme], clock, toleranceSeconds: 5 });
    expect(codeOf(() => strict.verify(body, signed(scheme, { timestamp: NOW + 6 })))).toBe('ERR_WEBHOOK_TIMESTAMP');
  });

  it('rejects timestamps that are not whole seconds, even when they are signed', () => {
    for (const text of ['1700000000abc', '1700000000.5', '-1700000000', '1e9', ' 1700000000', '0x6553F100', '']) {
      const headers =
        scheme === 'standard'
          ? { ...signed(scheme), 'webhook-timestamp': text }
          : { 'stripe-signature': (signed(scheme)['stripe-signature'] as string).replace(/^t=\d+/, `t=${text}`) };
      expect(['ERR_WEBHOOK_TIMESTAMP', 'ERR_WEBHOOK_HEADERS']).toContain(
        codeOf(() => verifier(scheme).verify(body, headers)),
      );
    }
    const headers = { ...signed('standard'), 'webhook-timestamp': '1700000000abc' };
    expect(codeOf(() => verifier('standard').verify(body, headers))).toBe('ERR_WEBHOOK_TIMESTAMP');
  });
});

describe('scheme-specific header rules', () => {
  it('standard: a repeated webhook-id or webhook-timestamp with different values is refused', () => {
    const good = signed('standard');
    expect(codeOf(() => verifier('standard').verify(body, { ...good, 'webhook-id': ['msg_1', 'msg_2'] }))).toBe(
      'ERR_WEBHOOK_HEADERS',
    );
    expect(
      codeOf(() => verifier('standard').verify(body, { ...good, 'webhook-timestamp': [String(NOW), String(NOW + 1)] })),
    ).toBe('ERR_WEBHOOK_HEADERS');
    expect(verifier('standard').verify(body, { ...good, 'webhook-id': ['msg_1', 'msg_1'] }).id).toBe('msg_1');
  });

  it('standard: a signed id is part of the signature', () => {
    expect(codeOf(() => verifier('standard').verify(body, { ...signed('standard'), 'webhook-id': 'msg_2' }))).toBe(
      'ERR_WEBHOOK_SIGNATURE',
    );
  });

  it('stripe: two different t= values are refused; v0 entries are ignored', () => {
    const header = signed('stripe')['stripe-signature'] as string;
    expect(codeOf(() => verifier('stripe').verify(body, { 'stripe-signature': `${header},t=1` }))).toBe(
      'ERR_WEBHOOK_HEADERS',
    );
    expect(verifier('stripe').verify(body, { 'stripe-signature': `${header},v0=abc` }).rawBody).toBe(body);
  });

  it('only canonical lower-case hex and padded base64 signatures match', () => {
    const github = signed('github')['x-hub-signature-256'] as string;
    const upper = `sha256=${github.slice('sha256='.length).toUpperCase()}`;
    expect(codeOf(() => verifier('github').verify(body, { 'x-hub-signature-256': upper }))).toBe(
      'ERR_WEBHOOK_SIGNATURE',
    );
    const standard = signed('standard');
    const unpadded = (standard['webhook-signature'] as string).replace(/=$/, '');
    expect(codeOf(() => verifier('standard').verify(body, { ...standard, 'webhook-signature': unpadded }))).toBe(
      'ERR_WEBHOOK_SIGNATURE',
    );
  });
});

describe('options', () => {
  it('rejects bad options with ERR_WEBHOOK_OPTIONS, never echoing a secret', () => {
    const bad: unknown[] = [
      undefined,
      { scheme: 'svix', secret: 'x' },
      { scheme: 'standard', secret: '' },
      { scheme: 'standard', secret: [] },
      { scheme: 'standard', secret: 'whsec_not base64!' },
      { scheme: 'stripe', secret: ['ok', 7] },
      { scheme: 'stripe', secret: 'ok', toleranceSeconds: -1 },
      { scheme: 'stripe', secret: 'ok', toleranceSeconds: Number.NaN },
      { scheme: 'stripe', secret: 'ok', clock: {} },
    ];
    for (const options of bad) {
      expect(codeOf(() => createWebhookVerifier(options as never))).toBe('ERR_WEBHOOK_OPTIONS');
    }
    expect(() => createWebhookVerifier({ scheme: 'standard', secret: 'whsec_not base64!' })).not.toThrow(/not base64/);
    expect(codeOf(() => createWebhookSigner({ scheme: 'github', secret: ['a', 'b'] }))).toBe('ERR_WEBHOOK_OPTIONS');
    for (const clock of ['x', {}]) {
      expect(codeOf(() => createWebhookSigner({ scheme: 'standard', secret: 'ok', clock: clock as never }))).toBe(
        'ERR_WEBHOOK_OPTIONS',
      );
    }
  });

  it('signer rejects a body that is not a string or bytes, and bad ids and timestamps, with ERR_WEBHOOK_INPUT', () => {
    const signer = createWebhookSigner({ scheme: 'standard', secret: secrets.standard });
    expect(codeOf(() => signer.sign({ body: { a: 1 } as unknown as string }))).toBe('ERR_WEBHOOK_INPUT');
    expect(codeOf(() => signer.sign({ body, id: 'has space' }))).toBe('ERR_WEBHOOK_INPUT');
    expect(codeOf(() => signer.sign({ body, timestamp: 1.5 }))).toBe('ERR_WEBHOOK_INPUT');
    expect(codeOf(() => signer.sign({ body, timestamp: new Date(Number.NaN) }))).toBe('ERR_WEBHOOK_INPUT');
    expect(signer.sign({ body })['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
  });
});

describe('verified events', () => {
  it('serialise to what they hold and hand out a fresh Date each time', () => {
    const event = verifier('standard').verify(body, signed('standard'));
    expect(JSON.parse(JSON.stringify(event))).toEqual({
      id: 'msg_1',
      timestamp: new Date(NOW * 1000).toISOString(),
      payload: JSON.parse(body),
      rawBody: body,
    });
    const first = event.timestamp as Date;
    first.setFullYear(2000);
    expect(event.timestamp?.getTime()).toBe(NOW * 1000);
  });

  it('decode a bytes body as UTF-8 text, byte-exact with what was signed', () => {
    const text = '{"name":"Zoë ☃ 🚀"}';
    const bytes = new TextEncoder().encode(text);
    const headers = createWebhookSigner({ scheme: 'github', secret: secrets.github }).sign({ body: bytes });
    const event = verifier('github').verify(bytes.subarray(0), headers);
    expect(event.rawBody).toBe(text);
    expect(event.payload).toEqual({ name: 'Zoë ☃ 🚀' });
  });
});

describe('repeated headers as node:http joins them', () => {
  it('standard: "sig1, sig2" from two webhook-signature headers verifies with either one authentic', () => {
    const good = signed('standard');
    const forged = signed('standard', { body: 'forged' })['webhook-signature'];
    for (const joined of [`${good['webhook-signature']}, ${forged}`, `${forged}, ${good['webhook-signature']}`]) {
      expect(verifier('standard').verify(body, { ...good, 'webhook-signature': joined }).id).toBe('msg_1');
    }
  });

  it('a joined webhook-id is a different id and fails the signature', () => {
    const good = signed('standard');
    expect(codeOf(() => verifier('standard').verify(body, { ...good, 'webhook-id': 'msg_1, msg_1' }))).toBe(
      'ERR_WEBHOOK_SIGNATURE',
    );
  });
});

describe('hostile signature headers', () => {
  it('standard: commas, spaces and truncated entries in any arrangement end in an error, never a hang', () => {
    const good = signed('standard');
    const shapes = [
      ',',
      ', ',
      ' ,',
      ',,',
      'v1,',
      'v1, ',
      ' v1,,',
      'v1,,,',
      `${'v1, '.repeat(500)}`,
      `${', '.repeat(2_000)}`,
    ];
    for (const value of shapes) {
      expect(['ERR_WEBHOOK_HEADERS', 'ERR_WEBHOOK_SIGNATURE']).toContain(
        codeOf(() => verifier('standard').verify(body, { ...good, 'webhook-signature': value })),
      );
    }
  });
});
