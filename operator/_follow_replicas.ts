/**
 * Internal: while this node leads, moves the Raft membership to the
 * ordinals `0..spec.replicas-1` of the operator's own StatefulSet.
 *
 * @module
 */
import { JitterBackoff } from "../common/backoff.ts";
import type { KubeClient } from "../client/kube_client.ts";
import type { KubeObject } from "../client/objects.ts";
import { sleep, systemClock } from "../common/clock.ts";
import type { Logger } from "../common/log.ts";
import { watcher } from "../controller/watcher.ts";
import { NotLeaderError } from "../common/leadership.ts";
import type { RaftNode } from "../raft/node.ts";
import { MAX_ORDINALS } from "./_peer_urls.ts";

const STATEFUL_SETS = {
  group: "apps",
  version: "v1",
  plural: "statefulsets",
  kind: "StatefulSet",
  namespaced: true,
} as const;

interface StatefulSet extends KubeObject {
  spec?: { replicas?: number };
}

/** What {@linkcode followReplicas} needs. */
export interface FollowReplicasOptions {
  /** The Raft node whose membership follows the StatefulSet. */
  node: RaftNode;
  /** The client that watches the StatefulSet. */
  client: KubeClient;
  /** The StatefulSet's namespace. */
  namespace: string;
  /** The StatefulSet's name. */
  name: string;
  /** Where progress and errors are logged. */
  logger: Logger;
  /** Stops following (the node lost leadership, or the operator stops). */
  signal: AbortSignal;
  /**
   * Called with the voters before each membership change (sharding hands
   * the shards of members about to go to those that stay first:
   * `ShardRuntime.handOverTo`).
   */
  beforeChange?: (voters: readonly number[]) => Promise<void>;
}

/**
 * Watches the StatefulSet named in `options` (a field selector on its name)
 * and calls `options.beforeChange`, then
 * `node.reconcileMembers([0..replicas-1])`, on the first sight and
 * on every change of `spec.replicas`. Failures are logged and retried with
 * backoff; it resolves when the node is no longer the leader or `signal`
 * aborts, and never rejects.
 */
export async function followReplicas(
  options: FollowReplicasOptions,
): Promise<void> {
  const { node, logger } = options;
  const stop = new AbortController();
  const signal = stop.signal;
  const onStop = () => stop.abort();
  options.signal.addEventListener("abort", onStop, { once: true });
  if (options.signal.aborted) stop.abort();
  const backoff = new JitterBackoff({
    baseMs: 500,
    maxMs: 30_000,
    jitter: 0.5,
    random: Math.random,
  });
  let desired: number | null = null;
  let done: number | null = null;
  let wake = Promise.withResolvers<void>();
  const onAbort = () => wake.resolve();
  signal.addEventListener("abort", onAbort, { once: true });
  const watching = (async () => {
    const events = watcher<StatefulSet>({
      client: options.client,
      resource: STATEFUL_SETS,
      namespace: options.namespace,
      fieldSelector: `metadata.name=${options.name}`,
      logger,
      signal,
    });
    for await (const event of events) {
      if (event.type !== "apply" && event.type !== "initApply") continue;
      if (event.object.metadata.name !== options.name) continue;
      const replicas = event.object.spec?.replicas ?? 1;
      if (
        !Number.isSafeInteger(replicas) || replicas < 1 ||
        replicas > MAX_ORDINALS
      ) {
        logger.warn("ignoring the StatefulSet's replicas", {
          statefulSet: options.name,
          replicas,
          expected: `an integer from 1 to ${MAX_ORDINALS}`,
        });
        continue;
      }
      if (replicas !== desired) {
        desired = replicas;
        wake.resolve();
      }
    }
  })().catch((error) => {
    if (!signal.aborted) {
      logger.error("watching the StatefulSet failed", { error });
    }
  });
  try {
    while (!signal.aborted) {
      if (desired === null || desired === done) {
        await wake.promise;
        wake = Promise.withResolvers<void>();
        continue;
      }
      const target: number = desired;
      const voters = Array.from({ length: target }, (_, i) => i);
      try {
        await options.beforeChange?.(voters);
        await node.reconcileMembers(voters);
        done = target;
        backoff.reset();
        logger.info("membership follows the StatefulSet", {
          statefulSet: options.name,
          voters,
        });
      } catch (error) {
        if (error instanceof NotLeaderError || signal.aborted) return;
        const delayMs = backoff.next();
        logger.warn("changing the membership failed, retrying", {
          statefulSet: options.name,
          voters,
          delayMs,
          error,
        });
        await sleep(systemClock, delayMs, signal).catch(() => {});
      }
    }
  } finally {
    options.signal.removeEventListener("abort", onStop);
    signal.removeEventListener("abort", onAbort);
    stop.abort();
    await watching;
  }
}
