/**
 * Internal: what a started operator is made of, and the one way it is
 * taken apart, in order: a failed start and a stop both go through
 * {@linkcode tearDown}.
 *
 * @module
 */
import type { Logger } from "../common/log.ts";
import type { NodeId } from "../common/leadership.ts";
import type { RaftNode } from "../raft/node.ts";
import type { HttpTransport } from "../raft/transport.ts";
import type { HttpServer } from "../platform/mod.ts";
import type { ShardRuntime } from "./_shards.ts";

/** The parts of an operator that must be stopped, as far as it started. */
export interface Parts {
  /** This node's id, for the log. */
  id: NodeId;
  /** Timers, subscriptions and signal handlers to drop first. */
  cleanup: (() => void)[];
  /** Aborts the controllers' runs, the API probe and the follower. */
  stopControllers: AbortController;
  /** The Raft transport (created first, so always there). */
  transport: HttpTransport;
  /** The Raft node, once started. */
  node: RaftNode | null;
  /** The sharding runtime, when a controller is sharded and the node started. */
  shards: ShardRuntime | null;
  /** The HTTP server of `/healthz`, `/readyz` and `/metrics`, once listening. */
  server: HttpServer | null;
}

/**
 * Stops `parts` in order. With `handOver`, sharded controllers first hand
 * their shards over (`ShardRuntime.leave`), and a leader then hands leadership
 * to the most caught-up follower (which ends its leadership, so reconciles
 * in flight are cancelled); then the node stops, the controllers stop
 * watching, and the doors close: the transport, then the HTTP server.
 * Each step runs once: a second call finds nothing left to do.
 */
export async function tearDown(
  parts: Parts,
  options: { handOver: boolean; logger: Logger },
): Promise<void> {
  const shards = parts.shards;
  parts.shards = null;
  if (shards !== null && options.handOver) {
    // Shards first: reconciles stop, every shard is released and, on the
    // leader, granted to its new owner before leadership moves.
    await shards.leave();
    options.logger.info("handed shards over", { node: parts.id });
  }
  for (const off of parts.cleanup.splice(0)) off();
  const node = parts.node;
  parts.node = null;
  if (node !== null && options.handOver) {
    const handedTo = await node.transferLeadership().catch((error) => {
      options.logger.warn("leadership handover failed", { error });
      return null;
    });
    if (handedTo !== null) {
      options.logger.info("handed leadership over", {
        node: parts.id,
        to: handedTo,
      });
    }
  }
  await node?.stop({ transfer: false });
  shards?.detach();
  parts.stopControllers.abort();
  await parts.transport.close();
  const server = parts.server;
  parts.server = null;
  await server?.shutdown();
}
