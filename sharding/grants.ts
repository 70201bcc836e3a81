/**
 * Shard grants: the time-bounded permission to reconcile a shard, renewed by
 * the Raft leader on every heartbeat round trip. {@linkcode GrantHolder} is
 * a replica's side, {@linkcode GrantIssuer} the leader's. Both are pure state
 * machines: the caller passes the time (milliseconds of its monotonic clock)
 * into every call, and carries the messages.
 *
 * The holder counts a grant from when it sent the request that renewed it;
 * the leader counts it from when it received that request, for longer by the
 * clock-drift bound ({@linkcode grantTiming}). So a holder's grant always ends
 * before the leader's count of it does, and a shard moves only after its
 * holder released it or the leader's count ran out. See `sharding/README.md`.
 *
 * @module
 */
import type { NodeId } from "../common/leadership.ts";
import type { Assignment } from "./assignment.ts";
import { ShardConfigError } from "./errors.ts";
import { checkShardCount } from "./hash.ts";

/**
 * Options of {@linkcode grantTiming}: they must be the same on every replica.
 *
 * @example
 * ```ts
 * import type { GrantTimingOptions } from "@k8s-operator/k8s-operator/sharding";
 * const options: GrantTimingOptions = { grantMs: 500, drift: 0.01, clockGranularityMs: 1 };
 * ```
 */
export interface GrantTimingOptions {
  /**
   * How long a holder may act after it sent a renewal request, in whole
   * milliseconds (default 500).
   */
  grantMs?: number;
  /**
   * The bound on every replica's monotonic clock rate error: each runs at a
   * rate within `[1 − drift, 1 + drift]` of real time (default 0.01).
   */
  drift?: number;
  /**
   * The coarsest step of any replica's clock readings, in ms (default 1; at
   * least 0.001, which also covers the floating-point rounding of readings
   * up to 2⁴⁰ ms).
   */
  clockGranularityMs?: number;
}

/**
 * Grant timing with every default filled in, and the leader's count derived
 * from it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grantTiming } from "@k8s-operator/k8s-operator/sharding";
 * const t = grantTiming({ grantMs: 500, drift: 0.01, clockGranularityMs: 1 });
 * assert.equal(t.holdMs, (500 + 1) * 1.01 / 0.99 + 1);
 * ```
 */
export interface GrantTiming {
  /** How long a holder may act after it sent a renewal request. */
  readonly grantMs: number;
  /** The clock-rate error bound. */
  readonly drift: number;
  /** The coarsest clock reading step, in ms. */
  readonly clockGranularityMs: number;
  /**
   * How long the leader counts a grant from when it received the request,
   * and how long a new leader waits before it grants anything:
   * `(grantMs + g) · (1 + drift) / (1 − drift) + g`.
   */
  readonly holdMs: number;
}

/**
 * Fills in the defaults of grant timing and derives the leader's count,
 * `holdMs = (grantMs + g)·(1 + ρ)/(1 − ρ) + g`: long enough that, with
 * clocks within the drift bound and readings within `g`, a holder's grant
 * (counted from the send of its request) has ended in real time when the
 * leader's count (from the receipt) ends.
 *
 * @throws {ShardConfigError} when an option is out of range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grantTiming } from "@k8s-operator/k8s-operator/sharding";
 * const t = grantTiming();
 * assert.equal(t.grantMs, 500);
 * assert.ok(t.holdMs > 512 && t.holdMs < 513);
 * ```
 */
export function grantTiming(
  options: GrantTimingOptions | GrantTiming = {},
): GrantTiming {
  const grantMs = options.grantMs ?? 500;
  const drift = options.drift ?? 0.01;
  const g = options.clockGranularityMs ?? 1;
  if (!Number.isSafeInteger(grantMs) || grantMs <= 0) {
    throw new ShardConfigError(
      `Expected grantMs to be a positive integer, found ${grantMs}`,
    );
  }
  if (!Number.isFinite(drift) || drift < 0 || drift >= 0.5) {
    throw new ShardConfigError(
      `Expected drift to be at least 0 and below 0.5, found ${drift}`,
    );
  }
  if (!Number.isFinite(g) || g < 0.001) {
    throw new ShardConfigError(
      `Expected clockGranularityMs to be at least 0.001 (1 µs), found ${g}`,
    );
  }
  const holdMs = (grantMs + g) * (1 + drift) / (1 - drift) + g;
  return { grantMs, drift, clockGranularityMs: g, holdMs };
}

/**
 * A holder's request to renew its grants (it rides on the follower's
 * heartbeat response). Also carries the shards the holder released and has
 * not seen acknowledged.
 *
 * @example
 * ```ts
 * import type { RenewalRequest } from "@k8s-operator/k8s-operator/sharding";
 * const request: RenewalRequest = { from: 1, session: 77, seq: 3, leaving: false, released: [] };
 * ```
 */
export interface RenewalRequest {
  /** The holder's node. */
  from: NodeId;
  /** The holder process's session (a random 32-bit number drawn at start). */
  session: number;
  /** Rises with every request of the session, from 1. */
  seq: number;
  /**
   * `true` while the holder wants no shard: it is shutting down
   * ({@linkcode GrantHolder.leave}), or it stands aside for now
   * ({@linkcode GrantHolder.standAside}, e.g. its API server is
   * unreachable). The leader plans without it and grants it nothing.
   */
  leaving: boolean;
  /** Shards released and not yet acknowledged, ascending. */
  released: number[];
}

/**
 * The leader's answer to a {@linkcode RenewalRequest} (it rides on the next
 * heartbeat to that follower). Answering acknowledges the request's releases.
 *
 * @example
 * ```ts
 * import type { GrantMessage } from "@k8s-operator/k8s-operator/sharding";
 * const grant: GrantMessage = {
 *   to: 1, term: 4, session: 77, seq: 3, epoch: 2, shardCount: 256,
 *   grantMs: 500, granted: [5, 9], release: [],
 * };
 * ```
 */
export interface GrantMessage {
  /** The holder's node. */
  to: NodeId;
  /** The leader's term. */
  term: number;
  /** The request's session, echoed. */
  session: number;
  /** The request's sequence number, echoed. */
  seq: number;
  /** The epoch of the assignment the leader granted by (0 before any). */
  epoch: number;
  /** The shard count. */
  shardCount: number;
  /** The grant duration the leader counted with. */
  grantMs: number;
  /** Shards granted (or renewed) from the request's send, ascending. */
  granted: number[];
  /** Shards this holder should release (they now belong to others), ascending. */
  release: number[];
}

/**
 * What handling a grant changed for the holder.
 *
 * @example
 * ```ts
 * import type { GrantOutcome } from "@k8s-operator/k8s-operator/sharding";
 * const start = (o: GrantOutcome) => o.acquired; // shards to start reconciling
 * ```
 */
export interface GrantOutcome {
  /** Shards held now that were not held just before. */
  acquired: number[];
  /** Held shards the leader asks to release (stop their reconciles, then call `release`). */
  toRelease: number[];
  /** Released shards whose release this grant acknowledged. */
  acknowledged: number[];
}

/**
 * Options of {@linkcode GrantHolder}.
 *
 * @example
 * ```ts
 * import type { GrantHolderOptions } from "@k8s-operator/k8s-operator/sharding";
 * const options: GrantHolderOptions = { id: 1, session: 0x5eed, shardCount: 256 };
 * ```
 */
export interface GrantHolderOptions {
  /** This replica's node id. */
  id: NodeId;
  /** A random 32-bit number drawn when the process starts. */
  session: number;
  /** The shard count of the committed assignment. */
  shardCount: number;
  /** Grant timing (the same on every replica). */
  timing?: GrantTimingOptions | GrantTiming;
}

const NO_OUTCOME: GrantOutcome = Object.freeze({
  acquired: [],
  toRelease: [],
  acknowledged: [],
}) as GrantOutcome;

function checkSession(session: number): number {
  if (!Number.isSafeInteger(session) || session < 0 || session > 0xffffffff) {
    throw new ShardConfigError(
      `Expected a session to be a 32-bit unsigned integer, found ${session}`,
    );
  }
  return session;
}

function ascending(values: Iterable<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

/**
 * A replica's side of the grant protocol: it numbers renewal requests and
 * remembers when each was sent, holds a shard until the send time of the
 * request that renewed it plus `grantMs`, and carries releases until one
 * is acknowledged. One instance per process (a restart is a new session).
 *
 * @example A grant holds from the request's send, not from its arrival
 * ```ts
 * import assert from "node:assert/strict";
 * import { GrantHolder } from "@k8s-operator/k8s-operator/sharding";
 * const holder = new GrantHolder({ id: 1, session: 9, shardCount: 8 });
 * const request = holder.request(1000); // sent at 1000 on this replica's clock
 * holder.onGrant({
 *   to: 1, term: 2, session: 9, seq: request.seq, epoch: 1, shardCount: 8,
 *   grantMs: 500, granted: [3], release: [],
 * }, 1200); // arrived at 1200
 * assert.ok(holder.holds(3, 1499));
 * assert.ok(!holder.holds(3, 1500)); // 1000 + 500
 * ```
 */
export class GrantHolder {
  /** This replica's node id. */
  readonly id: NodeId;
  /** This process's session. */
  readonly session: number;
  /** The shard count it holds grants of. */
  readonly shardCount: number;
  /** Its grant timing. */
  readonly timing: GrantTiming;
  #nextSeq = 1;
  /** Send time of each recent request, by sequence number. */
  readonly #sent = new Map<number, number>();
  /** Until when each shard is held (entries stay after they end). */
  readonly #until = new Map<number, number>();
  /** Grants of a shard count only from requests numbered above this. */
  readonly #releasedAt = new Map<number, number>();
  /** Releases not yet acknowledged: shard → first request that carries it (0: none yet). */
  readonly #pending = new Map<number, number>();
  #leaving = false;
  #aside = false;

  /** A holder for one process. */
  constructor(options: GrantHolderOptions) {
    this.id = options.id;
    this.session = checkSession(options.session);
    this.shardCount = checkShardCount(options.shardCount);
    this.timing = grantTiming(options.timing);
  }

  /** `true` after {@linkcode GrantHolder.leave}. */
  get leaving(): boolean {
    return this.#leaving;
  }

  /** `true` between {@linkcode GrantHolder.standAside} and {@linkcode GrantHolder.rejoin}. */
  get aside(): boolean {
    return this.#aside;
  }

  /**
   * The next renewal request; `now` must be read before it is sent. Carries
   * every release not yet acknowledged.
   */
  request(now: number): RenewalRequest {
    const seq = this.#nextSeq++;
    this.#sent.set(seq, now);
    for (const [s, sentAt] of this.#sent) {
      if (sentAt + this.timing.grantMs > now) break;
      this.#sent.delete(s);
    }
    for (const [shard, first] of this.#pending) {
      if (first === 0) this.#pending.set(shard, seq);
    }
    return {
      from: this.id,
      session: this.session,
      seq,
      leaving: this.#leaving || this.#aside,
      released: ascending(this.#pending.keys()),
    };
  }

  /**
   * Takes a grant in. Shards granted in answer to request `seq` are held
   * until that request's send time plus the smaller of the grant's and this
   * holder's `grantMs`; a longer earlier grant is never shortened. Ignored:
   * a grant for another node, session or shard count, for a request this
   * holder does not remember (stale), and, per shard, one answering a
   * request sent before this holder released the shard.
   */
  onGrant(grant: GrantMessage, now: number): GrantOutcome {
    if (grant.to !== this.id || grant.session !== this.session) {
      return NO_OUTCOME;
    }
    const sentAt = this.#sent.get(grant.seq);
    if (sentAt === undefined) return NO_OUTCOME;
    const acknowledged: number[] = [];
    for (const [shard, first] of this.#pending) {
      if (first !== 0 && first <= grant.seq) {
        this.#pending.delete(shard);
        acknowledged.push(shard);
      }
    }
    if (grant.shardCount !== this.shardCount) {
      return { acquired: [], toRelease: [], acknowledged };
    }
    const until = this.validFrom(sentAt, now) +
      Math.min(grant.grantMs, this.timing.grantMs);
    const acquired: number[] = [];
    if (until > now && !this.#leaving && !this.#aside) {
      for (const shard of grant.granted) {
        if (!Number.isSafeInteger(shard) || shard < 0) continue;
        if (shard >= this.shardCount) continue;
        if ((this.#releasedAt.get(shard) ?? 0) >= grant.seq) continue;
        const before = this.#until.get(shard);
        if (before === undefined || before <= now) acquired.push(shard);
        if (before === undefined || before < until) {
          this.#until.set(shard, until);
        }
      }
    }
    const toRelease = grant.release.filter((s) => this.holds(s, now));
    return { acquired: ascending(acquired), toRelease, acknowledged };
  }

  /** `true` while the shard's grant holds at `now`. */
  holds(shard: number, now: number): boolean {
    const until = this.#until.get(shard);
    return until !== undefined && now < until;
  }

  /** When the shard's grant ends (on this replica's clock), `null` if it is not held. */
  validUntil(shard: number, now: number): number | null {
    return this.holds(shard, now) ? this.#until.get(shard)! : null;
  }

  /** The shards held at `now`, ascending. */
  held(now: number): number[] {
    return ascending(
      [...this.#until].filter(([, until]) => now < until).map(([s]) => s),
    );
  }

  /** Releases not yet acknowledged, ascending. */
  pendingReleases(): number[] {
    return ascending(this.#pending.keys());
  }

  /**
   * Gives shards up: they stop being held at once, and every later request
   * carries them until one is acknowledged. Call it after their reconciles
   * have ended. Releasing a shard that is not held is allowed (the leader may
   * still count an expired grant of it).
   */
  release(shards: readonly number[]): void {
    for (const shard of shards) {
      this.#until.delete(shard);
      this.#releasedAt.set(shard, this.#nextSeq);
      if (!this.#pending.has(shard)) this.#pending.set(shard, 0);
    }
  }

  /**
   * Shutting down: releases every shard it held since it started and marks
   * every later request `leaving`, so nothing is granted to it any more.
   * Returns the shards released.
   */
  leave(): number[] {
    this.#leaving = true;
    const all = ascending(this.#until.keys());
    this.release(all);
    return all;
  }

  /**
   * Stands aside for now (the replica cannot do the work: its API server
   * is unreachable): releases every shard it held since it started, as
   * {@linkcode GrantHolder.leave} does, and marks later requests `leaving`
   * until {@linkcode GrantHolder.rejoin}; no grant is taken in meanwhile.
   * Returns the shards released.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { GrantHolder } from "@k8s-operator/k8s-operator/sharding";
   * const holder = new GrantHolder({ id: 1, session: 9, shardCount: 8 });
   * holder.standAside();
   * assert.equal(holder.request(1000).leaving, true);
   * holder.rejoin();
   * assert.equal(holder.request(1010).leaving, false);
   * ```
   */
  standAside(): number[] {
    this.#aside = true;
    const all = ascending(this.#until.keys());
    this.release(all);
    return all;
  }

  /**
   * Ends {@linkcode GrantHolder.standAside}: later requests ask for shards
   * again (a holder that left stays leaving).
   */
  rejoin(): void {
    this.#aside = false;
  }

  /**
   * Where a grant's validity starts: the send time of the request it
   * answers. Overridden only by the simulator's deliberately broken variant.
   */
  protected validFrom(sentAt: number, _receivedAt: number): number {
    return sentAt;
  }
}

/**
 * Options of {@linkcode GrantIssuer}.
 *
 * @example
 * ```ts
 * import type { GrantIssuerOptions } from "@k8s-operator/k8s-operator/sharding";
 * const options: GrantIssuerOptions = { term: 3, leaderSince: 1000, shardCount: 256 };
 * ```
 */
export interface GrantIssuerOptions {
  /** The term this node leads. */
  term: number;
  /** When this node learned it leads (its clock): the new-leader wait starts here. */
  leaderSince: number;
  /** The shard count. */
  shardCount: number;
  /** Grant timing (the same on every replica). */
  timing?: GrantTimingOptions | GrantTiming;
}

/**
 * Options of {@linkcode GrantIssuer.onRequest}.
 *
 * @example
 * ```ts
 * import type { IssueOptions } from "@k8s-operator/k8s-operator/sharding";
 * const options: IssueOptions = { now: 1600, lease: true };
 * ```
 */
export interface IssueOptions {
  /** When the request was received (read on receipt or later). */
  now: number;
  /** Whether this leader holds its Raft lease at `now`: no grant without it. */
  lease: boolean;
}

/**
 * Who the leader counts as holding a shard.
 *
 * @example
 * ```ts
 * import type { GrantRecord } from "@k8s-operator/k8s-operator/sharding";
 * const expired = (r: GrantRecord, now: number) => now >= r.expiresAt;
 * ```
 */
export interface GrantRecord {
  /** The holder's node. */
  node: NodeId;
  /** The holder's session. */
  session: number;
  /** The request that last renewed it. */
  seq: number;
  /** When the leader's count of it ends (leader's clock). */
  expiresAt: number;
}

/**
 * Options of {@linkcode GrantIssuer.liveMembers}.
 *
 * @example
 * ```ts
 * import type { LiveMemberOptions } from "@k8s-operator/k8s-operator/sharding";
 * const options: LiveMemberOptions = { now: 5000, candidates: [0, 1, 2], memberTimeoutMs: 500 };
 * ```
 */
export interface LiveMemberOptions {
  /** The leader's clock. */
  now: number;
  /** The members that may own shards: voters whose incarnation is current. */
  candidates: readonly NodeId[];
  /** How long since its last request a member still counts as live (default `grantMs`). */
  memberTimeoutMs?: number;
}

interface SessionState {
  seq: number;
  heardAt: number;
  leaving: boolean;
}

/**
 * The leader's side of the grant protocol, for one term: it grants each
 * shard to the owner the committed assignment names, only once no other
 * holder's grant may still hold, only under the Raft lease, and nothing
 * before `leaderSince + holdMs` (every grant an earlier leader issued has
 * ended by then). Build a new one whenever this node starts to lead.
 *
 * @example A new leader waits out the old leader's grants
 * ```ts
 * import assert from "node:assert/strict";
 * import { GrantIssuer, planAssignment } from "@k8s-operator/k8s-operator/sharding";
 * const issuer = new GrantIssuer({ term: 2, leaderSince: 0, shardCount: 4 });
 * issuer.setAssignment(planAssignment({ shardCount: 4, members: [1] }));
 * const request = { from: 1, session: 9, seq: 1, leaving: false, released: [] };
 * assert.deepEqual(issuer.onRequest(request, { now: 100, lease: true })?.granted, []);
 * const later = { ...request, seq: 2 };
 * assert.deepEqual(issuer.onRequest(later, { now: 600, lease: true })?.granted, [0, 1, 2, 3]);
 * ```
 */
export class GrantIssuer {
  /** The term this issuer serves. */
  readonly term: number;
  /** When this node learned it leads. */
  readonly leaderSince: number;
  /** The shard count. */
  readonly shardCount: number;
  /** Grant timing. */
  readonly timing: GrantTiming;
  #assignment: Assignment | null = null;
  readonly #records: (GrantRecord | null)[];
  readonly #sessions = new Map<NodeId, Map<number, SessionState>>();

  /** An issuer for the term this node just started to lead. */
  constructor(options: GrantIssuerOptions) {
    this.term = options.term;
    this.leaderSince = options.leaderSince;
    this.shardCount = checkShardCount(options.shardCount);
    this.timing = grantTiming(options.timing);
    this.#records = new Array(this.shardCount).fill(null);
  }

  /** The assignment it grants by, `null` before one was applied. */
  get assignment(): Assignment | null {
    return this.#assignment;
  }

  /**
   * Takes the latest committed (applied) assignment. An older epoch than the
   * one it has is ignored.
   *
   * @throws {ShardConfigError} for an assignment of another shard count.
   */
  setAssignment(assignment: Assignment): void {
    if (assignment.shardCount !== this.shardCount) {
      throw new ShardConfigError(
        `Expected an assignment of ${this.shardCount} shards, found ${assignment.shardCount}`,
      );
    }
    if (
      this.#assignment !== null && assignment.epoch < this.#assignment.epoch
    ) {
      return;
    }
    this.#assignment = assignment;
  }

  /** `true` once the new-leader wait is over at `now`. */
  waited(now: number): boolean {
    return now >= this.waitUntil();
  }

  /**
   * Handles a renewal request received at `now` and returns the grant to
   * send back, or `null` for a stale request (not numbered above the last one
   * seen from its session), which is dropped.
   */
  onRequest(
    request: RenewalRequest,
    options: IssueOptions,
  ): GrantMessage | null {
    const { now } = options;
    const { from, session, seq } = request;
    let sessions = this.#sessions.get(from);
    if (sessions === undefined) {
      sessions = new Map();
      this.#sessions.set(from, sessions);
    }
    const known = sessions.get(session);
    if (known !== undefined && seq <= known.seq) return null;
    if (known === undefined) {
      // A new process of this node: forget sessions long silent (a request
      // of one that still arrives is granted at worst to a dead process,
      // which only delays its shards by one count).
      for (const [id, state] of sessions) {
        if (now - state.heardAt > 2 * this.holdMs()) sessions.delete(id);
      }
    }
    sessions.set(session, { seq, heardAt: now, leaving: request.leaving });
    const released = new Set<number>();
    for (const shard of request.released) {
      const r = this.#records[shard];
      if (
        r !== null && r !== undefined && r.node === from &&
        r.session === session
      ) {
        this.#records[shard] = null;
      }
      released.add(shard);
    }
    const granted: number[] = [];
    const release: number[] = [];
    const owners = this.#assignment?.owners ?? [];
    const mayGrant = options.lease && this.waited(now) && !request.leaving;
    for (let shard = 0; shard < this.shardCount; shard++) {
      const r = this.#records[shard];
      const mine = r !== null && r.node === from && r.session === session;
      const owned = owners[shard] === from && !request.leaving;
      if (mine && !owned && !this.recordEnded(r, now)) release.push(shard);
      if (!owned || !mayGrant || released.has(shard)) continue;
      if (mine || r === null || this.recordEnded(r, now)) {
        this.#records[shard] = {
          node: from,
          session,
          seq,
          expiresAt: now + this.holdMs(),
        };
        granted.push(shard);
      }
    }
    return {
      to: from,
      term: this.term,
      session,
      seq,
      epoch: this.#assignment?.epoch ?? 0,
      shardCount: this.shardCount,
      grantMs: this.timing.grantMs,
      granted,
      release,
    };
  }

  /** Who the leader counts as holding `shard` at `now`, or `null`. */
  holderOf(shard: number, now: number): GrantRecord | null {
    const r = this.#records[shard] ?? null;
    return r === null || this.recordEnded(r, now) ? null : { ...r };
  }

  /**
   * Shards whose assigned owner cannot be granted them yet at `now` because
   * another holder's grant still counts: moves in progress.
   */
  moving(now: number): number[] {
    const owners = this.#assignment?.owners ?? [];
    const out: number[] = [];
    for (let shard = 0; shard < this.shardCount; shard++) {
      const r = this.holderOf(shard, now);
      if (r !== null && owners[shard] !== r.node) out.push(shard);
    }
    return out;
  }

  /**
   * The candidates that count as live at `now`: not leaving (their latest
   * session said so), and heard from within `memberTimeoutMs`. A member of
   * the assignment (every candidate, before there is one) counts as heard
   * at `leaderSince`, so a new leader does not drop live owners before they
   * had a chance to talk to it; any other candidate must be heard, so a new
   * leader does not plan shards onto a voter its predecessor had already
   * dropped as silent (a dead replica still in the configuration), only to
   * take them back `memberTimeoutMs` later. The members to plan over.
   */
  liveMembers(options: LiveMemberOptions): NodeId[] {
    const timeout = options.memberTimeoutMs ?? this.timing.grantMs;
    const members = this.#assignment?.members;
    const live: NodeId[] = [];
    for (const id of options.candidates) {
      let heardAt = members === undefined || members.includes(id)
        ? this.leaderSince
        : -Infinity;
      let leaving = false;
      for (const s of this.#sessions.get(id)?.values() ?? []) {
        if (s.heardAt >= heardAt) {
          heardAt = s.heardAt;
          leaving = s.leaving;
        }
      }
      if (!leaving && options.now - heardAt < timeout) live.push(id);
    }
    return ascending(new Set(live));
  }

  /**
   * How long the leader counts a grant from the request's receipt:
   * `timing.holdMs`. Overridden only by the simulator's deliberately broken
   * variants.
   */
  protected holdMs(): number {
    return this.timing.holdMs;
  }

  /**
   * When the new-leader wait ends: `leaderSince + timing.holdMs`.
   * Overridden only by the simulator's deliberately broken variants.
   */
  protected waitUntil(): number {
    return this.leaderSince + this.timing.holdMs;
  }

  /**
   * Whether the leader counts another holder's grant as ended at `now`.
   * Overridden only by the simulator's deliberately broken variants.
   */
  protected recordEnded(record: GrantRecord, now: number): boolean {
    return now >= record.expiresAt;
  }
}
