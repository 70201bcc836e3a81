/**
 * One seed, start to finish: the seed picks a cluster size, a core tuning, a
 * fault profile and every fault; a fault phase runs with the checker armed,
 * then the network heals, every node restarts, and liveness is checked.
 *
 * @module
 */
import type { ConfChange, NodeId } from "../../raft/types.ts";
import { Cluster } from "./_cluster.ts";
import type {
  ClusterStats,
  CoreFactory,
  RefusalTest,
  SimCoreTuning,
  SimNode,
} from "./_cluster.ts";
import { SimViolation } from "./_invariants.ts";
import type {
  NetworkFaults,
  NetworkStats,
} from "../../testing/raft/network.ts";
import { Prng } from "../../testing/raft/random.ts";

/** The fault profile a seed draws. */
export interface Profile {
  /** Initial voters. */
  nodes: number;
  /** Core tuning. */
  tuning: SimCoreTuning;
  /** Network faults during the fault phase. */
  faults: NetworkFaults;
  /** Entries applied between snapshots (0: never). */
  compactEvery: number;
  /** Per-tick probability of a partition change. */
  partitionRate: number;
  /** Per-tick probability of a crash. */
  crashRate: number;
  /**
   * Per-tick probability of a disk loss (a crash that throws the node's
   * store away), when no other node is lost.
   */
  wipeRate: number;
  /** The tick of the fault phase at which every node loses its store, or `null`. */
  wipeAllAt: number | null;
  /** Per-tick probability that a crashed node restarts. */
  restartRate: number;
  /** Per-tick probability of a client proposal. */
  proposeRate: number;
  /** Per-tick probability of a membership change. */
  confRate: number;
  /** Per-tick probability of a leadership transfer. */
  transferRate: number;
  /** Per-tick probability that a random node campaigns. */
  campaignRate: number;
  /** Probability that a new leader is cut off the moment it is seen (Figure 8 style). */
  isolateLeaderRate: number;
  /** Probability that a leader is cut off right after its commit index moves. */
  isolateOnCommitRate: number;
  /** Ticks of the fault phase. */
  faultTicks: number;
  /** Whether the fault phase opens with the scripted Figure 8 scenario. */
  figure8: boolean;
}

/** Everything needed to run one seed. */
export interface RunOptions {
  /** Initial voters: 3 or 5. */
  nodes: number;
  /** Builds cores. */
  factory: CoreFactory;
  /** Recognizes expected refusals from client calls. */
  isRefusal: RefusalTest;
  /** Ticks of the fault phase (default 300). */
  faultTicks?: number;
  /**
   * Ticks allowed after healing for a leader that holds a lease and a commit
   * on all members (default: {@linkcode healBound} of the run).
   */
  livenessTicks?: number;
  /** Receives a trace line per event. */
  trace?: (line: string) => void;
}

/**
 * Ticks from healing until the first leader, until a leader held a lease,
 * and until a proposal was applied on every member; and the bound they had.
 */
export interface Recovery {
  /** Ticks until some node led. */
  leader: number;
  /** Ticks until a leader held a lease (`leaseTicks()` below the margin). */
  lease: number;
  /** Ticks until a proposal was applied on every member. */
  commit: number;
  /** The bound the run allowed (see {@linkcode healBound}). */
  bound: number;
}

/** The outcome of one seed. */
export interface SeedResult {
  /** The seed. */
  seed: number;
  /** Initial voters. */
  nodes: number;
  /** Ticks simulated. */
  ticks: number;
  /** The first broken invariant, or `null`. */
  violation: SimViolation | null;
  /** How fast the healed cluster recovered (`null` after a violation). */
  recovery: Recovery | null;
  /** What happened. */
  stats: ClusterStats;
  /** What the network did. */
  network: NetworkStats;
  /** The profile the seed drew. */
  profile: Profile;
}

/** Draws a profile from the seed. */
export function drawProfile(
  prng: Prng,
  options: { nodes: number; faultTicks: number },
): Profile {
  const figure8 = prng.chance(0.3);
  return {
    nodes: options.nodes,
    tuning: {
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: prng.chance(0.75),
      checkQuorum: prng.chance(0.75),
      maxInflightAppends: figure8 ? 1 : prng.pick([1, 2, 64]),
      maxEntriesPerAppend: figure8 ? 1 : prng.pick([1, 1, 3, 512]),
    },
    faults: {
      loss: figure8
        ? prng.pick([0, 0.01])
        : prng.pick([0, 0.01, 0.05, 0.15, 0.3]),
      duplicate: prng.pick([0, 0.02, 0.1]),
      minDelay: 1,
      maxDelay: figure8 ? prng.pick([1, 2]) : prng.pick([1, 2, 4, 8]),
    },
    compactEvery: prng.pick([0, 4, 10, 30]),
    partitionRate: prng.pick([0, 0.01, 0.03, 0.08]),
    crashRate: prng.pick([0, 0.005, 0.02, 0.05]),
    wipeRate: prng.pick([0, 0, 0.003, 0.01]),
    wipeAllAt: prng.chance(0.15) ? prng.range(20, options.faultTicks) : null,
    restartRate: prng.pick([0.02, 0.1, 0.3]),
    proposeRate: prng.pick([0.1, 0.3, 0.7]),
    confRate: prng.pick([0, 0.01, 0.05]),
    transferRate: prng.pick([0, 0.005, 0.02]),
    campaignRate: prng.pick([0, 0.005, 0.02]),
    isolateLeaderRate: prng.pick([0, 0, 0.3, 0.7]),
    isolateOnCommitRate: prng.pick([0, 0, 0.05, 0.3]),
    faultTicks: options.faultTicks,
    figure8,
  };
}

/** The one-line command that replays a seed, with every flag that shapes it. */
export function replayCommand(
  seed: number,
  options: { nodes: number; ticks: number; variant?: string },
): string {
  const variant = options.variant === undefined
    ? ""
    : ` --variant ${options.variant}`;
  return `deno task sim --seed ${seed} --nodes ${options.nodes} --ticks ${options.ticks}${variant} --verbose`;
}

/** Largest message delay after healing, in ticks. */
const HEAL_DELAY = 2;

/**
 * How many ticks after healing a correct core needs, at most, to have a
 * leader holding a lease and a fresh proposal applied on every member,
 * sized from the run: the election timeout, the delay, the core's flow
 * control, the log the laggards must fetch and the membership changes due.
 *
 * - Every node restarts: a restarted node ignores vote requests for an
 *   election timeout `E`, then times out within `2E`.
 * - One election is a pre-vote and a vote round trip after a timeout
 *   (`2E + 2·rtt`); split votes repeat it, so `voters + 2` of them are
 *   allowed (a round fails only when two timeouts fall within a round trip).
 * - The lease needs a heartbeat round trip after the election.
 * - Catch-up: a member `lag` entries behind gets at least
 *   `maxEntriesPerAppend` of them per round trip (one append at a time, as
 *   in probe state: appends that a delay reorders are refused and send the
 *   leader back to probing, so pipelining cannot be counted on), or a
 *   snapshot.
 * - Each membership change still to make (a member that lost its disk is
 *   re-added, then promoted) takes a commit round trip plus an election
 *   timeout of acknowledgements to count as caught up.
 * - A cluster that lost every store bootstraps anew: two election timeouts
 *   of waiting, then as many bootstrap elections as elections above.
 * - The proposal itself: two round trips.
 */
export function healBound(
  profile: Profile,
  state: {
    lag: number;
    voters: number;
    confChanges: number;
    bootstrap: boolean;
  },
): number {
  const e = profile.tuning.electionTicks;
  const rtt = 2 * HEAL_DELAY;
  const election = 2 * e + 2 * rtt;
  const catchUp = Math.ceil(state.lag / profile.tuning.maxEntriesPerAppend) *
    rtt;
  // A cluster whose every member lost its state bootstraps anew: two
  // election timeouts of waiting, then probes and a bootstrap election that
  // takes every vote, as many tries as elections.
  const bootstrap = state.bootstrap
    ? 2 * e + (state.voters + 2) * (election + rtt)
    : 0;
  return e + bootstrap + (state.voters + 2) * election + rtt + catchUp +
    state.confChanges * (rtt + e) + 2 * rtt;
}

interface Scheduled {
  at: number;
  run: () => void;
}

class Driver {
  readonly cluster: Cluster;
  readonly profile: Profile;
  readonly prng: Prng;
  readonly ids: NodeId[];
  #agenda: Scheduled[] = [];
  #trace?: (line: string) => void;

  constructor(
    cluster: Cluster,
    options: { profile: Profile; prng: Prng; trace?: (line: string) => void },
  ) {
    this.cluster = cluster;
    this.profile = options.profile;
    this.prng = options.prng;
    this.ids = [...cluster.nodes.keys()];
    this.#trace = options.trace;
  }

  #log(line: string): void {
    this.#trace?.(`[${this.cluster.now}] ${line}`);
  }

  /** Adds a line to the trace. */
  note(line: string): void {
    this.#log(line);
  }

  later(delay: number, run: () => void): void {
    this.#agenda.push({ at: this.cluster.now + delay, run });
  }

  runAgenda(): void {
    const due = this.#agenda.filter((s) => s.at <= this.cluster.now);
    this.#agenda = this.#agenda.filter((s) => s.at > this.cluster.now);
    for (const s of due) s.run();
  }

  clearAgenda(): void {
    this.#agenda = [];
  }

  leader(): SimNode | null {
    const leaders = this.cluster.leaders();
    if (leaders.length === 0) return null;
    return leaders.reduce((a, b) => (b.term > a.term ? b : a));
  }

  faults(): void {
    const p = this.profile;
    const { cluster, prng } = this;
    if (prng.chance(p.partitionRate)) this.#partition();
    if (prng.chance(p.crashRate)) {
      const live = cluster.live();
      if (live.length > 0) cluster.crash(prng.pick(live).id);
    }
    // Disk loss, within what the design promises to survive (see mayWipe).
    if (prng.chance(p.wipeRate)) {
      const id = prng.pick(this.ids);
      if (cluster.mayWipe(id)) cluster.wipe(id);
    }
    for (const node of cluster.nodes.values()) {
      if (!node.live && prng.chance(p.restartRate)) cluster.restart(node.id);
    }
    if (prng.chance(p.proposeRate)) {
      const leader = this.leader();
      if (leader !== null) cluster.propose(leader.id);
      else {
        const live = cluster.live();
        if (live.length > 0) cluster.propose(prng.pick(live).id);
      }
    }
    if (prng.chance(p.confRate)) this.#confChange();
    if (prng.chance(p.transferRate)) {
      const leader = this.leader();
      if (leader !== null) {
        const others = leader.conf.voters.filter((v) => v !== leader.id);
        if (others.length > 0) cluster.transfer(leader.id, prng.pick(others));
      }
    }
    if (prng.chance(p.campaignRate)) {
      const live = cluster.live();
      if (live.length > 0) cluster.campaign(prng.pick(live).id);
    }
  }

  #partition(): void {
    const { cluster, prng, ids } = this;
    const net = cluster.network.links;
    const kind = prng.int(6);
    if (kind === 0) {
      net.heal();
      this.#log("heal network");
    } else if (kind === 1) {
      const lone = prng.pick(ids);
      net.partition([lone], ids.filter((i) => i !== lone));
      this.#log(`isolate ${lone}`);
    } else if (kind === 2) {
      const shuffled = prng.shuffle(ids);
      const cut = prng.range(1, ids.length - 1);
      const a = shuffled.slice(0, cut);
      const b = shuffled.slice(cut);
      net.heal();
      net.partition(a, b);
      this.#log(`partition [${a}] | [${b}]`);
    } else if (kind === 3) {
      const count = prng.range(1, ids.length);
      for (let k = 0; k < count; k++) {
        const from = prng.pick(ids);
        const to = prng.pick(ids.filter((i) => i !== from));
        net.cut(from, to);
        this.#log(`cut ${from} -> ${to}`);
      }
    } else if (kind === 4) {
      // A partial partition: the leader loses one follower, which still
      // reaches the others (what leader stickiness is for).
      const leader = this.leader();
      if (leader === null) return;
      const other = prng.pick(ids.filter((i) => i !== leader.id));
      net.heal();
      net.partition([leader.id], [other]);
      this.#log(`cut leader ${leader.id} <-> ${other} only`);
    } else {
      const leader = this.leader();
      if (leader === null) return;
      const others = prng.shuffle(ids.filter((i) => i !== leader.id));
      const side = [leader.id, ...others.slice(0, prng.int(2))];
      net.heal();
      net.partition(side, ids.filter((i) => !side.includes(i)));
      this.#log(`partition leader side [${side}]`);
    }
  }

  #confChange(): void {
    // None while a node that lost its disk is not a voter again: a removal
    // then can leave the only copy of the newest membership on the node it
    // removed, with no quorum that kept its state to elect another.
    const leader = this.leader();
    if (leader === null || this.cluster.lostNodes().length > 0) return;
    const { voters, learners } = leader.conf;
    const members = new Set([...voters, ...learners]);
    const outside = this.ids.filter((i) => !members.has(i));
    let change: ConfChange | null = null;
    if (learners.length > 0) {
      const who = this.prng.pick(learners);
      change = this.prng.chance(0.7)
        ? { type: "promote", nodeId: who }
        : { type: "remove", nodeId: who };
    } else if (voters.length > this.profile.nodes) {
      change = { type: "remove", nodeId: this.prng.pick(voters) };
    } else if (outside.length > 0) {
      change = { type: "addLearner", nodeId: this.prng.pick(outside) };
    }
    if (change !== null) this.cluster.proposeConfChange(leader.id, change);
  }

  /**
   * Figure 8 style: cut a leader off the moment it is elected (before its
   * first messages land) or right after its commit index moves, then crash
   * or heal it later.
   */
  adversary(seen: Map<string, number>): void {
    const { cluster, prng } = this;
    for (const leader of cluster.leaders()) {
      const key = `${leader.id}@${leader.term}`;
      const commit = seen.get(key);
      seen.set(key, leader.commit);
      const rate = commit === undefined
        ? this.profile.isolateLeaderRate
        : commit < leader.commit
        ? this.profile.isolateOnCommitRate
        : 0;
      if (rate > 0 && prng.chance(rate)) this.#cutOff(leader.id);
    }
  }

  #cutOff(id: NodeId): void {
    const { cluster, prng, ids } = this;
    const rest = ids.filter((i) => i !== id);
    const keep = prng.chance(0.5) ? [] : [prng.pick(rest)];
    cluster.network.links.heal();
    cluster.network.links.partition(
      [id, ...keep],
      rest.filter((i) => !keep.includes(i)),
    );
    this.#log(`cut off leader ${id} with [${keep}]`);
    const proposals = prng.int(4);
    for (let k = 0; k < proposals; k++) {
      this.later(prng.range(0, 3), () => cluster.propose(id));
    }
    const after = prng.range(1, 25);
    if (prng.chance(0.6)) {
      this.later(after, () => cluster.crash(id));
      this.later(after + prng.range(5, 60), () => cluster.restart(id));
    }
    this.later(after + prng.range(0, 40), () => {
      cluster.network.links.heal();
      this.#log("heal network");
    });
  }
}

/** Waits (one `yield` per tick) until `found` returns a value or `ticks` pass. */
function* waitFor<T>(
  ticks: number,
  found: () => T | null,
): Generator<void, T | null, void> {
  for (let t = 0; t < ticks; t++) {
    const value = found();
    if (value !== null) return value;
    yield;
  }
  return found();
}

/**
 * The Figure 8 scenario of the Raft paper, as a script of faults (one
 * `yield` per tick). A leader L1 writes entries that reach only a minority
 * and crashes; a leader L2 elected without them writes a conflicting entry
 * of a higher term and crashes at once; L1 returns and a leader L3 of a
 * still higher term replicates L1's old entries one at a time. The moment
 * L3's commit index moves, L3 crashes and L2 returns, cut off with the
 * nodes that elected it from those that hold L1's entries. A
 * correct core only moves its commit index once its own no-op is on a
 * majority, so L2 cannot win; a core that counts replicas of old-term
 * entries has committed an entry that L2 is about to overwrite.
 */
function* figure8(d: Driver): Generator<void, void, void> {
  const { cluster, prng } = d;
  const net = cluster.network.links;
  // A cluster past its bootstrap: every voter holds the membership.
  const l1 = yield* waitFor(200, () => {
    const leader = d.leader();
    return leader !== null &&
        leader.conf.voters.every((v) =>
          (cluster.nodes.get(v)?.conf.voters.length ?? 0) > 0
        )
      ? leader
      : null;
  });
  if (l1 === null) return;
  const voters = [...l1.conf.voters];
  const majority = Math.floor(voters.length / 2) + 1;
  const others = prng.shuffle(voters.filter((v) => v !== l1.id));
  const helpers = others.slice(0, Math.max(0, majority - 2));
  const rest = others.slice(helpers.length);
  d.note(`figure 8: L1 ${l1.id} writes to [${helpers}] only`);
  net.heal();
  net.partition([l1.id, ...helpers], rest);
  for (let k = prng.range(1, 3); k > 0; k--) {
    cluster.propose(l1.id);
    yield;
  }
  cluster.crash(l1.id);
  net.partition(helpers, rest);
  const l2 = yield* waitFor(
    300,
    () =>
      cluster.leaders().find((n) => rest.includes(n.id) && n.term > l1.term) ??
        null,
  );
  if (l2 === null) return;
  d.note(`figure 8: L2 ${l2.id} cut off at once`);
  net.heal();
  net.partition([l2.id], voters.filter((v) => v !== l2.id));
  for (let k = prng.range(0, 2); k > 0; k--) cluster.propose(l2.id);
  yield;
  cluster.crash(l2.id);
  net.heal();
  cluster.restart(l1.id);
  const l3 = yield* waitFor(
    300,
    () => cluster.leaders().find((n) => n.term > l2.term) ?? null,
  );
  if (l3 === null) return;
  const since = l3.commit;
  const moved = yield* waitFor(100, () => (l3.commit > since ? l3 : null));
  if (moved === null) return;
  d.note(`figure 8: L3 ${l3.id} committed ${l3.commit}, cut off and crashed`);
  net.partition(rest, voters.filter((v) => !rest.includes(v)));
  cluster.crash(l3.id);
  cluster.restart(l2.id);
  for (let t = prng.range(50, 150); t > 0; t--) yield;
  net.heal();
  cluster.restart(l3.id);
}

/** Runs one seed with the checker armed after every step. */
export function runSeed(seed: number, options: RunOptions): SeedResult {
  const prng = new Prng(seed);
  const profile = drawProfile(prng.fork(), {
    nodes: options.nodes,
    faultTicks: options.faultTicks ?? 300,
  });
  const ids = Array.from({ length: options.nodes + 1 }, (_, i) => i + 1);
  const voters = ids.slice(0, options.nodes);
  const cluster = new Cluster({
    ids,
    bootstrap: { voters, learners: [] },
    factory: options.factory,
    isRefusal: options.isRefusal,
    tuning: profile.tuning,
    faults: profile.faults,
    compactEvery: profile.compactEvery,
    prng: prng.fork(),
    trace: options.trace,
  });
  let violation: SimViolation | null = null;
  let recovery: Recovery | null = null;
  try {
    cluster.start();
    const driver = new Driver(cluster, {
      profile,
      prng: prng.fork(),
      trace: options.trace,
    });
    const known = new Map<string, number>();
    const script = profile.figure8 ? figure8(driver) : null;
    let scripted = script !== null;
    for (let t = 0; t < profile.faultTicks || scripted; t++) {
      if (scripted) scripted = !script!.next().done;
      else {
        driver.runAgenda();
        if (t === profile.wipeAllAt) cluster.wipeAll();
        driver.faults();
      }
      cluster.tick();
      if (!scripted) driver.adversary(known);
    }
    recovery = heal(cluster, driver, {
      profile,
      bound: options.livenessTicks,
    });
  } catch (error) {
    if (!(error instanceof SimViolation)) throw error;
    violation = error;
  }
  return {
    seed,
    nodes: options.nodes,
    ticks: cluster.now,
    violation,
    recovery,
    stats: cluster.stats,
    network: cluster.network.stats,
    profile,
  };
}

function heal(
  cluster: Cluster,
  driver: Driver,
  options: { profile: Profile; bound?: number },
): Recovery {
  driver.clearAgenda();
  cluster.network.links.heal();
  cluster.network.faults = {
    loss: 0,
    duplicate: 0,
    minDelay: 1,
    maxDelay: HEAL_DELAY,
  };
  for (const node of cluster.nodes.values()) cluster.restart(node.id);
  const pool = [...cluster.nodes.values()];
  const lastIndex = Math.max(...pool.map((n) => n.store.lastIndex));
  const voters = Math.max(
    options.profile.nodes,
    ...pool.map((n) => n.conf.voters.length),
  );
  const bound = options.bound ?? healBound(options.profile, {
    lag: lastIndex - Math.min(...pool.map((n) => n.sm.applied)),
    voters,
    // Each lost member is re-added, then promoted.
    confChanges: 2 * cluster.lostNodes().length,
    bootstrap: pool.every((n) => n.store.lastIndex === 0),
  });
  // The runtime's margin: a lease of electionTicks - 2 ticks.
  const margin = options.profile.tuning.electionTicks - 2;
  const start = cluster.now;
  let target: { index: number; term: number; leader: NodeId } | null = null;
  let firstLeader: number | null = null;
  let firstLease: number | null = null;
  while (cluster.now - start < bound) {
    cluster.tick();
    const leader = driver.leader();
    if (leader === null) continue;
    firstLeader ??= cluster.now - start;
    const lease = cluster.leaseTicks(leader.id);
    if (lease === null || lease >= margin) continue;
    firstLease ??= cluster.now - start;
    if (
      target === null || target.term !== leader.term ||
      target.leader !== leader.id
    ) {
      const index = cluster.propose(leader.id);
      target = index === null
        ? null
        : { index, term: leader.term, leader: leader.id };
      continue;
    }
    const members = [...leader.conf.voters, ...leader.conf.learners];
    const behind = members.filter((id) => {
      const node = cluster.nodes.get(id);
      return node === undefined || node.sm.applied < target!.index;
    });
    if (behind.length === 0) {
      return {
        leader: firstLeader,
        lease: firstLease,
        commit: cluster.now - start,
        bound,
      };
    }
  }
  const leader = driver.leader();
  cluster.checker.fail(
    "liveness",
    leader === null
      ? `no leader ${bound} ticks after the network healed`
      : firstLease === null
      ? `leader ${leader.id} (term ${leader.term}) held no lease within ${bound} ticks of healing`
      : `leader ${leader.id} (term ${leader.term}) did not get a proposal applied on every member within ${bound} ticks of healing`,
  );
}
