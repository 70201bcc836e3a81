/**
 * Internal: the run of a sharded controller (`ControllerOptions.shards`).
 * Once the cache synced, workers take only keys of shards this process
 * holds; a shard just acquired queues first its keys that changed recently
 * while it was not held here (`changedWithinMs`: see `_changed_keys.ts`),
 * then, behind every other queued key (`low`), its other cached keys; each reconcile runs
 * under a ticket of its shard, its client fenced by the ticket's signal and
 * by a synchronous check of the grant before every send.
 *
 * @module
 */
import { FencedError } from "../client/errors.ts";
import type { KubeClient } from "../client/kube_client.ts";
import type { KubeObject } from "../client/objects.ts";
import type { Logger } from "../common/log.ts";
import type { Reflector } from "./cache.ts";
import type { EventRecorder } from "./events.ts";
import type { LeaderGuard } from "./leader_election.ts";
import type { Context } from "./reconciler.ts";
import type { ShardGate } from "./shard_gate.ts";
import type { WorkQueue } from "./work_queue.ts";
import { queueTakeover } from "./_changed_keys.ts";
import { aborted } from "./_run_support.ts";

/** What the `Controller` lends the sharded run. */
export interface ShardedHost<T extends KubeObject> {
  reflector: Reflector<T>;
  queue: WorkQueue<string>;
  gate: ShardGate;
  guard: LeaderGuard;
  logger: Logger;
  concurrency: number;
  /** Changes queue keys (of held shards) only while running. */
  setRunning(running: boolean): void;
  /** Whether a change of `key` queues it now. */
  wants(key: string): boolean;
  /**
   * The keys that changed recently while their shard was not held here,
   * of the shards `wanted` admits, in order (`ChangedKeys.take`); forgets
   * every key noted in those shards.
   */
  changed(wanted: (shard: number) => boolean): string[];
  /**
   * Notes `key` as pending, as a change of it while its shard is not held
   * here would: it was queued but its shard's grant ended before a worker
   * reached it.
   */
  pending(key: string): void;
  /** A reconcile's client, fenced by `check` and `signal`, and its recorder. */
  fence(
    signal: AbortSignal,
    check: () => void,
  ): { client: KubeClient; recorder: EventRecorder };
  /** Reconciles one key (never throws). */
  reconcile(key: string, ctx: Context): Promise<void>;
}

/** Runs a sharded controller's workers until `stop`; see the module comment. */
export async function runSharded<T extends KubeObject>(
  host: ShardedHost<T>,
  stop: AbortSignal,
): Promise<void> {
  const { gate, queue, reflector } = host;
  const synced = await Promise.race([
    reflector.synced.then(() => true),
    aborted(stop).then(() => false),
  ]);
  if (!synced) return;
  host.setRunning(true);
  // What changed recently while another replica held a shard is the work
  // most likely pending at a takeover: it goes first, the rest behind every key
  // queued (by a change, or the changed keys of a later batch of shards).
  const off = gate.onAcquire((shards) => {
    const acquired = new Set(shards);
    queueTakeover(queue, {
      changed: host.changed((shard) => acquired.has(shard)),
      rest: reflector.store.keys().filter((key) => {
        const object = reflector.store.get(key);
        return object !== undefined && acquired.has(gate.shardOf(object));
      }),
    });
  });
  host.logger.info("sharded: reconciling the shards this replica holds");
  queueTakeover(queue, {
    changed: host.changed((shard) => gate.holds(shard)),
    rest: reflector.store.keys().filter((key) => host.wants(key)),
  });
  const workers: Promise<void>[] = [];
  for (let i = 0; i < host.concurrency; i++) workers.push(work(host, stop));
  try {
    await Promise.allSettled(workers);
  } finally {
    off();
    host.setRunning(false);
  }
}

async function work<T extends KubeObject>(
  host: ShardedHost<T>,
  stop: AbortSignal,
): Promise<void> {
  const { gate, queue, guard } = host;
  while (!stop.aborted) {
    const key = await queue.get(stop);
    if (key === undefined) return;
    try {
      const object = host.reflector.store.get(key);
      const shard = object === undefined ? null : gate.shardOf(object);
      const ticket = shard === null ? null : gate.enter(shard);
      if (shard === null || ticket === null) {
        // Gone, or not held here: the replica that holds it queues it (and
        // this one does, if it acquires the shard). Its work is pending:
        // should the shard come back here, it goes with the changed keys,
        // not behind the shard's resync.
        if (shard !== null) host.pending(key);
        queue.forget(key);
        continue;
      }
      try {
        const signal = AbortSignal.any([ticket.signal, stop]);
        // The signal aborts when a timer notices the grant's end; a stalled
        // event loop can delay that timer. The check asks the holder with
        // the clock at each send instead.
        const { client, recorder } = host.fence(signal, () => {
          if (!gate.holds(shard)) {
            throw new FencedError(
              `Expected to hold shard ${shard} to send, found its grant ended`,
            );
          }
        });
        await host.reconcile(key, {
          client,
          recorder,
          signal,
          guard,
          term: guard.term,
          key,
          shard,
        });
      } finally {
        ticket.done();
      }
    } catch (error) {
      host.logger.error("reconcile worker failed", { key, error });
      queue.addRateLimited(key);
    } finally {
      queue.done(key);
    }
  }
}
