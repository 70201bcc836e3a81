/**
 * Metrics of sharded reconciling: the shards this replica holds, the
 * assignment's epoch, moves in progress, shards reassigned, acquired and
 * released, and how long a shard went without a holder when it moved.
 *
 * @module
 */
import { Counter, Histogram } from "prom-client";
import { collectedGauge, exponentialBuckets, promOf } from "./_families.ts";
import type { MetricsRegistry } from "./registry.ts";

/**
 * What the sharding runtime counts, as {@linkcode shardingMetrics} reads
 * it at every scrape (the Operator's runtime fits).
 *
 * @example
 * ```ts
 * import type { ShardingStats } from "@k8s-operator/k8s-operator/metrics";
 * const stats: ShardingStats = { epoch: 3, held: 85, moving: 0, reassigned: 86, acquired: 85, released: 0 };
 * ```
 */
export interface ShardingStats {
  /** The epoch of the assignment this replica applied (0 before any). */
  epoch: number;
  /** Shards this replica holds a grant of now. */
  held: number;
  /** Leader: shards whose new owner waits for the old holder's grant to end. */
  moving: number;
  /** Shards that changed owner in the assignments applied (cumulative). */
  reassigned: number;
  /** Shards this replica acquired (cumulative). */
  acquired: number;
  /** Shards this replica released (cumulative). */
  released: number;
  /**
   * The replica stands aside: it cannot reach the API server and gave its
   * shards up until it can (absent: `false`).
   */
  aside?: boolean;
}

/**
 * Options of {@linkcode shardingMetrics}.
 *
 * @example
 * ```ts
 * import { MetricsRegistry, type ShardingMetricsOptions } from "@k8s-operator/k8s-operator/metrics";
 * const options: ShardingMetricsOptions = {
 *   registry: new MetricsRegistry(),
 *   stats: () => ({ epoch: 1, held: 4, moving: 0, reassigned: 0, acquired: 4, released: 0 }),
 * };
 * ```
 */
export interface ShardingMetricsOptions {
  /** Where the metrics are registered. */
  registry: MetricsRegistry;
  /** Read at every scrape. */
  stats: () => ShardingStats;
}

/**
 * Registers the sharding metrics and returns the hook that records a
 * handover's duration (the leader calls it for every shard granted to a new
 * holder, with the ms since it last counted the old one):
 *
 * - `sharding_shards_held`, `sharding_assignment_epoch`,
 *   `sharding_shards_moving`, `sharding_standing_aside` (gauges);
 * - `sharding_shards_reassigned_total`, `sharding_shards_acquired_total`,
 *   `sharding_shards_released_total` (counters);
 * - `sharding_handover_duration_seconds` (histogram, 1 ms to about 16 s).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry, shardingMetrics } from "@k8s-operator/k8s-operator/metrics";
 * const registry = new MetricsRegistry();
 * const handover = shardingMetrics({
 *   registry,
 *   stats: () => ({ epoch: 2, held: 5, moving: 1, reassigned: 3, acquired: 5, released: 0 }),
 * });
 * handover(12);
 * const text = await registry.render();
 * assert.match(text, /^sharding_shards_held 5$/m);
 * assert.match(text, /^sharding_standing_aside 0$/m);
 * assert.match(text, /^sharding_shards_reassigned_total 3$/m);
 * assert.match(text, /^sharding_handover_duration_seconds_count 1$/m);
 * ```
 */
export function shardingMetrics(
  options: ShardingMetricsOptions,
): (durationMs: number) => void {
  const registers = [promOf(options.registry)];
  const { stats } = options;
  const gauge = (
    name: string,
    help: string,
    read: (s: ShardingStats) => number,
  ) => collectedGauge(registers, { name, help, read: () => read(stats()) });
  gauge(
    "sharding_shards_held",
    "Shards this replica holds a grant of (may reconcile) now",
    (s) => s.held,
  );
  gauge(
    "sharding_assignment_epoch",
    "The epoch of the shard assignment this replica applied",
    (s) => s.epoch,
  );
  gauge(
    "sharding_shards_moving",
    "Leader only: shards whose new owner waits for the old holder's grant to end",
    (s) => s.moving,
  );
  gauge(
    "sharding_standing_aside",
    "1 while this replica cannot reach the API server and has given its shards up until it can",
    (s) => s.aside === true ? 1 : 0,
  );
  const counter = (
    name: string,
    help: string,
    read: (s: ShardingStats) => number,
  ) => {
    let seen = 0;
    return new Counter({
      name,
      help,
      registers,
      collect() {
        const now = read(stats());
        if (now > seen) this.inc(now - seen);
        seen = Math.max(seen, now);
      },
    });
  };
  counter(
    "sharding_shards_reassigned_total",
    "Shards that changed owner in the assignments this replica applied",
    (s) => s.reassigned,
  );
  counter(
    "sharding_shards_acquired_total",
    "Shards this replica acquired a grant of",
    (s) => s.acquired,
  );
  counter(
    "sharding_shards_released_total",
    "Shards this replica released",
    (s) => s.released,
  );
  const handovers = new Histogram({
    name: "sharding_handover_duration_seconds",
    help:
      "Leader only: per shard granted to a new holder, the time since the leader last counted the old one (its release or its last renewal)",
    buckets: exponentialBuckets(0.001, 2, 15),
    registers,
  });
  return (durationMs) => handovers.observe(durationMs / 1000);
}
