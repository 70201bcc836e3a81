/**
 * Internal: a leader that reaches its peers but not the API server hands
 * leadership to a follower that reaches it (defect 13). Followers report
 * their {@linkcode ApiHealth} with every Raft answer (the `healthy` flag of
 * `heartbeatResp` and `appendResp`); once the leader's own requests have
 * failed for `transferAfterMs` (default 10 s), it transfers leadership to a
 * caught-up voter whose latest answer said healthy.
 *
 * No flapping: nothing happens while no follower reports healthy, and at
 * most one transfer is attempted per `transferAfterMs`. A follower that
 * said healthy had reached the API server within the last few seconds, so
 * leadership moves towards the API server, never back and forth faster
 * than the leaders' own failures allow.
 *
 * @module
 */
import type { Logger } from "../common/log.ts";
import type { ApiHealth } from "./_api_health.ts";
import type { CoreStatus } from "../raft/core.ts";
import type { Message, NodeId } from "../raft/types.ts";

/** The default of `transferAfterMs`: 10 s, like a Lease's renew deadline. */
export const DEFAULT_TRANSFER_AFTER_MS = 10_000;
/** A follower's answer older than this no longer counts. */
export const REPORT_FRESH_MS = 1_000;

/** The part of a `RaftNode` the failover uses. */
export interface FailoverNode {
  /** The node's id. */
  readonly id: NodeId;
  /** Its role, membership and (leader only) peers' progress. */
  status(): Pick<CoreStatus, "role" | "conf" | "progress">;
  /** Hands leadership to `to`; resolves with the new leader, or `null`. */
  transferLeadership(to: NodeId): Promise<NodeId | null>;
}

/** A follower's latest word on its API health. */
export interface PeerReport {
  /** Whether it said it reaches the API server. */
  healthy: boolean;
  /** When its answer arrived (the failover's clock). */
  at: number;
}

/**
 * The voter to hand leadership to: caught up, heard from within the last
 * `maxTicksSinceAck` ticks, and whose latest answer, at most
 * {@linkcode REPORT_FRESH_MS} old, said healthy; of those the one with the
 * highest match (then the lowest id). `null` when there is none.
 */
export function chooseTransferee(
  status: Pick<CoreStatus, "conf" | "progress">,
  init: {
    self: NodeId;
    reports: ReadonlyMap<NodeId, PeerReport>;
    now: number;
    maxTicksSinceAck: number;
  },
): NodeId | null {
  let best: NodeId | null = null;
  let bestMatch = -1;
  for (const id of [...status.conf.voters].sort((a, b) => a - b)) {
    if (id === init.self) continue;
    const progress = status.progress[id];
    const report = init.reports.get(id);
    if (
      progress === undefined || !progress.caughtUp ||
      progress.ticksSinceAck === null ||
      progress.ticksSinceAck > init.maxTicksSinceAck ||
      report === undefined || !report.healthy ||
      init.now - report.at > REPORT_FRESH_MS
    ) continue;
    if (progress.match > bestMatch) {
      best = id;
      bestMatch = progress.match;
    }
  }
  return best;
}

/** Options of {@linkcode ApiFailover}. */
export interface ApiFailoverOptions {
  /** The Raft node. */
  node: FailoverNode;
  /** This replica's API health. */
  health: ApiHealth;
  /** A monotonic clock in milliseconds. */
  clock: () => number;
  /** How long the leader's requests must have failed; `0` never transfers. */
  transferAfterMs: number;
  /** Answers older than this many ticks do not count (the election timeout). */
  maxTicksSinceAck: number;
  /** Where decisions are logged. */
  logger: Logger;
}

/** Collects the followers' reports and decides when the leader hands over. */
export class ApiFailover {
  readonly #options: ApiFailoverOptions;
  readonly #reports = new Map<NodeId, PeerReport>();
  #lastAttempt: number | null = null;
  #inFlight = false;
  #toldNoTarget = false;

  /** Creates the failover; call {@linkcode ApiFailover.check} periodically. */
  constructor(options: ApiFailoverOptions) {
    this.#options = options;
  }

  /**
   * Marks this replica's Raft answers with its API health (on their way to
   * the transport): copies of `heartbeatResp` and `appendResp` get
   * `healthy: true` while the API server is reachable.
   */
  mark(messages: Message[]): Message[] {
    if (!this.#options.health.reachable()) return messages;
    return messages.map((m) =>
      m.type === "heartbeatResp" || m.type === "appendResp"
        ? { ...m, healthy: true }
        : m
    );
  }

  /** Records the followers' reports from received Raft answers. */
  receive(messages: readonly Message[]): void {
    const at = this.#options.clock();
    for (const m of messages) {
      if (m.type === "heartbeatResp" || m.type === "appendResp") {
        this.#reports.set(m.from, { healthy: m.healthy === true, at });
      }
    }
  }

  /**
   * Hands leadership over when this node leads, its API requests have
   * failed for `transferAfterMs`, no attempt was made in that long, and a
   * follower qualifies ({@linkcode chooseTransferee}). Returns the node
   * it asked to take over, or `null`.
   */
  check(): NodeId | null {
    const { node, health, clock, transferAfterMs, logger } = this.#options;
    if (transferAfterMs <= 0 || this.#inFlight) return null;
    const failingMs = health.unreachableForMs();
    if (failingMs < transferAfterMs) {
      this.#toldNoTarget = false;
      return null;
    }
    const status = node.status();
    if (status.role !== "leader") return null;
    const now = clock();
    if (
      this.#lastAttempt !== null && now - this.#lastAttempt < transferAfterMs
    ) return null;
    const target = chooseTransferee(status, {
      self: node.id,
      reports: this.#reports,
      now,
      maxTicksSinceAck: this.#options.maxTicksSinceAck,
    });
    if (target === null) {
      if (!this.#toldNoTarget) {
        this.#toldNoTarget = true;
        logger.warn(
          "API server unreachable, but no caught-up follower reports reaching it: keeping leadership",
          { node: node.id, unreachableMs: Math.round(failingMs) },
        );
      }
      return null;
    }
    this.#lastAttempt = now;
    this.#inFlight = true;
    logger.warn("API server unreachable, handing leadership over", {
      node: node.id,
      to: target,
      unreachableMs: Math.round(failingMs),
    });
    node.transferLeadership(target).then(
      (leader) => {
        if (leader === null) {
          logger.warn("leadership transfer did not complete", {
            node: node.id,
            to: target,
          });
        }
      },
      (error) =>
        logger.error("leadership transfer failed", { node: node.id, error }),
    ).finally(() => {
      this.#inFlight = false;
    });
    return target;
  }
}
