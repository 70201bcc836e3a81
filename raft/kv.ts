/**
 * A replicated key-value store: {@linkcode KeyValueStore} is the state
 * machine every node applies committed commands to, and
 * {@linkcode ReplicatedKv} is the client API on one node (writes go through
 * the log; reads are linearizable through the leader lease).
 *
 * @module
 */
import type { Entry } from "./types.ts";

/**
 * A command of the key-value store, as it travels in a log entry.
 *
 * @example Claiming a key if nobody holds it
 * ```ts
 * import { encodeKvCommand, type KvCommand, type KvResult, type RaftNode } from "@k8s-operator/k8s-operator/raft";
 * async function claimOwner(leader: RaftNode, pod: string): Promise<boolean> {
 *   const claim: KvCommand = { op: "cas", key: "owner", expected: null, value: pod };
 *   const result = await leader.propose(encodeKvCommand(claim)) as KvResult;
 *   return result.ok;
 * }
 * ```
 */
export type KvCommand =
  | { op: "put"; key: string; value: string }
  | { op: "delete"; key: string }
  | { op: "cas"; key: string; expected: string | null; value: string | null };

/**
 * What applying a command returned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeKvCommand, type Entry, KeyValueStore, type KvCommand } from "@k8s-operator/k8s-operator/raft";
 * const store = new KeyValueStore();
 * const entry = (index: number, command: KvCommand): Entry =>
 *   ({ term: 1, index, type: "normal", data: encodeKvCommand(command) });
 * assert.deepEqual(store.apply(entry(1, { op: "put", key: "a", value: "1" })), { ok: true, previous: null });
 * assert.deepEqual(store.apply(entry(2, { op: "cas", key: "a", expected: "0", value: "2" })), { ok: false, previous: "1" });
 * ```
 */
export interface KvResult {
  /** `false` only for a compare-and-set whose expectation did not hold. */
  ok: boolean;
  /** The value before the command (`null` when the key was absent). */
  previous: string | null;
}

/**
 * Raised when a log entry or snapshot does not hold what the store expects.
 *
 * @example A malformed entry is applied as a no-op
 * ```ts
 * import assert from "node:assert/strict";
 * import { KeyValueStore, KvFormatError } from "@k8s-operator/k8s-operator/raft";
 * const store = new KeyValueStore();
 * const data = new TextEncoder().encode("not a command");
 * const result = store.apply({ term: 1, index: 1, type: "normal", data });
 * assert.ok(result instanceof KvFormatError);
 * assert.equal(result.message, "Expected a JSON key-value command, found other bytes");
 * ```
 */
export class KvFormatError extends Error {
  /** Describes what was expected and what was found. */
  constructor(message: string) {
    super(message);
    this.name = "KvFormatError";
  }
}

/**
 * What a {@linkcode RaftNode} applies committed entries to. `apply` must be
 * deterministic: every node applies the same entries in the same order.
 *
 * @example A counter
 * ```ts
 * import type { Entry, StateMachine } from "@k8s-operator/k8s-operator/raft";
 * class Counter implements StateMachine {
 *   value = 0;
 *   apply(entry: Entry): number {
 *     this.value += entry.data[0] ?? 0; // each entry adds its first byte
 *     return this.value; // what the proposer's propose() resolves with
 *   }
 *   snapshot(): Uint8Array {
 *     return new TextEncoder().encode(String(this.value));
 *   }
 *   restore(data: Uint8Array): void {
 *     this.value = Number(new TextDecoder().decode(data));
 *   }
 * }
 * ```
 */
export interface StateMachine {
  /** Applies one committed `normal` entry; the result goes to its proposer. */
  apply(entry: Entry): unknown;
  /** Serializes the whole state (for a snapshot). */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's data. */
  restore(data: Uint8Array): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function isStringOrNull(v: unknown): v is string | null {
  return v === null || typeof v === "string";
}

/**
 * Encodes a command for {@linkcode RaftNode.propose}.
 *
 * @example
 * ```ts
 * import { encodeKvCommand } from "@k8s-operator/k8s-operator/raft";
 * const data = encodeKvCommand({ op: "put", key: "a", value: "1" });
 * ```
 */
export function encodeKvCommand(command: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/**
 * Decodes and checks a command; throws {@linkcode KvFormatError} on
 * anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeKvCommand, encodeKvCommand } from "@k8s-operator/k8s-operator/raft";
 * assert.deepEqual(decodeKvCommand(encodeKvCommand({ op: "delete", key: "a" })), { op: "delete", key: "a" });
 * ```
 */
export function decodeKvCommand(data: Uint8Array): KvCommand {
  let v: unknown;
  try {
    v = JSON.parse(decoder.decode(data));
  } catch {
    throw new KvFormatError(
      "Expected a JSON key-value command, found other bytes",
    );
  }
  const c = v as Record<string, unknown>;
  if (typeof v === "object" && v !== null && typeof c.key === "string") {
    if (c.op === "put" && typeof c.value === "string") {
      return { op: "put", key: c.key, value: c.value };
    }
    if (c.op === "delete") return { op: "delete", key: c.key };
    if (
      c.op === "cas" && isStringOrNull(c.expected) && isStringOrNull(c.value)
    ) {
      return { op: "cas", key: c.key, expected: c.expected, value: c.value };
    }
  }
  throw new KvFormatError(
    `Expected a put, delete or cas command, found ${JSON.stringify(v)}`,
  );
}

/**
 * The key-value state machine: string keys to string values.
 *
 * A malformed command (which only a bug could commit) is applied as a no-op
 * whose result is the {@linkcode KvFormatError}, so every node stays in step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeKvCommand, KeyValueStore } from "@k8s-operator/k8s-operator/raft";
 * const store = new KeyValueStore();
 * store.apply({ term: 1, index: 1, type: "normal", data: encodeKvCommand({ op: "put", key: "a", value: "1" }) });
 * assert.equal(store.get("a"), "1");
 * ```
 */
export class KeyValueStore implements StateMachine {
  readonly #map = new Map<string, string>();

  /** The value of `key`, read locally (not linearizable by itself). */
  get(key: string): string | undefined {
    return this.#map.get(key);
  }

  /** How many keys the store holds. */
  get size(): number {
    return this.#map.size;
  }

  /** Applies one committed command; returns a {@linkcode KvResult}. */
  apply(entry: Entry): KvResult | KvFormatError {
    let c: KvCommand;
    try {
      c = decodeKvCommand(entry.data);
    } catch (error) {
      if (error instanceof KvFormatError) return error;
      throw error;
    }
    const previous = this.#map.get(c.key) ?? null;
    if (c.op === "put") {
      this.#map.set(c.key, c.value);
    } else if (c.op === "delete") {
      this.#map.delete(c.key);
    } else {
      if (previous !== c.expected) return { ok: false, previous };
      if (c.value === null) this.#map.delete(c.key);
      else this.#map.set(c.key, c.value);
    }
    return { ok: true, previous };
  }

  /** The whole map as JSON (keys sorted, so equal stores give equal bytes). */
  snapshot(): Uint8Array {
    const pairs = [...this.#map].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    return encoder.encode(JSON.stringify(pairs));
  }

  /** Replaces the map with a snapshot; throws {@linkcode KvFormatError} and keeps the map on bad data. */
  restore(data: Uint8Array): void {
    let pairs: unknown;
    try {
      pairs = JSON.parse(decoder.decode(data));
    } catch {
      throw new KvFormatError(
        "Expected a JSON key-value snapshot, found other bytes",
      );
    }
    if (
      !Array.isArray(pairs) ||
      !pairs.every((p) =>
        Array.isArray(p) && p.length === 2 && typeof p[0] === "string" &&
        typeof p[1] === "string"
      )
    ) {
      throw new KvFormatError("Expected an array of [key, value] string pairs");
    }
    this.#map.clear();
    for (const [k, v] of pairs as [string, string][]) this.#map.set(k, v);
  }
}

/**
 * The part of a {@linkcode RaftNode} that {@linkcode ReplicatedKv} uses.
 *
 * @example A single-process stand-in for tests
 * ```ts
 * import assert from "node:assert/strict";
 * import { KeyValueStore, type KvNode, ReplicatedKv } from "@k8s-operator/k8s-operator/raft";
 * const store = new KeyValueStore();
 * let index = 0;
 * const local: KvNode = {
 *   propose: (data) => Promise.resolve(store.apply({ term: 1, index: ++index, type: "normal", data })),
 *   readBarrier: () => Promise.resolve(),
 * };
 * const kv = new ReplicatedKv(local, store);
 * await kv.put("a", "1");
 * assert.equal(await kv.get("a"), "1");
 * ```
 */
export interface KvNode {
  /** Replicates `data`; resolves with the state machine's result once applied here. */
  propose(data: Uint8Array): Promise<unknown>;
  /** Resolves once a read on this node would be linearizable. */
  readBarrier(): Promise<void>;
}

/**
 * The client API of the key-value store on one node. Writes and reads must
 * run on the leader; elsewhere they reject with `NotLeaderError`, whose
 * `leader` names where to go.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
 * import { KeyValueStore, MemoryStorage, RaftNode, ReplicatedKv } from "@k8s-operator/k8s-operator/raft";
 * // One voter in memory elects itself (see RaftNode); a cluster has three.
 * const store = new KeyValueStore();
 * const election = new LeaderElection(0, { requireLease: true });
 * const node = await RaftNode.start({
 *   id: 0, storage: new MemoryStorage(), bootstrap: { voters: [0], learners: [] },
 *   stateMachine: store, send: () => {}, election, tickMs: 5,
 * });
 * const kv = new ReplicatedKv(node, store);
 * await election.guard().waitForLeadership();
 * await kv.put("config", "v2");
 * assert.equal(await kv.compareAndSet("owner", null, "pod-0"), true); // it was absent
 * await election.guard().waitForLeadership(); // reads need the lease
 * assert.equal(await kv.get("config"), "v2"); // linearizable
 * await node.stop();
 * ```
 */
export class ReplicatedKv {
  readonly #node: KvNode;
  readonly #store: KeyValueStore;

  /** Serves `store` (the state machine `node` applies to) through `node`. */
  constructor(node: KvNode, store: KeyValueStore) {
    this.#node = node;
    this.#store = store;
  }

  async #write(command: KvCommand): Promise<KvResult> {
    const result = await this.#node.propose(encodeKvCommand(command));
    if (result instanceof Error) throw result;
    return result as KvResult;
  }

  /** A linearizable read of `key`. */
  async get(key: string): Promise<string | undefined> {
    await this.#node.readBarrier();
    return this.#store.get(key);
  }

  /** Sets `key` to `value`; resolves once committed and applied here. */
  async put(key: string, value: string): Promise<void> {
    await this.#write({ op: "put", key, value });
  }

  /** Removes `key`; resolves with whether it existed. */
  async delete(key: string): Promise<boolean> {
    return (await this.#write({ op: "delete", key })).previous !== null;
  }

  /**
   * Sets `key` to `value` (removes it for `null`) only if its value is
   * `expected` (`null`: absent); resolves with whether it did.
   */
  async compareAndSet(
    key: string,
    expected: string | null,
    value: string | null,
  ): Promise<boolean> {
    return (await this.#write({ op: "cas", key, expected, value })).ok;
  }
}
