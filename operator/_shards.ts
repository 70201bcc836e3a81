/**
 * Internal: the sharding runtime of one process. It puts the pure parts of
 * `sharding/` on a running {@linkcode RaftNode}:
 *
 * - a state machine wrapper that applies `shardAssignment` entries (and
 *   keeps the latest assignment in the snapshot), handing every other entry
 *   to the application's state machine;
 * - on the leader, a {@linkcode GrantIssuer} per term (built when the node
 *   reports it leads) that answers renewal requests, and the planner, which
 *   proposes a new assignment when the live members change, only under the
 *   lease, once an entry of its own term and its previous proposal applied;
 * - one {@linkcode GrantHolder} per process, its renewal requests riding on
 *   the follower's `heartbeatResp` and its grants on the leader's next
 *   `heartbeat` (the `shard` bytes of the message), the leader's own served
 *   by a direct call every tick;
 * - the {@linkcode ShardGate} of sharded controllers: `holds` checked before
 *   every write, a signal per shard that aborts when the grant ends (a
 *   timer at the earliest end) or a release is asked for, and releases that
 *   wait for the shard's reconciles first.
 *
 * See `sharding/README.md` ("Wiring").
 *
 * @module
 */
import type { KubeObject } from "../client/objects.ts";
import type { NodeId } from "../common/leadership.ts";
import { type Logger, silentLogger } from "../common/log.ts";
import type { ShardGate, ShardTicket } from "../controller/shard_gate.ts";
import type { StateMachine } from "../raft/kv.ts";
import type { RaftNode, RoleChange } from "../raft/node.ts";
import type { ShardingStats } from "../metrics/sharding.ts";
import type { OperatorShardingOptions } from "./operator.ts";
import type { Entry, Message } from "../raft/types.ts";
import {
  type Assignment,
  decodeAssignment,
  decodeGrant,
  decodeRenewalRequest,
  DEFAULT_SHARDS,
  encodeAssignment,
  encodeGrant,
  encodeRenewalRequest,
  GrantHolder,
  GrantIssuer,
  type GrantMessage,
  type GrantTiming,
  grantTiming,
  isAssignmentEntry,
  movedShards,
  planAssignment,
  plannedFor,
  type RenewalRequest,
  shardCandidates,
  shardKey,
  shardOf,
} from "../sharding/mod.ts";

/** The options of sharding, the same on every replica. */
export type ShardingOptions = OperatorShardingOptions;

/** Options of {@linkcode ShardRuntime}. */
export interface ShardRuntimeOptions extends ShardingOptions {
  /** This replica's node id. */
  id: NodeId;
  /** The node's monotonic clock (default `performance.now`). */
  clock?: () => number;
  /** How often the runtime's duties run (default 50 ms: the node's tick). */
  tickMs?: number;
  /** This process's session (default: 32 random bits). */
  session?: number;
  /** How long a release waits for the shard's reconciles (default `grantMs`). */
  drainMs?: number;
  /** Where grants, releases and assignments are logged. */
  logger?: Logger;
  /** Leader: called for every shard granted to a new holder, with the handover's ms. */
  onHandover?: (durationMs: number) => void;
}

/** What the runtime counts, for metrics. */
export interface ShardRuntimeStats extends ShardingStats {
  /**
   * Leader: for every shard granted to a new holder, the ms from when the
   * leader last counted the old holder (its release, or its last renewal)
   * to the new grant.
   */
  handoversMs: number[];
}

/** The snapshot envelope: `"SHRD" | version u8 | length u32 | assignment | the application's snapshot`. */
const SNAPSHOT_MAGIC = [0x53, 0x48, 0x52, 0x44];
const SNAPSHOT_VERSION = 1;

interface ShardWork {
  controller: AbortController;
  active: number;
  idle: (() => void)[];
}

interface LastHolder {
  node: NodeId;
  session: number;
  at: number;
}

function randomSession(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/**
 * The sharding runtime of one process; see the module comment. Build it
 * before the node (its {@linkcode ShardRuntime.stateMachine} wraps the
 * node's), route the node's messages through {@linkcode ShardRuntime.outgoing}
 * and {@linkcode ShardRuntime.incoming}, then {@linkcode ShardRuntime.attach}
 * the node.
 */
export class ShardRuntime implements ShardGate {
  /** This replica's node id. */
  readonly id: NodeId;
  /** This process's holder. */
  readonly holder: GrantHolder;
  /** The grant timing. */
  readonly timing: GrantTiming;
  readonly #options: ShardRuntimeOptions;
  readonly #clock: () => number;
  readonly #logger: Logger;
  readonly #tickMs: number;
  #node: RaftNode | null = null;
  #assignment: Assignment | null = null;
  #issuer: GrantIssuer | null = null;
  /** Leader: the first log index of its term; it plans once this applied. */
  #termStart = Infinity;
  #proposing = false;
  /** Leader: something happened that a heartbeat now should carry. */
  #news = false;
  #ownSoon = false;
  /** Leader: the grant to send on the next heartbeat to each member. */
  readonly #answers = new Map<NodeId, GrantMessage>();
  /** Leader: who it last counted as holding each shard. */
  readonly #last = new Map<number, LastHolder>();
  readonly #work = new Map<number, ShardWork>();
  readonly #releasing = new Set<number>();
  readonly #listeners = new Set<(shards: readonly number[]) => void>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #expiry: ReturnType<typeof setTimeout> | null = null;
  #offRole: (() => void) | null = null;
  #leaving: { since: number; done: () => void } | null = null;
  /** Standing aside ({@linkcode ShardRuntime.standAside}), until {@linkcode ShardRuntime.rejoin}. */
  #aside = false;
  /** Leader: the members it may plan shards onto (the StatefulSet's ordinals), `null`: any. */
  #allowed: ReadonlySet<NodeId> | null = null;
  /** Leader: a {@linkcode ShardRuntime.handOverTo} waiting. */
  #handing: { until: number; done: () => void } | null = null;
  readonly #stats: ShardRuntimeStats = {
    epoch: 0,
    held: 0,
    moving: 0,
    reassigned: 0,
    acquired: 0,
    released: 0,
    handoversMs: [],
  };

  /** A runtime for one process; nothing runs until {@linkcode ShardRuntime.attach}. */
  constructor(options: ShardRuntimeOptions) {
    this.#options = options;
    this.id = options.id;
    this.#clock = options.clock ?? (() => performance.now());
    this.#logger = options.logger ?? silentLogger;
    this.#tickMs = options.tickMs ?? 50;
    this.timing = grantTiming(options);
    this.holder = new GrantHolder({
      id: options.id,
      session: options.session ?? randomSession(),
      shardCount: options.shards ?? DEFAULT_SHARDS,
      timing: this.timing,
    });
  }

  /** The assignment applied here, `null` before any. */
  get assignment(): Assignment | null {
    return this.#assignment;
  }

  /** The leader's issuer of the current term, `null` off the leader. */
  get issuer(): GrantIssuer | null {
    return this.#issuer;
  }

  /** What the runtime counted (a copy). */
  stats(): ShardRuntimeStats {
    const now = this.#clock();
    return {
      ...this.#stats,
      held: this.holder.held(now).length,
      moving: this.#issuer?.moving(now).length ?? 0,
      aside: this.#aside,
      handoversMs: [...this.#stats.handoversMs],
    };
  }

  // ------------------------------------------------------------ state machine

  /**
   * Wraps the application's state machine: `shardAssignment` entries are
   * applied here, every other entry there; the snapshot holds both (a
   * snapshot of the application's alone, taken before sharding was on, is
   * restored with no assignment).
   */
  stateMachine(inner: StateMachine): StateMachine {
    return {
      apply: (entry: Entry) => {
        if (!isAssignmentEntry(entry.data)) return inner.apply(entry);
        const assignment = decodeAssignment(entry.data);
        this.#apply(assignment, entry.index);
        return { epoch: assignment.epoch };
      },
      snapshot: () => {
        const own = this.#assignment === null
          ? new Uint8Array()
          : encodeAssignment(this.#assignment);
        const rest = inner.snapshot();
        const out = new Uint8Array(9 + own.length + rest.length);
        out.set(SNAPSHOT_MAGIC);
        out[4] = SNAPSHOT_VERSION;
        new DataView(out.buffer).setUint32(5, own.length);
        out.set(own, 9);
        out.set(rest, 9 + own.length);
        return out;
      },
      restore: (data: Uint8Array) => {
        if (!SNAPSHOT_MAGIC.every((b, i) => data[i] === b)) {
          inner.restore(data);
          this.#assignment = null;
          return;
        }
        if (data[4] !== SNAPSHOT_VERSION || data.length < 9) {
          throw new RangeError(
            `Expected a sharded snapshot of version ${SNAPSHOT_VERSION}, found version ${
              data[4]
            } in ${data.length} bytes`,
          );
        }
        const n = new DataView(data.buffer, data.byteOffset, data.byteLength)
          .getUint32(5);
        if (9 + n > data.length) {
          throw new RangeError(
            `Expected ${n} bytes of assignment in the snapshot, found ${
              data.length - 9
            }`,
          );
        }
        const assignment = n === 0
          ? null
          : decodeAssignment(data.subarray(9, 9 + n));
        inner.restore(data.subarray(9 + n));
        this.#assignment = assignment;
        this.#stats.epoch = assignment?.epoch ?? 0;
        if (assignment !== null) this.#issuer?.setAssignment(assignment);
      },
    };
  }

  #apply(assignment: Assignment, index: number): void {
    const previous = this.#assignment;
    if (previous !== null && assignment.epoch <= previous.epoch) {
      this.#logger.warn("shard assignment ignored: not newer", {
        epoch: assignment.epoch,
        applied: previous.epoch,
        index,
      });
      return;
    }
    if (assignment.shardCount !== this.holder.shardCount) {
      this.#logger.error(
        "shard assignment of another shard count: this replica holds no shard",
        { epoch: assignment.epoch, shards: assignment.shardCount },
      );
    }
    const moved = previous === null ? [] : movedShards(previous, assignment);
    this.#assignment = assignment;
    this.#stats.epoch = assignment.epoch;
    this.#stats.reassigned += moved.length;
    const mine = assignment.owners.filter((o) => o === this.id).length;
    this.#logger.info("shard assignment applied", {
      epoch: assignment.epoch,
      members: assignment.members.join(","),
      owned: mine,
      moved: moved.length,
    });
    if (this.#issuer !== null) {
      try {
        this.#issuer.setAssignment(assignment);
      } catch (error) {
        this.#logger.error("shard assignment not granted by", { error });
      }
      // Its new owners ask for their shards now, not at the next tick.
      this.#nudge();
    }
  }

  // ------------------------------------------------------------ the node

  /** Starts the runtime's duties on `node` (built with this runtime's state machine and message hooks). */
  attach(node: RaftNode): void {
    this.#node = node;
    this.#offRole = node.onRoleChange((change) => this.#onRole(change));
    const s = node.status();
    if (s.role === "leader") {
      this.#onRole({ role: s.role, term: s.term, leader: s.leader });
    }
    this.#schedule();
  }

  /** Stops the duties and aborts every reconcile's ticket; the holder keeps nothing. */
  detach(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#expiry !== null) clearTimeout(this.#expiry);
    this.#timer = null;
    this.#expiry = null;
    this.#offRole?.();
    this.#offRole = null;
    this.#node = null;
    this.#issuer = null;
    for (const w of this.#work.values()) w.controller.abort();
    this.#handing?.done();
    this.#handing = null;
  }

  #onRole(change: RoleChange): void {
    const node = this.#node;
    if (node === null) return;
    if (change.role === "leader") {
      if (this.#issuer?.term === change.term) return;
      const shardCount = this.#assignment?.shardCount ?? this.holder.shardCount;
      const issuer = new GrantIssuer({
        term: change.term,
        leaderSince: this.#clock(),
        shardCount,
        timing: this.timing,
      });
      if (this.#assignment !== null) issuer.setAssignment(this.#assignment);
      this.#issuer = issuer;
      this.#termStart = node.status().lastIndex;
      this.#proposing = false;
      this.#answers.clear();
      this.#last.clear();
      this.#logger.info("leading: grants shards after the new-leader wait", {
        term: change.term,
        waitMs: Math.ceil(this.timing.holdMs),
      });
    } else if (this.#issuer !== null) {
      this.#issuer = null;
      this.#termStart = Infinity;
      this.#answers.clear();
      this.#allowed = null;
      this.#checkHanding();
    }
  }

  /**
   * The node's outgoing messages, on their way to the transport: a
   * `heartbeatResp` to the leader carries a renewal request (its time read
   * here, before it is sent); a leader's `heartbeat` carries its answer to
   * the member's last request.
   */
  outgoing(messages: Message[]): Message[] {
    if (this.#node === null) return messages;
    let out: Message[] | null = null;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      let shard: Uint8Array | undefined;
      if (m.type === "heartbeatResp" && this.#issuer === null) {
        shard = encodeRenewalRequest(this.holder.request(this.#clock()));
      } else if (m.type === "heartbeat" && this.#issuer?.term === m.term) {
        const answer = this.#answers.get(m.to);
        if (answer !== undefined) {
          this.#answers.delete(m.to);
          shard = encodeGrant(answer);
        }
      }
      if (shard === undefined) continue;
      out ??= [...messages];
      out[i] = { ...m, shard };
    }
    return out ?? messages;
  }

  /**
   * Messages from peers, on their way to the node: a `heartbeatResp`'s
   * renewal request is answered (the leader's time read now), a
   * `heartbeat`'s grant is taken in. Returns them without the shard bytes;
   * bytes that do not decode are logged and dropped, the message goes on.
   */
  incoming(messages: readonly Message[]): Message[] {
    const out: Message[] = [];
    for (const m of messages) {
      if (m.shard === undefined) {
        out.push(m);
        continue;
      }
      const { shard, ...rest } = m;
      out.push(rest);
      if (this.#node === null) continue;
      try {
        if (m.type === "heartbeatResp") this.#onRequest(m, shard);
        else if (m.type === "heartbeat") this.#onGrantBytes(shard);
      } catch (error) {
        this.#logger.warn("shard bytes dropped", {
          from: m.from,
          type: m.type,
          error,
        });
      }
    }
    return out;
  }

  #onRequest(m: Message, bytes: Uint8Array): void {
    const issuer = this.#issuer;
    if (issuer === null || issuer.term !== m.term) return;
    const request = decodeRenewalRequest(bytes);
    if (request.from !== m.from) {
      throw new RangeError(
        `Expected a renewal request from node ${m.from}, found one from node ${request.from}`,
      );
    }
    const grant = this.#issue(request);
    if (grant === null) return;
    this.#answers.set(m.from, grant);
    if (this.#news) this.#nudge();
  }

  /**
   * Leader: a heartbeat to every member now, so that a grant with news (a
   * shard newly granted, a release asked for) or a request for a shard just
   * freed travels at once, not at the next tick.
   */
  #nudge(): void {
    this.#news = false;
    this.#node?.heartbeat();
    // Its own holder too, at once (no network): once per turn.
    if (this.#ownSoon) return;
    this.#ownSoon = true;
    queueMicrotask(() => {
      this.#ownSoon = false;
      this.#renewOwn();
    });
  }

  /** Leader: its own holder's request, answered by its issuer directly. */
  #renewOwn(): void {
    if (this.#issuer === null || this.#node === null) return;
    const grant = this.#issue(this.holder.request(this.#clock()));
    if (grant !== null) this.#onGrant(grant);
  }

  #onGrantBytes(bytes: Uint8Array): void {
    const grant = decodeGrant(bytes);
    if (grant.to !== this.id) return;
    if (this.#issuer !== null) return;
    this.#onGrant(grant);
  }

  /**
   * The leader answers a request (its own or a member's). Sets `#news`
   * when the answer grants a shard its holder did not hold or asks for a
   * release, or the request freed shards others may now be granted.
   */
  #issue(request: RenewalRequest): GrantMessage | null {
    const issuer = this.#issuer!;
    const now = this.#clock();
    const lease = this.#node?.isLeader() ?? false;
    const grant = issuer.onRequest(request, { now, lease });
    if (grant === null) return null;
    for (const shard of request.released) {
      const last = this.#last.get(shard);
      if (
        last !== undefined && last.node === request.from &&
        last.session === request.session
      ) {
        last.at = now;
      }
    }
    for (const shard of grant.granted) {
      const last = this.#last.get(shard);
      const same = last !== undefined && last.node === request.from &&
        last.session === request.session;
      if (!same) this.#news = true;
      if (last !== undefined && !same) {
        const ms = now - last.at;
        this.#options.onHandover?.(ms);
        this.#stats.handoversMs.push(ms);
        if (this.#stats.handoversMs.length > 1024) {
          this.#stats.handoversMs.shift();
        }
        this.#logger.info("shard moved", {
          shard,
          from: last.node,
          to: request.from,
          handoverMs: Math.round(ms),
        });
      }
      this.#last.set(shard, {
        node: request.from,
        session: request.session,
        at: now,
      });
    }
    if (grant.release.length > 0) this.#news = true;
    if (request.released.length > 0) {
      this.#news = true;
      this.#plan();
    }
    return grant;
  }

  #onGrant(grant: GrantMessage): void {
    const now = this.#clock();
    const outcome = this.holder.onGrant(grant, now);
    if (outcome.acquired.length > 0) {
      this.#stats.acquired += outcome.acquired.length;
      for (const shard of outcome.acquired) {
        this.#logger.debug?.("shard acquired", { shard, epoch: grant.epoch });
      }
      for (const listener of this.#listeners) listener(outcome.acquired);
    }
    if (outcome.toRelease.length > 0) {
      void this.#release(outcome.toRelease, "moved to another member");
    }
    this.#armExpiry();
  }

  // ------------------------------------------------------------ duties

  #schedule(): void {
    if (this.#node === null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#duties();
      this.#schedule();
    }, this.#tickMs);
  }

  #duties(): void {
    if (this.#node === null) return;
    if (this.#issuer !== null) {
      this.#renewOwn();
      this.#plan();
      if (this.#news) this.#nudge();
    }
    this.#expire();
    this.#checkLeaving();
    this.#checkHanding();
  }

  /**
   * Leader, before the membership changes to `voters` (the StatefulSet's
   * ordinals): from now on it plans shards onto those only, and this
   * resolves once no other member holds a shard (each released and granted
   * anew: one handover each), or after twice `grantMs` (a member that is
   * gone cannot release: its grants run out), or once this node no longer
   * leads. A member removed from the Raft membership hears no heartbeat,
   * so a release it sends after that never arrives and its shards would
   * wait for its grants to run out; handed over first, they do not.
   */
  handOverTo(voters: readonly NodeId[]): Promise<void> {
    this.#allowed = new Set(voters);
    this.#handing?.done();
    return new Promise((resolve) => {
      this.#handing = {
        until: this.#clock() + 2 * this.timing.grantMs,
        done: resolve,
      };
      this.#plan();
      this.#checkHanding();
    });
  }

  #checkHanding(): void {
    const handing = this.#handing;
    if (handing === null) return;
    const issuer = this.#issuer;
    const allowed = this.#allowed!;
    const a = this.#assignment;
    const now = this.#clock();
    const settled = issuer === null || this.#node === null || (
      a !== null && a.members.every((m) => allowed.has(m)) &&
      a.owners.every((_, shard) => {
        const holder = issuer.holderOf(shard, now);
        return holder === null || allowed.has(holder.node);
      })
    );
    if (!settled && now < handing.until) return;
    this.#handing = null;
    handing.done();
  }

  /** Leader: proposes an assignment over the live members when they changed. */
  #plan(): void {
    const node = this.#node;
    const issuer = this.#issuer;
    if (node === null || issuer === null || this.#proposing) return;
    if (!node.isLeader()) return;
    const status = node.status();
    if (status.applied < this.#termStart) return;
    const candidates = shardCandidates(status);
    const allowed = this.#allowed;
    const kept = allowed === null
      ? candidates
      : candidates.filter((id) => allowed.has(id));
    const live = issuer.liveMembers({
      now: this.#clock(),
      // A membership about to shrink: only what stays, if anything does.
      candidates: kept.length > 0 ? kept : candidates,
      memberTimeoutMs: this.#options.memberTimeoutMs,
    });
    if (plannedFor(this.#assignment, live)) return;
    const next = planAssignment({
      shardCount: issuer.shardCount,
      members: live,
      previous: this.#assignment,
    });
    this.#proposing = true;
    this.#logger.info("proposing a shard assignment", {
      epoch: next.epoch,
      members: live.join(","),
    });
    const done = () => {
      this.#proposing = false;
    };
    node.propose(encodeAssignment(next)).then(done, (error) => {
      done();
      this.#logger.warn("shard assignment not committed", {
        epoch: next.epoch,
        error,
      });
    });
  }

  // ------------------------------------------------------------ the gate

  /** The shard of an object (its owner's, when it has one). */
  shardOf(object: KubeObject): number {
    const key = shardKey(object, {
      clusterScopedKinds: this.#options.clusterScopedKinds,
    });
    return shardOf(key, this.holder.shardCount);
  }

  /** `true` while this process holds the shard's grant now. */
  holds(shard: number): boolean {
    return this.holder.holds(shard, this.#clock());
  }

  /** A ticket for one reconcile of a held shard; `null` when not held or being released. */
  enter(shard: number): ShardTicket | null {
    if (this.#leaving !== null || this.#aside) return null;
    if (!this.holds(shard) || this.#releasing.has(shard)) return null;
    let w = this.#work.get(shard);
    if (w === undefined || w.controller.signal.aborted) {
      w = { controller: new AbortController(), active: 0, idle: [] };
      this.#work.set(shard, w);
      this.#armExpiry();
    }
    const work = w;
    work.active++;
    let open = true;
    return {
      signal: work.controller.signal,
      done: () => {
        if (!open) return;
        open = false;
        work.active--;
        if (work.active === 0) {
          for (const resolve of work.idle.splice(0)) resolve();
        }
      },
    };
  }

  /** Calls `listener` with every batch of shards acquired. */
  onAcquire(listener: (shards: readonly number[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Aborts the tickets of shards whose grant ended. */
  #expire(): void {
    const now = this.#clock();
    for (const [shard, w] of this.#work) {
      if (this.holder.holds(shard, now)) continue;
      if (!w.controller.signal.aborted) {
        this.#logger.info("shard grant ended: reconciles cancelled", {
          shard,
        });
        w.controller.abort();
      }
      if (w.active === 0) this.#work.delete(shard);
    }
    this.#armExpiry();
  }

  /** A timer at the earliest end of a grant whose shard has reconciles. */
  #armExpiry(): void {
    if (this.#expiry !== null) clearTimeout(this.#expiry);
    this.#expiry = null;
    const now = this.#clock();
    let first = Infinity;
    for (const [shard, w] of this.#work) {
      if (w.controller.signal.aborted) continue;
      first = Math.min(first, this.holder.validUntil(shard, now) ?? now);
    }
    if (first === Infinity) return;
    this.#expiry = setTimeout(() => {
      this.#expiry = null;
      this.#expire();
    }, Math.max(0, first - now));
  }

  /** Aborts the shards' reconciles, waits for them (at most `drainMs`), then releases. */
  async #release(shards: readonly number[], why: string): Promise<void> {
    const fresh = shards.filter((s) => !this.#releasing.has(s));
    if (fresh.length === 0) return;
    for (const s of fresh) this.#releasing.add(s);
    const waits: Promise<void>[] = [];
    for (const shard of fresh) {
      const w = this.#work.get(shard);
      if (w === undefined) continue;
      w.controller.abort();
      if (w.active > 0) waits.push(new Promise((r) => w.idle.push(r)));
    }
    if (waits.length > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(waits),
        new Promise<void>((r) => {
          timer = setTimeout(r, this.#options.drainMs ?? this.timing.grantMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.holder.release(fresh);
    for (const s of fresh) {
      this.#releasing.delete(s);
      this.#work.delete(s);
    }
    this.#stats.released += fresh.length;
    for (const shard of fresh) {
      this.#logger.debug?.("shard released", { shard, why });
    }
    if (this.#issuer !== null) this.#duties();
  }

  // ------------------------------------------------------------ standing aside

  /** `true` between {@linkcode ShardRuntime.standAside} and {@linkcode ShardRuntime.rejoin}. */
  get aside(): boolean {
    return this.#aside;
  }

  /**
   * This replica cannot do the work for now (its API server is
   * unreachable): its shards go to the others through the path of a
   * SIGTERM. No reconcile starts from now on, those running are aborted
   * and awaited (at most `drainMs`), every shard is released, and its
   * requests say `leaving` until {@linkcode ShardRuntime.rejoin}, so the
   * leader plans without it (a leader, without itself) and grants it
   * nothing. Resolves once the shards are released; unlike
   * {@linkcode ShardRuntime.leave} the node goes on (and leads, if it does).
   */
  async standAside(): Promise<void> {
    if (this.#aside || this.#leaving !== null) return;
    this.#aside = true;
    const shards = new Set([
      ...this.holder.held(this.#clock()),
      ...this.#work.keys(),
    ]);
    await this.#release([...shards], "standing aside");
    // Rejoined during the drain: the shards are released, nothing more.
    if (!this.#aside) return;
    // Also what was granted during the drain.
    this.holder.standAside();
    for (const w of this.#work.values()) w.controller.abort();
    if (this.#issuer !== null) this.#duties();
  }

  /** Ends {@linkcode ShardRuntime.standAside}: the replica asks for shards again. */
  rejoin(): void {
    if (!this.#aside) return;
    this.#aside = false;
    this.holder.rejoin();
    if (this.#issuer !== null) this.#duties();
  }

  // ------------------------------------------------------------ leaving

  /**
   * SIGTERM: stops every reconcile, releases every shard, and resolves once
   * the leader acknowledged the releases (or after twice `grantMs`); a
   * leader also waits (at most `grantMs`) until its shards are granted to
   * their new owners. Stop the node (with a leadership transfer) after.
   */
  leave(): Promise<void> {
    if (this.#leaving !== null) return Promise.resolve();
    return new Promise((resolve) => {
      // From now on no reconcile starts (enter() refuses); those running
      // are aborted and awaited before anything is released.
      this.#leaving = { since: this.#clock(), done: resolve };
      const shards = new Set([
        ...this.holder.held(this.#clock()),
        ...this.#work.keys(),
      ]);
      void this.#release([...shards], "leaving").then(() => {
        // Also what was granted during the drain.
        this.holder.leave();
        for (const w of this.#work.values()) w.controller.abort();
        this.#checkLeaving();
      });
    });
  }

  #checkLeaving(): void {
    const leaving = this.#leaving;
    if (leaving === null || !this.holder.leaving) return;
    const elapsed = this.#clock() - leaving.since;
    let done = this.holder.pendingReleases().length === 0;
    const issuer = this.#issuer;
    const a = this.#assignment;
    if (issuer !== null) {
      const now = this.#clock();
      done = a !== null && !a.members.includes(this.id) &&
        a.owners.every((owner, shard) =>
          owner === null || issuer.holderOf(shard, now)?.node === owner
        );
      if (!done && elapsed < this.timing.grantMs) return;
      done = true;
    }
    if (done || elapsed >= 2 * this.timing.grantMs) {
      this.#leaving = { ...leaving, done: () => {} };
      leaving.done();
    }
  }
}
