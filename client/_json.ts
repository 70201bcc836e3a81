/**
 * JSON values as the API server decodes them: a number is an `int64` when
 * its JSON text is an integer that fits, a `float64` otherwise.
 *
 * @module
 */

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/** Whether `value` is a JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Whether the server decodes `value` as an `int64`: `JSON.stringify` writes
 * an integer below 1e21 as digits (the shortest ones that read back as the
 * same double, so 2^63 is written 9223372036854776000), which Go parses as
 * an int64 when the digits fit; anything else is a float64.
 */
export function isInt64(value: number): boolean {
  if (!Number.isInteger(value) || Math.abs(value) >= 1e21) return false;
  const digits = BigInt(JSON.stringify(value));
  return digits >= INT64_MIN && digits <= INT64_MAX;
}

/** The value as it travels: what `JSON.stringify` then `JSON.parse` give. */
export function wire<T>(value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value)) as T;
}

/** Deep equality of JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length &&
      keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Go's `int64(f)` for a float: truncation toward zero. */
export function goTrunc(value: number): number {
  return Math.trunc(value);
}

/** A field path like the server's: `spec.ports[1].name`. */
export function child(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

/** An item path: `spec.ports[1]`. */
export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}
