import { assertNumber, describe } from '../../core/assert';
import { PatchbayError } from '../../core/errors';
import type { AppendOptions, NewEvent, ReadAllOptions, ReadStreamOptions } from './types';

/** An event checked and serialized once, ready for either store. */
export interface PreparedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
}

const INPUT = 'ERR_CQRS_INPUT';

// matches only a surrogate without its other half: with the u flag, a pair is one code point
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Refuses what is not a non-empty, well-formed string. Redis gets strings as UTF-8, where a lone
 * surrogate becomes U+FFFD: two ids or stream ids that differ only there (an emoji cut in half by
 * `slice`) would become one, and the second append would pass for a repeat and be skipped.
 */
function assertKeyString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new PatchbayError(INPUT, `${name} must be a non-empty string, got ${describe(value)}`);
  }
  if (LONE_SURROGATE.test(value)) {
    throw new PatchbayError(
      INPUT,
      `${name} must be well-formed Unicode (it holds a lone surrogate), got ${describe(value)}`,
    );
  }
}

/**
 * Refuses what is not a whole number from 0 to 2^53 - 1. Past that a number names no single
 * position or version, and from 1e21 on it prints as `1e+21`, no stream id to Redis: the Redis
 * store's reads would fail with ERR_CQRS_STORE where the memory store's read nothing.
 */
function assertPositionOrVersion(value: unknown, name: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new PatchbayError(
      INPUT,
      `${name} must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${describe(value)}`,
    );
  }
}

/** Validates an append's arguments; returns the expected version (-1 for `'any'`) and the events as JSON. */
export function prepareAppend(
  streamId: unknown,
  events: unknown,
  options: AppendOptions | undefined,
): { expected: number; events: PreparedEvent[] } {
  assertKeyString(streamId, 'streamId');
  if (!Array.isArray(events)) {
    throw new PatchbayError(INPUT, `events must be an array, got ${describe(events)}`);
  }
  if (events.length === 0) throw new PatchbayError(INPUT, 'events must hold at least one event');
  // only a missing value means 'any': a null (a version column never set, say) is refused, not
  // taken for "skip the concurrency check"
  const expectedVersion = options?.expectedVersion === undefined ? 'any' : options.expectedVersion;
  let expected: number;
  if (expectedVersion === 'any') expected = -1;
  else if (expectedVersion === 'no-stream') expected = 0;
  else {
    assertPositionOrVersion(expectedVersion, "expectedVersion (a version, 'any' or 'no-stream')");
    expected = expectedVersion;
  }
  const seen = new Set<string>();
  const prepared = (events as unknown[]).map((event, index): PreparedEvent => {
    if (typeof event !== 'object' || event === null) {
      throw new PatchbayError(INPUT, `events[${index}] must be an object, got ${describe(event)}`);
    }
    const { id = globalThis.crypto.randomUUID(), type, data = null, metadata = {} } = event as NewEvent;
    assertKeyString(type, `events[${index}].type`);
    assertKeyString(id, `events[${index}].id`);
    if (seen.has(id)) throw new PatchbayError(INPUT, `events[${index}].id ${describe(id)} appears twice in one append`);
    seen.add(id);
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new PatchbayError(INPUT, `events[${index}].metadata must be a plain object, got ${describe(metadata)}`);
    }
    return {
      id,
      type,
      data: toJson(data, `events[${index}].data`),
      metadata: toJson(metadata, `events[${index}].metadata`),
    };
  });
  return { expected, events: prepared };
}

function toJson(value: unknown, name: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new PatchbayError(INPUT, `${name} cannot be serialized to JSON`, { cause: error });
  }
  if (json === undefined)
    throw new PatchbayError(INPUT, `${name} cannot be serialized to JSON, got ${describe(value)}`);
  return json;
}

/** Validates readStream's arguments; returns the first version to read. */
export function prepareReadStream(streamId: unknown, options: ReadStreamOptions | undefined): number {
  assertKeyString(streamId, 'streamId');
  const fromVersion = options?.fromVersion ?? 1;
  assertPositionOrVersion(fromVersion, 'fromVersion');
  return Math.max(1, fromVersion);
}

/** Validates readAll's options; returns the first position and the limit (Infinity when none). */
export function prepareReadAll(options: ReadAllOptions | undefined): { from: number; limit: number } {
  const { fromPosition = 1, limit = Number.POSITIVE_INFINITY } = options ?? {};
  assertPositionOrVersion(fromPosition, 'fromPosition');
  if (limit !== Number.POSITIVE_INFINITY) assertNumber(limit, 'limit', INPUT, { min: 1, integer: true });
  return { from: Math.max(1, fromPosition), limit };
}

/** Parses stored JSON into frozen objects, so a reader cannot change what other readers see. */
export function parseFrozen(json: string): unknown {
  return JSON.parse(json, (_key, value: unknown) =>
    typeof value === 'object' && value !== null ? Object.freeze(value) : value,
  );
}
