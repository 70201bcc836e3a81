/**
 * Internal: a replica that reaches its peers but not the API server gives
 * its shards to the others (issue 19). Its grants are renewed through the
 * Raft leader, which it still reaches, so without this nobody would ever
 * reconcile the objects of its shards: it cannot, and the leader has no
 * reason to move them. Once this replica's requests to the API server (the
 * `/version` probe every second, the controllers' lists and watches: see
 * {@linkcode ApiHealth}) have failed for `releaseAfterMs` (default 10 s), it
 * stands aside ({@linkcode ShardRuntime.standAside}: the handover path of a
 * SIGTERM, its reconciles stopped before its release); once a request
 * succeeds again it rejoins and is planned shards as any member that joins.
 *
 * No flapping: a failure shorter than `releaseAfterMs` changes nothing, and
 * every stand-aside needs a new failing streak of `releaseAfterMs` after
 * the last success, so the shards of a replica move at most once each way
 * per `releaseAfterMs`. A leader stands aside as any replica (it keeps
 * leading and granting the others' shards); handing leadership over is
 * `_api_failover.ts`'s business.
 *
 * @module
 */
import type { Logger } from "../common/log.ts";
import type { ApiHealth } from "./_api_health.ts";

/** The default of `releaseAfterMs`: 10 s, as the leader's `transferAfterMs`. */
export const DEFAULT_RELEASE_AFTER_MS = 10_000;

/** The part of a `ShardRuntime` the policy drives. */
export interface StandAsideShards {
  /** Releases every shard and asks for none (a handover, as on SIGTERM). */
  standAside(): Promise<void>;
  /** Asks for shards again. */
  rejoin(): void;
}

/** Options of {@linkcode ApiStandAside}. */
export interface ApiStandAsideOptions {
  /** This replica's sharding runtime. */
  shards: StandAsideShards;
  /** This replica's API health. */
  health: ApiHealth;
  /** How long requests must have failed; `0` never stands aside. */
  releaseAfterMs: number;
  /** Where decisions are logged. */
  logger: Logger;
}

/** Decides when this replica stands aside from its shards and when it rejoins. */
export class ApiStandAside {
  readonly #options: ApiStandAsideOptions;
  #aside = false;

  /** Creates the policy; call {@linkcode ApiStandAside.check} periodically. */
  constructor(options: ApiStandAsideOptions) {
    this.#options = options;
  }

  /**
   * Stands aside when the API server has been unreachable for
   * `releaseAfterMs`, rejoins once it is reachable again. Returns what it
   * did, or `null`.
   */
  check(): "aside" | "rejoin" | null {
    const { shards, health, releaseAfterMs, logger } = this.#options;
    if (releaseAfterMs <= 0) return null;
    if (!this.#aside) {
      const failingMs = health.unreachableForMs();
      if (failingMs < releaseAfterMs) return null;
      logger.warn(
        "API server unreachable: handing this replica's shards to the others",
        { unreachableMs: Math.round(failingMs), releaseAfterMs },
      );
      this.#aside = true;
      shards.standAside().catch((error) =>
        logger.error("standing aside failed", { error })
      );
      return "aside";
    }
    if (!health.reachable()) return null;
    logger.info("API server reachable again: asking for shards");
    this.#aside = false;
    shards.rejoin();
    return "rejoin";
  }
}
