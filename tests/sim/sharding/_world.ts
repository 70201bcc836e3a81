/**
 * The simulated world of the sharding simulator: replicas that run the real
 * Raft core with the lease computation of `RaftNode`, and the grant state
 * machines of `sharding/` on top (the leader's `GrantIssuer`, every
 * process's `GrantHolder`, assignments planned by the leader and committed
 * through the log); one network of delayed, lost, duplicated and reordered
 * messages with cut links; one drifting clock per machine; and a global
 * (real) clock that only the checker reads.
 *
 * Renewal requests and grants travel as their own messages, encoded with
 * the real codecs, at every tick of the requesting replica; the runtime will
 * carry the same bytes on heartbeats.
 *
 * @module
 */
import { RaftCore } from "../../../raft/core.ts";
import { RaftError } from "../../../raft/errors.ts";
import type { Message, NodeId, Ready, Role } from "../../../raft/types.ts";
import {
  type Assignment,
  decodeAssignment,
  decodeGrant,
  decodeRenewalRequest,
  encodeAssignment,
  encodeGrant,
  encodeRenewalRequest,
  type GrantHolder,
  type GrantIssuer,
  type GrantMessage,
  type GrantTiming,
  isAssignmentEntry,
  planAssignment,
  plannedFor,
  type RenewalRequest,
  shardCandidates,
} from "../../../sharding/mod.ts";
import { cloneMessage } from "../../../testing/raft/network.ts";
import type { Prng } from "../../../testing/raft/random.ts";
import { SimStore } from "../_store.ts";
import { GrantChecker, ShardViolation } from "./_checker.ts";
import { DriftClock } from "./_clock.ts";
import { EventQueue } from "./_events.ts";
import type { Variant } from "./_variants.ts";

/** Local milliseconds per Raft tick (`RaftNode`'s default). */
export const TICK_MS = 50;
/** The minimum election timeout in ticks (`RaftNode`'s default). */
export const ELECTION_TICKS = 6;
/** `RaftNode`'s default lease: `(electionTicks − 2) · tickMs`. */
export const LEASE_MS = (ELECTION_TICKS - 2) * TICK_MS;

/** How the network misbehaves. */
export interface NetProfile {
  /** Probability that a message is lost. */
  loss: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
  /** Smallest delay, ms. */
  minDelay: number;
  /** Largest ordinary delay, ms. */
  maxDelay: number;
  /** Probability that a message is held much longer (a stale message). */
  tail: number;
  /** Largest such delay, ms. */
  tailMax: number;
}

/** The shape of a world: replicas, shards, timing, clocks, network. */
export interface WorldShape {
  /** Replicas (all voters of the bootstrap membership). */
  nodes: number;
  /** Shards. */
  shardCount: number;
  /** Grant timing, the same on every replica. */
  timing: GrantTiming;
  /**
   * The machines' clocks: drift (at most `timing.drift`), reading step, and
   * the share of machines whose rates sit at the extremes.
   */
  clock: { drift: number; granularity: number; extremesShare: number };
  /** How long a silent member stays in the assignment, ms. */
  memberTimeoutMs: number;
  /** Largest time a holder takes to drain a shard before releasing it, ms. */
  drainMs: number;
  /** The network (during the fault phase, for a seed). */
  net: NetProfile;
}

/** What a run's world is made of. */
export interface WorldOptions extends WorldShape {
  /** The grant state machines (real or broken). */
  variant: Variant;
  /** The run's random source. */
  prng: Prng;
  /** Receives a trace line per event, when set. */
  trace?: (line: string) => void;
}

type Packet =
  | { kind: "raft"; from: NodeId; to: NodeId; message: Message }
  | { kind: "renew" | "grant"; from: NodeId; to: NodeId; data: Uint8Array }
  | { kind: "nudge"; from: NodeId; to: NodeId };

/** One process of a replica: all of it dies with a crash. */
class Process {
  readonly core: RaftCore;
  readonly holder: GrantHolder;
  issuer: GrantIssuer | null = null;
  role: Role = "follower";
  term = 0;
  leader: NodeId | null = null;
  tickCount = 0;
  readonly tickTimes: number[];
  lastTickAt: number;
  fence = -1;
  applied = 0;
  assignment: Assignment | null = null;
  /** The index of the first entry of the term it leads (Infinity otherwise). */
  termStart = Infinity;
  /** The index of its latest assignment proposal. */
  pending = 0;
  /** Local time it was told to leave, or `null`. */
  leavingSince: number | null = null;
  /** A leaving leader has started to hand leadership over. */
  transferred = false;

  constructor(core: RaftCore, options: { holder: GrantHolder; now: number }) {
    this.core = core;
    this.holder = options.holder;
    this.lastTickAt = options.now;
    this.tickTimes = new Array(4 * ELECTION_TICKS).fill(-Infinity);
    this.tickTimes[0] = options.now;
  }

  get key(): string {
    return `node ${this.holder.id} (session ${this.holder.session})`;
  }
}

/** One replica: its machine (clock, disk) outlives its processes. */
export class SimReplica {
  readonly id: NodeId;
  readonly clock: DriftClock;
  readonly store: SimStore = new SimStore();
  proc: Process | null = null;
  /** Rises with every process start and stop; events of an older one are dropped. */
  generation = 0;
  pausedUntil = -Infinity;
  /** Start a new process when the current one stops (after a leave). */
  restartOnStop = false;

  constructor(id: NodeId, clock: DriftClock) {
    this.id = id;
    this.clock = clock;
  }
}

/** How many times each thing happened in a run. */
export interface WorldCounts {
  /** Leaders seen (node and term). */
  leaders: number;
  /** Assignments committed (applied by the leader that proposed them). */
  assignments: number;
  /** Grant messages sent. */
  grants: number;
  /** Crashes (kill -9). */
  crashes: number;
  /** Pauses (SIGSTOP). */
  pauses: number;
  /** Leaves (SIGTERM). */
  leaves: number;
  /** Stand-asides (the API server unreachable from a replica that reaches its peers). */
  asides: number;
  /** Partitions made. */
  partitions: number;
  /** Messages delivered. */
  delivered: number;
  /** Releases made. */
  releases: number;
  /** Shards acquired by a holder that did not hold them. */
  acquisitions: number;
}

/** Every count at zero. */
export function zeroCounts(): WorldCounts {
  return {
    leaders: 0,
    assignments: 0,
    grants: 0,
    crashes: 0,
    pauses: 0,
    leaves: 0,
    asides: 0,
    partitions: 0,
    delivered: 0,
    releases: 0,
    acquisitions: 0,
  };
}

/** What happened in a run. */
export interface WorldStats extends WorldCounts {
  /** Real ms from a leaving holder's release of a shard to its next holder's grant. */
  handover: number[];
  /** Real ms from a crash of a holder to the next holder's grant of each shard it held. */
  failover: number[];
}

/** The world one seed runs in. */
export class World {
  /** Global (real) time, ms. */
  now = 0;
  readonly replicas: SimReplica[];
  readonly checker = new GrantChecker();
  readonly stats: WorldStats = {
    ...zeroCounts(),
    handover: [],
    failover: [],
  };
  net: NetProfile;
  readonly #options: WorldOptions;
  readonly #queue = new EventQueue();
  readonly #blocked = new Set<string>();
  readonly #prng: Prng;
  /** shard → when it was left without a holder by a release or crash, and why. */
  readonly #orphaned = new Map<
    number,
    { at: number; why: "leave" | "crash" }
  >();

  constructor(options: WorldOptions) {
    this.#options = options;
    this.#prng = options.prng;
    this.net = { ...options.net };
    this.replicas = Array.from(
      { length: options.nodes },
      (_, id) =>
        new SimReplica(
          id,
          new DriftClock(options.prng.fork(), {
            drift: options.clock.drift,
            granularity: options.clock.granularity,
            extremes: options.prng.chance(options.clock.extremesShare),
          }),
        ),
    );
  }

  /** Runs events until `until` (global ms) or until `stop()` says so. */
  run(until: number, stop?: () => boolean): void {
    while (this.#queue.peek() <= until) {
      const item = this.#queue.pop()!;
      this.now = item.at;
      item.run();
      if (stop?.()) return;
    }
    this.now = Math.max(this.now, until);
  }

  /** Runs `action` at global time `at`, whatever happens to the replicas. */
  at(at: number, action: () => void): void {
    this.#queue.push(Math.max(at, this.now), action);
  }

  /**
   * Runs `action` on the replica's current process at `at`: dropped if the
   * process has stopped by then, put off while the replica is paused.
   */
  #onProcess(r: SimReplica, at: number, action: (p: Process) => void): void {
    const generation = r.generation;
    const fire = () => {
      if (r.generation !== generation || r.proc === null) return;
      if (r.pausedUntil > this.now) {
        this.#queue.push(r.pausedUntil, fire);
        return;
      }
      action(r.proc);
    };
    this.#queue.push(Math.max(at, this.now), fire);
  }

  #trace(line: string): void {
    this.#options.trace?.(`${this.now.toFixed(3).padStart(10)} ${line}`);
  }

  // ------------------------------------------------------------ processes

  /** Starts a process on the replica from what its disk holds. */
  start(r: SimReplica): void {
    if (r.proc !== null) return;
    r.generation++;
    const rng = this.#prng.fork();
    const now = r.clock.read(this.now);
    const core = new RaftCore({
      id: r.id,
      state: r.store.load(),
      bootstrap: { voters: this.replicas.map((x) => x.id), learners: [] },
      random: () => rng.next(),
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      preVote: true,
      checkQuorum: true,
    });
    const holder = new this.#options.variant.holder({
      id: r.id,
      session: this.#prng.int(4294967296),
      shardCount: this.#options.shardCount,
      timing: this.#options.timing,
    });
    r.proc = new Process(core, { holder, now });
    this.#trace(`start ${r.proc.key}`);
    this.#process(r);
    this.#scheduleTick(r);
  }

  /** kill -9: the process is gone at once, with everything it held in memory. */
  crash(r: SimReplica): void {
    const p = r.proc;
    if (p === null) return;
    this.stats.crashes++;
    this.#trace(`crash ${p.key}`);
    for (const shard of p.holder.held(r.clock.read(this.now))) {
      if (!this.#orphaned.has(shard)) {
        this.#orphaned.set(shard, { at: this.now, why: "crash" });
      }
    }
    this.#stop(r);
  }

  #stop(r: SimReplica): void {
    const p = r.proc!;
    this.checker.crash(p.key, this.now);
    r.proc = null;
    r.generation++;
    if (r.restartOnStop) {
      r.restartOnStop = false;
      this.start(r);
    }
  }

  /** SIGSTOP for `ms`: the process runs nothing until then. */
  pause(r: SimReplica, ms: number): void {
    if (r.proc === null) return;
    this.stats.pauses++;
    r.pausedUntil = Math.max(r.pausedUntil, this.now + ms);
    this.#trace(`pause node ${r.id} until ${r.pausedUntil.toFixed(3)}`);
  }

  /**
   * SIGTERM: the process releases every shard, asks for nothing more, hands
   * leadership over if it leads, and stops once its releases are
   * acknowledged (or after twice `grantMs` without an answer).
   */
  leave(r: SimReplica): void {
    const p = r.proc;
    if (p === null || p.leavingSince !== null) return;
    this.stats.leaves++;
    this.#trace(`leave ${p.key}`);
    const now = r.clock.read(this.now);
    p.leavingSince = now;
    const held = new Set(p.holder.held(now));
    for (const shard of p.holder.leave()) {
      if (held.has(shard)) {
        this.checker.stop(p.key, { shard, now: this.now });
        this.stats.releases++;
        if (!this.#orphaned.has(shard)) {
          this.#orphaned.set(shard, { at: this.now, why: "leave" });
        }
      }
    }
    this.#renew(r, p);
  }

  /**
   * The replica's API server is unreachable (`operator/_api_stand_aside.ts`):
   * the process releases every shard and asks for none until
   * {@linkcode World.rejoin}, but runs on (and leads, if it does).
   */
  standAside(r: SimReplica): void {
    const p = r.proc;
    if (p === null || p.leavingSince !== null || p.holder.aside) return;
    // A stopped process decides nothing: it would stand aside once it runs.
    if (r.pausedUntil > this.now) return;
    this.stats.asides++;
    this.#trace(`stand aside ${p.key}`);
    const now = r.clock.read(this.now);
    const held = new Set(p.holder.held(now));
    for (const shard of p.holder.standAside()) {
      if (held.has(shard)) {
        this.checker.stop(p.key, { shard, now: this.now });
        this.stats.releases++;
      }
    }
    this.#renew(r, p);
  }

  /** The replica reaches its API server again: it asks for shards. */
  rejoin(r: SimReplica): void {
    const p = r.proc;
    if (p === null || !p.holder.aside) return;
    if (r.pausedUntil > this.now) {
      this.at(r.pausedUntil, () => this.rejoin(r));
      return;
    }
    this.#trace(`rejoin ${p.key}`);
    p.holder.rejoin();
    this.#renew(r, p);
  }

  /**
   * A leaving leader hands leadership over once its own shards are granted
   * to their new owners (or after `grantMs`): its shards move first, then
   * the transfer (after which the new leader waits out `holdMs`).
   */
  #handOverLeadership(
    r: SimReplica,
    options: { p: Process; now: number },
  ): void {
    const { p, now } = options;
    if (p.role !== "leader" || p.issuer === null || p.transferred) return;
    const a = p.assignment;
    const handedOver = a !== null && !a.members.includes(r.id) &&
      a.owners.every((owner, shard) =>
        owner === null || p.issuer!.holderOf(shard, now)?.node === owner
      );
    if (!handedOver && now - p.leavingSince! < this.#options.timing.grantMs) {
      return;
    }
    const to = this.replicas.find((x) => x.id !== r.id && x.proc !== null);
    if (to === undefined) return;
    p.transferred = true;
    this.#trace(`${p.key} hands leadership to ${to.id}`);
    this.#client(r, () => p.core.transferLeadership(to.id));
  }

  /** Cuts every link between two groups, both ways. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    this.stats.partitions++;
    for (const x of a) {
      for (const y of b) {
        this.#blocked.add(`${x}>${y}`);
        this.#blocked.add(`${y}>${x}`);
      }
    }
    this.#trace(`partition ${a.join(",")} | ${b.join(",")}`);
  }

  /** Cuts the one-way link `from → to`. */
  cut(from: NodeId, to: NodeId): void {
    this.stats.partitions++;
    this.#blocked.add(`${from}>${to}`);
    this.#trace(`cut ${from} -> ${to}`);
  }

  /** Restores every link. */
  healLinks(): void {
    this.#blocked.clear();
    this.#trace("links healed");
  }

  // ------------------------------------------------------------ the clock

  #scheduleTick(r: SimReplica): void {
    const p = r.proc!;
    // A timer fires after its time, never at once again: a reading that
    // rounds just short of the next tick must not spin.
    const at = Math.max(
      r.clock.realWhen(p.lastTickAt + TICK_MS),
      this.now + 0.001,
    );
    this.#onProcess(r, at, (q) => this.#tick(r, q));
  }

  /** `RaftNode`'s timer: the ticks due on the clock, the stall fence, then the grant duties. */
  #tick(r: SimReplica, p: Process): void {
    const now = r.clock.read(this.now);
    const due = Math.floor((now - p.lastTickAt) / TICK_MS);
    if (due > 0) {
      p.lastTickAt += due * TICK_MS;
      const n = Math.min(due, p.tickTimes.length - 1);
      for (let i = 0; i < n; i++) {
        p.tickCount++;
        p.tickTimes[p.tickCount % p.tickTimes.length] = now;
        this.#guard(r, "tick()", () => p.core.tick());
      }
      if (due > 1) p.fence = p.tickCount;
    }
    this.#process(r);
    if (r.proc === p) this.#duties(r, p);
    if (r.proc === p) this.#scheduleTick(r);
  }

  /** `RaftNode.isLeader()`: leading, and the lease holds on the clock now. */
  #lease(p: Process, now: number): boolean {
    if (this.#options.variant.ignoreLease) return p.role === "leader";
    const ticks = p.core.leaseTicks();
    if (ticks === null || ticks >= ELECTION_TICKS) return false;
    if (ticks >= p.tickTimes.length) return false;
    if (p.tickCount - ticks <= p.fence) return false;
    const at = p.tickTimes[(p.tickCount - ticks) % p.tickTimes.length];
    return now < at + LEASE_MS;
  }

  // ------------------------------------------------------------ the grant duties

  #duties(r: SimReplica, p: Process): void {
    const now = r.clock.read(this.now);
    if (p.leavingSince !== null) {
      const done = p.holder.pendingReleases().length === 0 &&
        p.role !== "leader";
      if (done || now - p.leavingSince >= 2 * this.#options.timing.grantMs) {
        this.#trace(`${p.key} stops after leaving`);
        this.#stop(r);
        return;
      }
      this.#handOverLeadership(r, { p, now });
    }
    this.#renew(r, p);
    if (r.proc === p && p.issuer !== null) this.#plan(r, { p, now });
  }

  /**
   * Sends a renewal request now: to itself when it leads (no network), else
   * to the leader it knows. Every tick does; so do a leave, a release, and a
   * nudge from the leader (which the runtime makes an immediate heartbeat).
   */
  #renew(r: SimReplica, p: Process): void {
    const now = r.clock.read(this.now);
    if (p.role === "leader" && p.issuer !== null) {
      const request = p.holder.request(now);
      const grant = this.#issue(r, { p, request, now });
      if (grant !== null) this.#onGrant(r, { p, grant });
    } else if (p.leader !== null && p.leader !== r.id) {
      const request = p.holder.request(now);
      this.#send({
        kind: "renew",
        from: r.id,
        to: p.leader,
        data: encodeRenewalRequest(request),
      });
    }
  }

  /**
   * The leader answers a renewal request. A request that releases shards
   * (a leave does) makes it plan at once and nudge the owners of what was
   * freed.
   */
  #issue(
    r: SimReplica,
    options: { p: Process; request: RenewalRequest; now: number },
  ): GrantMessage | null {
    const { p, request, now } = options;
    const grant = p.issuer!.onRequest(request, {
      now,
      lease: this.#lease(p, now),
    });
    if (grant !== null && request.released.length > 0) {
      this.#plan(r, { p, now });
      this.#nudgeOwners(r, { p, except: request.from });
    }
    return grant;
  }

  /**
   * The leader nudges every other replica that owns a shard no one holds on
   * its count, so it asks for it now rather than at its next tick.
   */
  #nudgeOwners(
    r: SimReplica,
    options: { p: Process; except?: NodeId },
  ): void {
    const { p, except } = options;
    const a = p.assignment;
    const issuer = p.issuer;
    if (a === null || issuer === null) return;
    const now = r.clock.read(this.now);
    const waiting = new Set<NodeId>();
    a.owners.forEach((owner, shard) => {
      if (owner !== null && issuer.holderOf(shard, now) === null) {
        waiting.add(owner);
      }
    });
    for (const to of waiting) {
      if (to !== r.id && to !== except) {
        this.#send({ kind: "nudge", from: r.id, to });
      }
    }
    // Its own holder too, when it can be granted now, as the next event.
    const self = waiting.has(r.id) && !p.holder.leaving &&
      issuer.waited(now) && this.#lease(p, now);
    if (self) {
      this.#onProcess(r, this.now, (q) => {
        if (q === p) this.#renew(r, q);
      });
    }
  }

  /**
   * The leader plans a new assignment when the live members differ from the
   * assignment's, once it has applied an entry of its own term and its
   * previous proposal.
   */
  #plan(r: SimReplica, options: { p: Process; now: number }): void {
    const { p, now } = options;
    if (!this.#lease(p, now) || p.applied < p.termStart) return;
    if (p.applied < p.pending) return;
    const live = p.issuer!.liveMembers({
      now,
      candidates: shardCandidates(p.core.status()),
      memberTimeoutMs: this.#options.memberTimeoutMs,
    });
    if (plannedFor(p.assignment, live)) return;
    const next = planAssignment({
      shardCount: this.#options.shardCount,
      members: live,
      previous: p.assignment,
    });
    this.#client(r, () => {
      p.pending = p.core.propose(encodeAssignment(next));
    });
    this.#trace(`${p.key} proposes epoch ${next.epoch}: ${live.join(",")}`);
  }

  #onGrant(r: SimReplica, options: { p: Process; grant: GrantMessage }): void {
    const { p, grant } = options;
    const now = r.clock.read(this.now);
    const outcome = p.holder.onGrant(grant, now);
    for (const shard of p.holder.held(now)) {
      const end = r.clock.realWhen(p.holder.validUntil(shard, now)!);
      const acquired = this.checker.hold(p.key, { shard, now: this.now, end });
      if (acquired) {
        this.stats.acquisitions++;
        const orphan = this.#orphaned.get(shard);
        if (orphan !== undefined) {
          this.#orphaned.delete(shard);
          const took = this.now - orphan.at;
          (orphan.why === "leave" ? this.stats.handover : this.stats.failover)
            .push(took);
        }
      }
    }
    for (const shard of outcome.toRelease) {
      const drain = this.#prng.next() * this.#options.drainMs;
      this.#onProcess(r, this.now + drain, (q) => {
        if (q !== p) return;
        const at = r.clock.read(this.now);
        if (!q.holder.holds(shard, at)) return;
        q.holder.release([shard]);
        this.checker.stop(q.key, { shard, now: this.now });
        this.stats.releases++;
        this.#renew(r, q);
      });
    }
  }

  // ------------------------------------------------------------ Raft

  /** Handles every pending ready of the replica's process, as `RaftNode` does. */
  #process(r: SimReplica): void {
    const p = r.proc!;
    for (
      let round = 0;
      this.#guard(r, "hasReady()", () => p.core.hasReady());
      round++
    ) {
      if (round > 1000) {
        this.#fail("core error", `node ${r.id} never runs out of readies`);
      }
      const ready = this.#guard(r, "ready()", () => p.core.ready());
      this.#handle(r, { p, ready });
      this.#guard(r, "advance()", () => p.core.advance());
    }
  }

  #handle(r: SimReplica, options: { p: Process; ready: Ready }): void {
    const { p, ready } = options;
    const store = r.store;
    if (ready.incarnation !== undefined) store.incarnation = ready.incarnation;
    if (ready.snapshot !== null) {
      this.#fail(
        "core error",
        `node ${r.id} was handed a snapshot, but nothing compacts`,
      );
    }
    if (ready.entries.length > 0) store.append(ready.entries);
    if (ready.hardState !== null) store.hardState = { ...ready.hardState };
    if (ready.softState !== null) this.#role(r, { p, ready });
    for (const message of ready.messages) {
      this.#send({
        kind: "raft",
        from: r.id,
        to: message.to,
        message: cloneMessage(message),
      });
    }
    for (const entry of ready.committedEntries) {
      p.applied = entry.index;
      if (entry.type !== "normal" || !isAssignmentEntry(entry.data)) continue;
      const a = decodeAssignment(entry.data);
      const expected = (p.assignment?.epoch ?? 0) + 1;
      if (a.epoch !== expected) {
        this.#fail(
          "assignment epochs",
          `node ${r.id} applied epoch ${a.epoch} at index ${entry.index}, expected ${expected}`,
        );
      }
      p.assignment = a;
      p.issuer?.setAssignment(a);
      if (p.role === "leader" && p.issuer !== null) {
        this.#nudgeOwners(r, { p });
        this.stats.assignments++;
        this.#trace(
          `node ${r.id} applies epoch ${a.epoch}: ${a.members.join(",")}`,
        );
      }
    }
  }

  #role(r: SimReplica, options: { p: Process; ready: Ready }): void {
    const { p, ready } = options;
    const soft = ready.softState!;
    const wasLeader = p.role === "leader" && p.term === soft.term;
    p.role = soft.role;
    p.term = soft.term;
    p.leader = soft.leader;
    if (soft.role === "leader" && !wasLeader) {
      this.stats.leaders++;
      p.issuer = new this.#options.variant.issuer({
        term: soft.term,
        leaderSince: r.clock.read(this.now),
        shardCount: this.#options.shardCount,
        timing: this.#options.timing,
      });
      if (p.assignment !== null) p.issuer.setAssignment(p.assignment);
      p.termStart = p.core.status().lastIndex;
      p.pending = 0;
      this.#trace(`${p.key} leads term ${soft.term}`);
    } else if (soft.role !== "leader") {
      p.issuer = null;
      p.termStart = Infinity;
    }
  }

  // ------------------------------------------------------------ the network

  #send(packet: Packet): void {
    const net = this.net;
    if (this.#prng.chance(net.loss)) return;
    const copies = this.#prng.chance(net.duplicate) ? 2 : 1;
    if (packet.kind === "grant") this.stats.grants++;
    for (let i = 0; i < copies; i++) {
      const delay = this.#prng.chance(net.tail)
        ? net.maxDelay + this.#prng.next() * net.tailMax
        : net.minDelay + this.#prng.next() * (net.maxDelay - net.minDelay);
      this.#queue.push(this.now + delay, () => this.#deliver(packet));
    }
  }

  #deliver(packet: Packet): void {
    if (this.#blocked.has(`${packet.from}>${packet.to}`)) return;
    const r = this.replicas[packet.to];
    if (r.proc === null) return;
    if (r.pausedUntil > this.now) {
      this.#queue.push(r.pausedUntil, () => this.#deliver(packet));
      return;
    }
    const p = r.proc;
    this.stats.delivered++;
    const now = r.clock.read(this.now);
    if (packet.kind === "raft") {
      this.#guard(
        r,
        `step(${packet.message.type})`,
        () => p.core.step(packet.message),
      );
      this.#process(r);
    } else if (packet.kind === "nudge") {
      this.#renew(r, p);
    } else if (packet.kind === "renew") {
      if (p.issuer === null) return;
      const request = decodeRenewalRequest(packet.data);
      const grant = this.#issue(r, { p, request, now });
      if (grant === null) return;
      this.#send({
        kind: "grant",
        from: r.id,
        to: packet.from,
        data: encodeGrant(grant),
      });
    } else {
      this.#onGrant(r, { p, grant: decodeGrant(packet.data) });
    }
  }

  // ------------------------------------------------------------ checks

  /**
   * `true` when every shard is held by its owner in the leader's assignment
   * and that assignment was planned over every replica.
   */
  settled(): boolean {
    const all = this.replicas.map((r) => r.id);
    let a: Assignment | null = null;
    let term = -1;
    for (const r of this.replicas) {
      if (r.proc?.issuer != null && r.proc.term > term) {
        term = r.proc.term;
        a = r.proc.assignment;
      }
    }
    if (a === null || !plannedFor(a, all)) return false;
    for (let shard = 0; shard < a.shardCount; shard++) {
      const owner = this.replicas[a.owners[shard]!];
      const p = owner.proc;
      if (p === null || p.leavingSince !== null) return false;
      if (!p.holder.holds(shard, owner.clock.read(this.now))) return false;
    }
    return true;
  }

  #guard<T>(r: SimReplica, what: string, f: () => T): T {
    try {
      return f();
    } catch (error) {
      this.#fail(
        "core error",
        `node ${r.id}: ${what} threw ${
          error instanceof Error ? error.message : error
        }`,
      );
    }
  }

  /** A client call on the core: refusals (not leader, transfer) are expected. */
  #client(r: SimReplica, f: () => void): void {
    try {
      f();
    } catch (error) {
      if (!(error instanceof RaftError)) {
        this.#fail("core error", `node ${r.id}: ${error}`);
      }
      return;
    }
    this.#process(r);
  }

  #fail(invariant: string, detail: string): never {
    throw new ShardViolation(invariant, { at: this.now, detail });
  }
}
