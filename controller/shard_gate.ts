/**
 * What a sharded controller needs from the sharding runtime: which shard an
 * object belongs to, whether this process holds that shard's grant now, a
 * signal that ends with the grant, and word of shards it just acquired. The
 * Operator provides it (`operator/_shards.ts`); the controller does not know
 * how grants are won (see `sharding/README.md`).
 *
 * @module
 */
import type { KubeObject } from "../client/objects.ts";

/**
 * One reconcile's hold on a shard: its signal aborts when the grant ends, is
 * about to be released, or the process leaves; `done()` says the reconcile
 * ended, so that a release waits for it.
 *
 * @example
 * ```ts
 * import type { ShardGate, ShardTicket } from "@k8s-operator/k8s-operator/controller";
 * async function run(gate: ShardGate, shard: number, work: (signal: AbortSignal) => Promise<void>) {
 *   const ticket: ShardTicket | null = gate.enter(shard);
 *   if (ticket === null) return; // not held here now
 *   try {
 *     await work(ticket.signal);
 *   } finally {
 *     ticket.done();
 *   }
 * }
 * ```
 */
export interface ShardTicket {
  /** Aborts when this process may no longer act on the shard. */
  readonly signal: AbortSignal;
  /** Ends the reconcile's hold (call it once, when the reconcile ended). */
  done(): void;
}

/**
 * The sharding runtime as a sharded controller sees it (pass it as
 * `shards` in {@linkcode ControllerOptions}): every write of a reconcile
 * checks {@linkcode ShardGate.holds} synchronously before it leaves, as a
 * leader-only controller checks its guard.
 *
 * @example A gate that holds every shard (a single replica, for a test)
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ShardGate } from "@k8s-operator/k8s-operator/controller";
 * const gate: ShardGate = {
 *   shardOf: () => 0,
 *   holds: () => true,
 *   enter: () => ({ signal: new AbortController().signal, done: () => {} }),
 *   onAcquire: () => () => {},
 * };
 * assert.ok(gate.holds(gate.shardOf({ metadata: { name: "a" } })));
 * ```
 */
export interface ShardGate {
  /** The shard of an object (its owner's, when it has one). */
  shardOf(object: KubeObject): number;
  /** `true` while this process holds the shard's grant, on the clock now. */
  holds(shard: number): boolean;
  /**
   * Starts a reconcile of the shard: `null` unless the shard is held now
   * and not being released.
   */
  enter(shard: number): ShardTicket | null;
  /**
   * Calls `listener` with the shards this process just acquired; returns the
   * unsubscribe.
   */
  onAcquire(listener: (shards: readonly number[]) => void): () => void;
}
