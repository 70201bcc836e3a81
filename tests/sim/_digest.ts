/**
 * Chain digests: the digest of a log prefix (or of a state machine that
 * applied it) is built entry by entry, so two equal digests at one index mean
 * equal histories. Snapshots carry the digest as their data.
 *
 * @module
 */
import type { Entry } from "../../raft/types.ts";

const TYPE_CODE = {
  normal: 1,
  confChange: 2,
  empty: 3,
  bootstrap: 4,
} as const;

/** The digest of a prefix ending with `entry`, given the digest before it. */
export function chainDigest(previous: number, entry: Entry): number {
  let h1 = 0xdeadbeef ^ (previous >>> 0);
  let h2 = 0x41c6ce57 ^ Math.floor(previous / 4294967296);
  const feed = (v: number) => {
    h1 = Math.imul(h1 ^ v, 2654435761);
    h2 = Math.imul(h2 ^ v, 1597334677);
  };
  feed(entry.term);
  feed(TYPE_CODE[entry.type] ?? 0);
  feed(entry.data.length);
  for (const byte of entry.data) feed(byte);
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^
    Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^
    Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

const PREFIX = "sim-digest:";

/** The snapshot data the simulated state machine produces. */
export function encodeDigest(digest: number): Uint8Array {
  return new TextEncoder().encode(`${PREFIX}${digest}`);
}

/** Reads snapshot data back; `null` when it is not what the simulator wrote. */
export function decodeDigest(data: Uint8Array): number | null {
  const text = new TextDecoder().decode(data);
  if (!text.startsWith(PREFIX)) return null;
  const value = Number(text.slice(PREFIX.length));
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}
