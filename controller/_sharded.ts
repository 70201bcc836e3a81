/**
 * Internal: the run of a sharded controller (`ControllerOptions.shards`).
 * Once the cache synced, workers take only keys of shards this process
 * holds; a shard just acquired queues its cached keys; each reconcile runs
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
    new Promise<false>((resolve) => {
      if (stop.aborted) resolve(false);
      stop.addEventListener("abort", () => resolve(false), { once: true });
    }),
  ]);
  if (!synced) return;
  host.setRunning(true);
  const off = gate.onAcquire((shards) => {
    const acquired = new Set(shards);
    for (const key of reflector.store.keys()) {
      const object = reflector.store.get(key);
      if (object !== undefined && acquired.has(gate.shardOf(object))) {
        queue.add(key);
      }
    }
  });
  host.logger.info("sharded: reconciling the shards this replica holds");
  for (const key of reflector.store.keys()) {
    if (host.wants(key)) queue.add(key);
  }
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
        // this one does, if it acquires the shard).
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
