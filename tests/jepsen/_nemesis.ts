/**
 * The nemesis of the linearizability test: a seeded schedule of faults
 * against real node processes, overlapping up to a limit.
 *
 * | kind         | what it does                                                                         |
 * | ------------ | ------------------------------------------------------------------------------------ |
 * | `kill`       | `kill -9` a node (the leader half the time), restart it from its files after a while |
 * | `pause`      | SIGSTOP a node (the leader half the time) for longer than an election timeout, SIGCONT |
 * | `partition`  | cut a node off both ways, only its inbound or outbound links, or (5 nodes) a minority |
 * | `transfer`   | ask the leader to hand leadership to another node                                    |
 * | `membership` | remove a node (the leader at times) through the leader, add it back after a while    |
 *
 * The first faults go through every enabled kind once, in a seeded order,
 * so even a short run injects each; then kinds are drawn at random. Every
 * choice (kind, gap, duration, whether to aim at the leader, which node,
 * which partition) comes from the seeded generator, in an order that does
 * not depend on timing; which node is the leader at that moment does.
 *
 * @module
 */
import type {
  NodeEvent,
  ProcessCluster,
} from "../../testing/raft/processes.ts";
import type { Prng } from "../../testing/raft/random.ts";
import type { LinkProxies } from "./_proxy.ts";

/** The kinds of fault. */
export const FAULT_KINDS = [
  "kill",
  "pause",
  "partition",
  "transfer",
  "membership",
] as const;

/** One kind of fault. */
export type FaultKind = typeof FAULT_KINDS[number];

/** One injected fault, as the summary lists it. */
export interface FaultRecord {
  kind: FaultKind;
  /** What exactly, e.g. `node 2 (leader)` or `cut 0 -> 1, 2 -> 1`. */
  detail: string;
  /** Seconds since the run began. */
  at: number;
  /** When it was healed (seconds), for faults with a duration. */
  healed?: number;
  /** What came of it, for transfers and membership changes. */
  outcome?: string;
  /** Whether a transfer handed over, or a membership change went both ways. */
  effective?: boolean;
}

/** What the nemesis needs from the run. */
export interface NemesisContext {
  cluster: ProcessCluster;
  proxies: LinkProxies;
  /** Every node id. */
  ids: readonly number[];
  /** The node believed to lead, if any. */
  leader(): number | null;
  /** kill -9, expected (not reported as a crash). */
  kill(id: number): Promise<void>;
  /** Starts a node again and waits until it listens. */
  restart(id: number): Promise<void>;
  /**
   * Runs a command on the leader, following it as it moves, until it
   * succeeds or `timeoutMs` passes; resolves with the last answer.
   */
  onLeader(cmd: Record<string, unknown>, timeoutMs: number): Promise<NodeEvent>;
  /** Seconds since the run began. */
  elapsed(): number;
  /** Reports a line (verbose runs). */
  log(line: string): void;
}

/**
 * How a partition cuts: a node off both ways, only the links into it, only
 * the links out of it, or (5 nodes) a minority off both ways.
 */
export const PARTITION_VARIANTS = [
  "isolate",
  "inbound",
  "outbound",
  "minority",
] as const;

/** One way of cutting. */
export type PartitionVariant = typeof PARTITION_VARIANTS[number];

/** Options of a {@linkcode Nemesis}. */
export interface NemesisOptions {
  kinds: readonly FaultKind[];
  /** How often a kill, pause, partition or removal aims at the leader (default 0.5). */
  leaderShare?: number;
  /** Partition variants to draw from (default all; `minority` needs 5 nodes). */
  partitions?: readonly PartitionVariant[];
  /** Faults with a duration active at once, at most. */
  maxActive: number;
  /** Milliseconds between two faults, `[min, max]`. */
  gapMs: [number, number];
  /** Milliseconds a fault lasts, `[min, max]`. */
  durationMs: [number, number];
}

/** A timer as a promise: the nemesis's schedule, not a wait for a condition. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Injects faults on a seeded schedule. */
export class Nemesis {
  readonly records: FaultRecord[] = [];
  readonly #ctx: NemesisContext;
  readonly #rng: Prng;
  readonly #opts: NemesisOptions;
  readonly #busy = new Set<number>();
  readonly #active = new Set<Promise<void>>();

  constructor(ctx: NemesisContext, rng: Prng, options: NemesisOptions) {
    this.#ctx = ctx;
    this.#rng = rng;
    this.#opts = options;
  }

  /** Injects faults until `until` (on `performance.now`), then waits for every one to heal. */
  async run(until: number): Promise<void> {
    const first = this.#rng.shuffle(this.#opts.kinds);
    let started = 0;
    while (performance.now() < until) {
      const gap = this.#rng.range(...this.#opts.gapMs);
      const draw = this.#rng.next();
      await delay(Math.min(gap, until - performance.now()));
      if (performance.now() >= until) break;
      if (this.#active.size >= this.#opts.maxActive) continue;
      const kinds = this.#opts.kinds;
      const kind = started < first.length
        ? first[started]
        : kinds[Math.floor(draw * kinds.length)];
      const task = this.#inject(kind);
      if (task === null) continue;
      started++;
      const tracked: Promise<void> = task.finally(() =>
        this.#active.delete(tracked)
      );
      this.#active.add(tracked);
    }
    await Promise.all(this.#active);
  }

  /** Faults injected per kind, and of them the effective transfers and membership changes. */
  counts(): Record<FaultKind, { injected: number; effective: number }> {
    const out = Object.fromEntries(
      FAULT_KINDS.map((k) => [k, { injected: 0, effective: 0 }]),
    ) as Record<FaultKind, { injected: number; effective: number }>;
    for (const r of this.records) {
      out[r.kind].injected++;
      if (r.effective ?? true) out[r.kind].effective++;
    }
    return out;
  }

  /** A node that is free, running, preferably the leader (half the time). */
  #target(options: { running: boolean }): number | null {
    const aimAtLeader = this.#rng.chance(this.#opts.leaderShare ?? 0.5);
    const index = this.#rng.next();
    const free = this.#ctx.ids.filter((id) =>
      !this.#busy.has(id) &&
      (!options.running || this.#ctx.cluster.procs.has(id))
    );
    if (free.length === 0) return null;
    const leader = this.#ctx.leader();
    if (aimAtLeader && leader !== null && free.includes(leader)) return leader;
    return free[Math.floor(index * free.length)];
  }

  #record(kind: FaultKind, detail: string): FaultRecord {
    const record: FaultRecord = { kind, detail, at: this.#ctx.elapsed() };
    this.records.push(record);
    this.#ctx.log(`${record.at.toFixed(1)} s: ${kind} ${detail}`);
    return record;
  }

  #healed(record: FaultRecord): void {
    record.healed = this.#ctx.elapsed();
    this.#ctx.log(
      `${record.healed.toFixed(1)} s: healed ${record.kind} ${record.detail}`,
    );
  }

  #label(id: number): string {
    return id === this.#ctx.leader() ? `node ${id} (leader)` : `node ${id}`;
  }

  /** Starts a fault; `null` when no node is free for it. */
  #inject(kind: FaultKind): Promise<void> | null {
    const duration = this.#rng.range(...this.#opts.durationMs);
    switch (kind) {
      case "kill":
        return this.#kill(duration);
      case "pause":
        return this.#pause(duration);
      case "partition":
        return this.#partition(duration);
      case "transfer":
        return this.#transfer();
      case "membership":
        return this.#membership(duration);
    }
  }

  #kill(duration: number): Promise<void> | null {
    const id = this.#target({ running: true });
    if (id === null) return null;
    this.#busy.add(id);
    const record = this.#record("kill", this.#label(id));
    return (async () => {
      try {
        await this.#ctx.kill(id);
        await delay(duration);
        await this.#ctx.restart(id);
        this.#healed(record);
      } finally {
        this.#busy.delete(id);
      }
    })();
  }

  #pause(duration: number): Promise<void> | null {
    const id = this.#target({ running: true });
    if (id === null) return null;
    const p = this.#ctx.cluster.procs.get(id)!;
    this.#busy.add(id);
    const record = this.#record("pause", this.#label(id));
    p.signal("SIGSTOP");
    return (async () => {
      try {
        await delay(duration);
        p.signal("SIGCONT");
        this.#healed(record);
      } finally {
        this.#busy.delete(id);
      }
    })();
  }

  #partition(duration: number): Promise<void> | null {
    const ids = this.#ctx.ids;
    const variants = (this.#opts.partitions ?? PARTITION_VARIANTS).filter((v) =>
      v !== "minority" || ids.length >= 5
    );
    if (variants.length === 0) return null;
    const variant = this.#rng.pick(variants);
    const others = this.#rng.shuffle(ids);
    const id = this.#target({ running: false });
    if (id === null) return null;
    let side = [id];
    if (variant === "minority") {
      const size = Math.floor((ids.length - 1) / 2);
      side = [
        id,
        ...others.filter((o) => o !== id && !this.#busy.has(o)).slice(
          0,
          size - 1,
        ),
      ];
    }
    const rest = ids.filter((o) => !side.includes(o));
    const links: [number, number][] = [];
    for (const a of side) {
      for (const b of rest) {
        if (variant !== "inbound") links.push([a, b]);
        if (variant !== "outbound") links.push([b, a]);
      }
    }
    for (const n of side) this.#busy.add(n);
    const who = side.length === 1
      ? this.#label(id)
      : `nodes ${side.join(", ")}`;
    const record = this.#record("partition", `${variant} ${who}`);
    for (const [a, b] of links) this.#ctx.proxies.cut(a, b);
    return (async () => {
      try {
        await delay(duration);
        for (const [a, b] of links) this.#ctx.proxies.heal(a, b);
        this.#healed(record);
      } finally {
        for (const n of side) this.#busy.delete(n);
      }
    })();
  }

  #transfer(): Promise<void> | null {
    const index = this.#rng.next();
    const leader = this.#ctx.leader();
    const p = leader === null ? undefined : this.#ctx.cluster.procs.get(leader);
    if (leader === null || p === undefined || this.#busy.has(leader)) {
      return null;
    }
    const others = this.#ctx.ids.filter((id) =>
      id !== leader && !this.#busy.has(id) && this.#ctx.cluster.procs.has(id)
    );
    if (others.length === 0) return null;
    const to = others[Math.floor(index * others.length)];
    const record = this.#record("transfer", `node ${leader} -> node ${to}`);
    return (async () => {
      try {
        const r = await p.request({ op: "transfer", to }, 5_000);
        record.effective = typeof r.leader === "number";
        record.outcome = record.effective
          ? `node ${r.leader} leads`
          : `no handover: ${JSON.stringify(r)}`;
      } catch (error) {
        record.outcome = (error as Error).message;
      }
    })();
  }

  #membership(duration: number): Promise<void> | null {
    const id = this.#target({ running: true });
    if (id === null) return null;
    this.#busy.add(id);
    const all = [...this.#ctx.ids];
    const record = this.#record(
      "membership",
      `remove ${this.#label(id)}, add it back`,
    );
    const change = async (voters: number[]) => {
      const r = await this.#ctx.onLeader(
        { op: "members", voters, timeoutMs: 10_000 },
        20_000,
      );
      return r.error === undefined ? "done" : `${r.error}: ${r.message}`;
    };
    return (async () => {
      try {
        const removed = await change(all.filter((n) => n !== id));
        await delay(duration);
        const added = await change(all);
        record.outcome = `removed: ${removed}; added back: ${added}`;
        record.effective = removed === "done" && added === "done";
        this.#healed(record);
      } finally {
        this.#busy.delete(id);
      }
    })();
  }
}
