/**
 * The chart of `deno task bench:sharding`, `bench/results/sharding.svg`,
 * drawn from its results (`sharding.json`, {@linkcode ShardingResults}): on
 * top the drain rate of each run as a bar (leader-only and sharded, with
 * the ideal of N replicas, N times leader-only, as a tick); below, on a log
 * time axis, every sample of the kill latency: from the write of an object
 * to the first reconcile of that write, for the objects of the killed
 * replica's shards (with the failover goal of issue 19 as a tick: 1 s for a
 * follower, 1.5 s for the Raft leader) and for the others'.
 *
 * @module
 */

/** One drain run. */
export interface DrainResult {
  mode: "leader-only" | "sharded";
  replicas: number;
  seconds: number;
  perSecond: number;
  /** Reconciles started (more than the objects when some were cancelled). */
  calls: number;
}

/** The kill of one replica that owns shards, in a sharded run. */
export interface KillResult {
  /** What the killed replica was besides a shard owner: a Raft follower or the leader. */
  role: "follower" | "leader";
  replicas: number;
  /** Objects of the killed replica's shards: write request → first reconcile by another replica, ms. */
  killed: number[];
  /** Objects of the other replicas' shards: write request → first reconcile, ms. */
  others: number[];
  /** The kill → the first survivor to become leader, ms; `null` when none had to (a follower killed). */
  electionMs: number | null;
  /** The kill → each of the killed replica's shards granted to a survivor, ms (one per shard). */
  grantsMs: number[];
}

/** What `bench/sharding.ts` writes to `sharding.json` (version 2). */
export interface ShardingResults {
  version: 2;
  /** When the run ended (ISO 8601). */
  date: string;
  objects: number;
  waitMs: number;
  workers: number;
  drain: DrainResult[];
  kill: KillResult[];
}

const WIDTH = 760;
const LEFT = 250;
const RIGHT = 40;
const BAR = 26;
const ROW = 44;
const MIN_MS = 1;
const MAX_MS = 10_000;
const BLUE = "#1f77b4";
const RED = "#d62728";
const GREY = "#888";

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function logX(ms: number): number {
  const clamped = Math.min(MAX_MS, Math.max(MIN_MS, ms));
  const f = Math.log(clamped / MIN_MS) / Math.log(MAX_MS / MIN_MS);
  return LEFT + f * (WIDTH - LEFT - RIGHT);
}

/** The failover goal of issue 19 for the killed replica's objects, ms (p99). */
export const KILL_GOAL_MS: Readonly<Record<KillResult["role"], number>> = {
  follower: 1_000,
  leader: 1_500,
};

/**
 * Throws a `TypeError` naming what is wrong unless `value` is a
 * {@linkcode ShardingResults} of version 2 (version 1 had no `role`: it
 * killed followers only).
 */
export function parseShardingResults(value: unknown): ShardingResults {
  const r = value as Partial<ShardingResults> | null;
  if (r === null || typeof r !== "object" || r.version !== 2) {
    throw new TypeError(
      `Expected sharding results of version 2, found ${
        JSON.stringify((r as { version?: unknown } | null)?.version)
      }`,
    );
  }
  if (!Array.isArray(r.drain) || !Array.isArray(r.kill)) {
    throw new TypeError(
      "Expected sharding results with a drain and a kill list, found none",
    );
  }
  for (const d of r.drain) {
    if (!Number.isFinite(d?.perSecond) || !Number.isInteger(d?.replicas)) {
      throw new TypeError(
        `Expected every drain run to have replicas and perSecond, found ${
          JSON.stringify(d)
        }`,
      );
    }
  }
  for (const k of r.kill) {
    if (
      (k?.role !== "follower" && k?.role !== "leader") ||
      !Array.isArray(k.killed) || !Array.isArray(k.others)
    ) {
      throw new TypeError(
        `Expected every kill to have a role (follower or leader) and its latencies, found ${
          JSON.stringify(k)
        }`,
      );
    }
  }
  return r as ShardingResults;
}

/** Renders the results as a standalone SVG document. */
export function shardingSvg(results: ShardingResults): string {
  const { drain, kill } = results;
  const base = drain.find((d) => d.mode === "leader-only")?.perSecond;
  const maxRate = Math.max(
    1,
    ...drain.map((d) => d.perSecond),
    ...(base === undefined ? [] : drain.map((d) => base * d.replicas)),
  );
  const barX = (rate: number) => LEFT + rate / maxRate * (WIDTH - LEFT - RIGHT);
  const drainTop = 56;
  const killTop = drainTop + drain.length * (BAR + 10) + 70;
  const height = killTop + Math.max(1, kill.length) * 2 * ROW + 40;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="20" font-size="14">bench:sharding: ${results.objects} objects, reconcile ${results.waitMs} ms, ${results.workers} workers per replica</text>`,
    `<text x="20" y="${
      drainTop - 12
    }">Drain rate (objects/s); the tick: N × leader-only</text>`,
  ];
  drain.forEach((d, i) => {
    const y = drainTop + i * (BAR + 10);
    const color = d.mode === "sharded" ? BLUE : RED;
    out.push(
      `<text x="${LEFT - 10}" y="${y + BAR / 2 + 4}" text-anchor="end">${
        escape(`${d.mode}, ${d.replicas} replicas`)
      }</text>`,
      `<rect x="${LEFT}" y="${y}" width="${
        (barX(d.perSecond) - LEFT).toFixed(1)
      }" height="${BAR}" fill="${color}" fill-opacity="0.7"/>`,
      `<text x="${(barX(d.perSecond) + 4).toFixed(1)}" y="${y + BAR / 2 + 4}">${
        Math.round(d.perSecond)
      }${
        base === undefined || d.mode !== "sharded"
          ? ""
          : ` (${(d.perSecond / base).toFixed(2)}×)`
      }</text>`,
    );
    if (base !== undefined && d.mode === "sharded") {
      const ix = barX(base * d.replicas).toFixed(1);
      out.push(
        `<line x1="${ix}" x2="${ix}" y1="${y - 3}" y2="${
          y + BAR + 3
        }" stroke="${GREY}" stroke-width="2" stroke-dasharray="3,2"/>`,
      );
    }
  });
  out.push(
    `<text x="20" y="${
      killTop - 28
    }">kill -9 of a shard owner (no handover): write → first reconcile (log scale); tick: the goal</text>`,
    `<circle cx="${LEFT + 6}" cy="${killTop - 12}" r="4" fill="${RED}"/>`,
    `<text x="${LEFT + 14}" y="${
      killTop - 8
    }">objects of the killed replica's shards</text>`,
    `<circle cx="${LEFT + 260}" cy="${killTop - 12}" r="4" fill="${BLUE}"/>`,
    `<text x="${LEFT + 268}" y="${killTop - 8}">the others'</text>`,
  );
  const bottom = height - 30;
  for (const tick of [1, 10, 100, 1_000, 10_000]) {
    const tx = logX(tick).toFixed(1);
    out.push(
      `<line x1="${tx}" x2="${tx}" y1="${killTop}" y2="${bottom}" stroke="#ddd"/>`,
      `<text x="${tx}" y="${bottom + 16}" text-anchor="middle">${
        tick >= 1000 ? `${tick / 1000} s` : `${tick} ms`
      }</text>`,
    );
  }
  kill.forEach((k, i) => {
    const groups = [
      [`${k.replicas} replicas, ${k.role}: killed's`, k.killed, RED],
      [`${k.replicas} replicas, ${k.role}: others'`, k.others, BLUE],
    ] as const;
    groups.forEach(([label, values, color], j) => {
      const y = killTop + (2 * i + j) * ROW + ROW / 2;
      out.push(
        `<text x="${LEFT - 10}" y="${y + 4}" text-anchor="end">${
          escape(`${label} (n=${values.length})`)
        }</text>`,
      );
      if (j === 0) {
        const gx = logX(KILL_GOAL_MS[k.role]).toFixed(1);
        out.push(
          `<line x1="${gx}" x2="${gx}" y1="${y - 14}" y2="${
            y + 14
          }" stroke="${GREY}" stroke-width="2" stroke-dasharray="3,2"/>`,
        );
      }
      values.forEach((v, n) => {
        const jitter = ((n * 7919) % 13) - 6;
        out.push(
          `<circle cx="${logX(v).toFixed(1)}" cy="${
            y + jitter
          }" r="3" fill="${color}" fill-opacity="0.5"/>`,
        );
      });
      if (values.length > 0) {
        const mx = logX(median(values)).toFixed(1);
        out.push(
          `<line x1="${mx}" x2="${mx}" y1="${y - 10}" y2="${
            y + 10
          }" stroke="${color}" stroke-width="2"/>`,
        );
      }
    });
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
