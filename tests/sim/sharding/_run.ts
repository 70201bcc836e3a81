/**
 * One seed of the sharding simulator, start to finish: the seed draws a
 * profile (shards, grant timing, clock drift, network, fault rates); a fault
 * phase runs with the checker armed (partitions, kill -9, SIGSTOP, SIGTERM,
 * stand-asides of a replica whose API server is unreachable,
 * restarts); then the network heals, every replica runs again, and within a
 * bound every shard must be held by its owner in an assignment of every
 * replica.
 *
 * @module
 */
import { grantTiming } from "../../../sharding/mod.ts";
import { Prng } from "../../../testing/raft/random.ts";
import { ShardViolation } from "./_checker.ts";
import { VARIANTS } from "./_variants.ts";
import {
  ELECTION_TICKS,
  type NetProfile,
  TICK_MS,
  World,
  type WorldShape,
  type WorldStats,
} from "./_world.ts";

/** What a seed draws. */
export interface ShardProfile extends WorldShape {
  /** Faults per second of the fault phase. */
  rates: {
    partition: number;
    crash: number;
    pause: number;
    leave: number;
  };
  /** Longest pause, ms. */
  pauseMax: number;
  /** Longest time a crashed replica stays down, ms. */
  downMax: number;
  /** Longest time a partition lasts, ms. */
  partitionMax: number;
  /** Length of the fault phase, ms. */
  faultMs: number;
}

/** Options of {@linkcode runShardSeed}. */
export interface ShardRunOptions {
  /** Replicas: 3 or 5. */
  nodes: number;
  /** The variant of the grant state machines (default `real`). */
  variant?: string;
  /** Length of the fault phase, ms (default 8000). */
  faultMs?: number;
  /** Receives a trace line per event. */
  trace?: (line: string) => void;
}

/** The outcome of one seed. */
export interface ShardSeedResult {
  /** The seed. */
  seed: number;
  /** Replicas. */
  nodes: number;
  /** The first broken invariant, or `null`. */
  violation: ShardViolation | null;
  /** Real ms from healing until every shard was held by its owner (`null` after a violation). */
  recovery: number | null;
  /** The bound the run allowed for it. */
  bound: number;
  /** What happened. */
  stats: WorldStats;
  /** The profile the seed drew. */
  profile: ShardProfile;
}

/** Draws a profile from the seed. */
export function drawShardProfile(
  prng: Prng,
  options: { nodes: number; faultMs: number },
): ShardProfile {
  const drift = prng.pick([0.001, 0.01, 0.01, 0.05]);
  const grantMs = prng.pick([100, 200, 500, 500]);
  const granularity = prng.pick([1, 1, 0.001]);
  const longDelays = prng.chance(0.3);
  return {
    nodes: options.nodes,
    shardCount: prng.pick([4, 16, 64]),
    timing: grantTiming({ grantMs, drift, clockGranularityMs: granularity }),
    clock: {
      drift: prng.chance(0.8) ? drift : drift * prng.next(),
      granularity,
      extremesShare: prng.pick([0, 0.5, 1]),
    },
    memberTimeoutMs: prng.pick([100, 250, grantMs, 2 * grantMs]),
    drainMs: prng.pick([0, 20, 100]),
    net: {
      loss: prng.pick([0, 0.01, 0.05, 0.2]),
      duplicate: prng.pick([0, 0.02, 0.1]),
      minDelay: 0.05,
      maxDelay: prng.pick([1, 5, 20, longDelays ? 60 : 5]),
      tail: longDelays ? prng.pick([0.005, 0.02]) : 0,
      tailMax: prng.pick([300, 1500, 3000]),
    },
    rates: {
      partition: prng.pick([0, 0.2, 0.5, 1]),
      crash: prng.pick([0, 0.1, 0.3]),
      pause: prng.pick([0, 0.1, 0.3, 0.6]),
      leave: prng.pick([0, 0.1, 0.3]),
    },
    pauseMax: prng.pick([300, 1000, 3000]),
    downMax: prng.pick([300, 1500, 3000]),
    partitionMax: prng.pick([300, 1500, 3000]),
    faultMs: options.faultMs,
  };
}

/** The one-line command that replays a seed. */
export function shardReplayCommand(
  seed: number,
  options: { nodes: number; faultMs: number; variant?: string },
): string {
  const variant = options.variant === undefined || options.variant === "real"
    ? ""
    : ` --variant ${options.variant}`;
  return `deno task sim:sharding --seed ${seed} --nodes ${options.nodes} --ms ${options.faultMs}${variant} --verbose`;
}

/** Longest warm-up before the faults start, ms. */
const WARM_UP_MS = 5000;

/** Largest message delay after healing, ms. */
const HEAL_DELAY = 2;

/** The network after healing, and of the scenarios: short delays, nothing lost. */
const CALM_NET: NetProfile = {
  loss: 0,
  duplicate: 0,
  minDelay: 0.05,
  maxDelay: HEAL_DELAY,
  tail: 0,
  tailMax: 0,
};

/**
 * Real ms a correct implementation needs, at most, after healing to have
 * every shard held by its owner under an assignment of every replica:
 *
 * - a restarted replica ignores votes for an election timeout `E`;
 * - `voters + 2` elections of a timeout (up to `2E`), a pre-vote and a vote
 *   round trip and a tick each (split votes repeat one);
 * - a heartbeat round trip for the lease, and the new leader's wait
 *   (`holdMs`);
 * - the leader applies an entry of its term, plans and commits an
 *   assignment: two ticks and two round trips;
 * - the grants of processes that died before healing run out on the leader
 *   (`holdMs` after their last request), and a holder asked to release
 *   drains first (`drainMs`, then a tick);
 * - a renewal round: a tick and a round trip, twice.
 *
 * Every local duration is stretched by the drift bound into real time.
 */
export function shardHealBound(profile: ShardProfile): number {
  const stretch = 1 / (1 - profile.clock.drift);
  const e = ELECTION_TICKS * TICK_MS * stretch;
  const tick = TICK_MS * stretch;
  const rtt = 2 * HEAL_DELAY;
  const hold = profile.timing.holdMs * stretch;
  return e + (profile.nodes + 2) * (2 * e + 2 * rtt + tick) +
    (tick + rtt) + hold + 2 * (tick + rtt) + hold +
    profile.drainMs + tick + 2 * (tick + rtt);
}

/** Replicas for a seed when `--nodes` is not given: 3 for odd seeds, 5 for even. */
export function nodesForShardSeed(seed: number): number {
  return seed % 2 === 1 ? 3 : 5;
}

/** The value at quantile `p` of `values` ("-" when empty). */
export function quantile(values: readonly number[], p: number): string {
  if (values.length === 0) return "-";
  const sorted = [...values].sort((a, b) => a - b);
  const v = sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return v.toFixed(0);
}

/** Runs one seed. */
export function runShardSeed(
  seed: number,
  options: ShardRunOptions,
): ShardSeedResult {
  const prng = new Prng(seed);
  const faultMs = options.faultMs ?? 8000;
  const profile = drawShardProfile(prng, { nodes: options.nodes, faultMs });
  const variant = VARIANTS[options.variant ?? "real"];
  if (variant === undefined) {
    throw new Error(
      `Expected a variant among ${
        Object.keys(VARIANTS).join(", ")
      }, found ${options.variant}`,
    );
  }
  const world = new World({
    ...profile,
    variant,
    prng: prng.fork(),
    trace: options.trace,
  });
  const faults = prng.fork();
  // Stand-asides draw from a sequence of their own, so that every other
  // draw of a seed is what it was before they were simulated.
  const asides = new Prng(seed ^ 0x5a5a5a5a);
  const asideRate = asides.pick([0, 0, 0.2, 0.5]);
  const bound = shardHealBound(profile);
  const result: ShardSeedResult = {
    seed,
    nodes: profile.nodes,
    violation: null,
    recovery: null,
    bound,
    stats: world.stats,
    profile,
  };
  try {
    // Warm-up without faults: the bootstrap election and a first assignment
    // whose shards are all held (or 5 s).
    for (const r of world.replicas) world.start(r);
    world.run(WARM_UP_MS, () => world.settled());
    const start = world.now;
    const end = start + faultMs;
    const step = 50;
    for (let t = start + step; t < end; t += step) {
      world.run(t);
      inject(world, { profile, prng: faults, step, end });
      if (asides.chance(asideRate * step / 1000)) {
        const r = asides.pick(world.replicas);
        world.standAside(r);
        world.at(world.now + asides.range(50, 3000), () => world.rejoin(r));
      }
    }
    world.run(end);
    // Heal: links back, a calm network, every replica running again.
    world.healLinks();
    world.net = { ...CALM_NET };
    let healed = world.now;
    for (const r of world.replicas) {
      healed = Math.max(healed, r.pausedUntil);
      world.rejoin(r);
      if (r.proc === null) world.start(r);
      else if (r.proc.leavingSince !== null) {
        r.restartOnStop = true;
        healed = Math.max(
          healed,
          world.now + 2 * profile.timing.grantMs / (1 - profile.clock.drift) +
            TICK_MS,
        );
      }
    }
    world.run(healed);
    const deadline = healed + bound;
    world.run(deadline, () => world.settled());
    if (!world.settled()) {
      throw new ShardViolation("every shard granted after healing", {
        at: world.now,
        detail:
          `not every shard was held by its owner in an assignment of all ${profile.nodes} replicas within ${
            bound.toFixed(0)
          } ms of healing`,
      });
    }
    result.recovery = world.now - healed;
  } catch (error) {
    result.violation = asViolation(error, world.now);
  }
  return result;
}

/** A violation as thrown, or any other error as a "simulator error" one. */
function asViolation(error: unknown, at: number): ShardViolation {
  if (error instanceof ShardViolation) return error;
  return new ShardViolation("simulator error", {
    at,
    detail: error instanceof Error ? `${error.stack}` : String(error),
  });
}

/** One step of the fault phase: random partitions, crashes, pauses, leaves, restarts. */
function inject(
  world: World,
  options: { profile: ShardProfile; prng: Prng; step: number; end: number },
): void {
  const { profile, prng, step, end } = options;
  const per = (rate: number) => prng.chance(rate * step / 1000);
  const ids = world.replicas.map((r) => r.id);
  if (per(profile.rates.partition)) {
    const shape = prng.int(3);
    if (shape === 0) {
      const lone = prng.pick(ids);
      world.partition([lone], ids.filter((i) => i !== lone));
    } else if (shape === 1) {
      const split = prng.shuffle(ids);
      const k = prng.range(1, ids.length - 1);
      world.partition(split.slice(0, k), split.slice(k));
    } else {
      const from = prng.pick(ids);
      world.cut(from, prng.pick(ids.filter((i) => i !== from)));
    }
    world.at(world.now + prng.range(50, profile.partitionMax), () => {
      if (world.now < end) world.healLinks();
    });
  }
  if (per(profile.rates.crash)) {
    const r = prng.pick(world.replicas);
    if (r.proc !== null) {
      world.crash(r);
      world.at(world.now + prng.range(50, profile.downMax), () => {
        if (r.proc === null) world.start(r);
      });
    }
  }
  if (per(profile.rates.pause)) {
    world.pause(prng.pick(world.replicas), prng.range(20, profile.pauseMax));
  }
  if (per(profile.rates.leave)) {
    const r = prng.pick(world.replicas);
    if (r.proc !== null && r.proc.leavingSince === null) {
      world.leave(r);
      const back = prng.range(100, profile.downMax);
      world.at(world.now + back, () => {
        if (r.proc === null) world.start(r);
        else if (r.proc.leavingSince !== null) r.restartOnStop = true;
      });
    }
  }
}

/** The single events `--scenario` measures on a calm cluster. */
export const SCENARIOS = [
  "kill",
  "kill-leader",
  "sigterm",
  "sigterm-leader",
] as const;

/** One of {@linkcode SCENARIOS}. */
export type Scenario = typeof SCENARIOS[number];

/** The outcome of one scenario seed. */
export interface ScenarioResult {
  /** The first broken invariant, or `null`. */
  violation: ShardViolation | null;
  /** Real ms from the event to the next grant of each shard the replica held. */
  samples: number[];
  /** Shards the replica held that no one else was granted within 10 s. */
  stranded: number;
  /** Per shard (all of them), the longest time without a holder in the 5 s after the event. */
  gaps: number[];
}

/**
 * One calm run with the defaults (256 shards, `grantMs` 500, drift 1 %,
 * member timeout `grantMs`, no drain, delays up to 2 ms, no loss): after the
 * first assignment is held, one event (kill -9 or SIGTERM of a non-leader
 * owner or of the leader), then the time until each of its shards is
 * granted to another replica.
 */
export function runShardScenario(
  seed: number,
  options: { nodes: number; scenario: Scenario },
): ScenarioResult {
  const prng = new Prng(seed);
  const timing = grantTiming();
  const world = new World({
    nodes: options.nodes,
    shardCount: 256,
    timing,
    clock: { drift: 0.01, granularity: 1, extremesShare: 0.5 },
    memberTimeoutMs: timing.grantMs,
    drainMs: 0,
    net: CALM_NET,
    variant: VARIANTS.real,
    prng: prng.fork(),
  });
  const result: ScenarioResult = {
    violation: null,
    samples: [],
    stranded: 0,
    gaps: [],
  };
  try {
    for (const r of world.replicas) world.start(r);
    world.run(WARM_UP_MS, () => world.settled());
    world.run(world.now + 200 + prng.next() * 1000);
    const leader = world.replicas.find((r) => r.proc?.issuer != null);
    const others = world.replicas.filter((r) =>
      r !== leader && r.proc !== null
    );
    const victim = options.scenario.endsWith("leader")
      ? leader
      : prng.pick(others);
    if (victim === undefined) return result;
    const held = victim.proc!.holder.held(victim.clock.read(world.now)).length;
    const from = world.now;
    if (options.scenario.startsWith("kill")) world.crash(victim);
    else world.leave(victim);
    const samples = options.scenario.startsWith("kill")
      ? world.stats.failover
      : world.stats.handover;
    world.run(from + 10_000, () => samples.length >= held);
    result.samples = [...samples];
    result.stranded = held - samples.length;
    world.run(from + 5_000);
    for (let shard = 0; shard < 256; shard++) {
      result.gaps.push(
        world.checker.longestGap(shard, { from, to: from + 5_000 }),
      );
    }
  } catch (error) {
    result.violation = asViolation(error, world.now);
  }
  return result;
}
