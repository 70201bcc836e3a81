/**
 * The invariant checker. It keeps the ground truth of the whole run (every
 * leader seen per term, every vote cast, every entry ever stored and ever
 * committed) and is told about every write, apply and role a node shows.
 * The first broken invariant throws a {@linkcode SimViolation}.
 *
 * @module
 */
import type { HardState, NodeId } from "../../raft/types.ts";
import type { SimStore, StoredEntry } from "./_store.ts";

/** The properties the simulator checks. */
export type Invariant =
  | "election safety"
  | "leader append-only"
  | "log matching"
  | "leader completeness"
  | "state-machine safety"
  | "single vote per term"
  | "durable state"
  | "apply order"
  | "leader lease"
  | "quorum commit"
  | "liveness"
  | "core error";

/** A broken invariant, with the tick it was seen at. */
export class SimViolation extends Error {
  override name = "SimViolation";
  readonly invariant: Invariant;
  readonly tick: number;

  /** A violation of `invariant` at `tick`. */
  constructor(invariant: Invariant, options: { tick: number; detail: string }) {
    super(`${invariant} violated at tick ${options.tick}: ${options.detail}`);
    this.invariant = invariant;
    this.tick = options.tick;
  }
}

interface Committed {
  term: number;
  digest: number;
  /** The term of the first node seen applying it (the committing leader's). */
  commitTerm: number;
}

/** A node currently acting as leader, with the log the checker can read. */
export interface LeaderView {
  /** The node. */
  id: NodeId;
  /** Its term. */
  term: number;
  /** Its persisted log. */
  store: SimStore;
}

/** Ground truth and checks. */
export class Checker {
  tick = 0;
  readonly leaders: Map<number, NodeId> = new Map();
  #votes = new Map<string, NodeId>();
  #prefix = new Map<string, number>();
  #committed = new Map<number, Committed>();

  /** Throws a violation of `invariant` at the current tick. */
  fail(invariant: Invariant, detail: string): never {
    throw new SimViolation(invariant, { tick: this.tick, detail });
  }

  /** Log matching: an (index, term) pair always ends the same prefix. */
  onStored(node: NodeId, added: readonly StoredEntry[]): void {
    for (const { entry, digest } of added) {
      const key = `${entry.index}:${entry.term}`;
      const seen = this.#prefix.get(key);
      if (seen === undefined) this.#prefix.set(key, digest);
      else if (seen !== digest) {
        this.fail(
          "log matching",
          `node ${node} stored entry ${entry.index} of term ${entry.term} after a log that differs from another node's with the same entry`,
        );
      }
    }
  }

  /** A snapshot's (index, term) must end the same prefix as the log entry. */
  onSnapshot(
    node: NodeId,
    at: { index: number; term: number; digest: number },
  ): void {
    const key = `${at.index}:${at.term}`;
    const seen = this.#prefix.get(key);
    if (seen === undefined) this.#prefix.set(key, at.digest);
    else if (seen !== at.digest) {
      this.fail(
        "log matching",
        `node ${node} installed a snapshot at ${at.index} (term ${at.term}) whose state differs from the log that produced that entry`,
      );
    }
    const c = this.#committed.get(at.index);
    if (c !== undefined && c.digest !== at.digest) {
      this.fail(
        "state-machine safety",
        `node ${node} installed a snapshot at ${at.index} that differs from the committed history`,
      );
    }
  }

  /**
   * A new history: every node lost its store at once, so the cluster starts
   * afresh. Leaders, logs and committed entries of the old one are
   * forgotten; votes are kept by store, so they never clash.
   */
  newEpoch(): void {
    this.leaders.clear();
    this.#prefix.clear();
    this.#committed.clear();
  }

  /**
   * Term never goes back, one vote per term (across restarts), commit never
   * goes back, for one store (`node` names the node and its store: a node
   * that lost its store is a new voter, with a term and vote of its own).
   */
  onHardState(
    node: string,
    { before, after }: { before: HardState; after: HardState },
  ): void {
    if (after.term < before.term) {
      this.fail(
        "durable state",
        `node ${node} persisted term ${after.term} after term ${before.term}`,
      );
    }
    if (after.commit < before.commit) {
      this.fail(
        "durable state",
        `node ${node} persisted commit ${after.commit} after commit ${before.commit}`,
      );
    }
    if (after.vote !== null) {
      const key = `${node}@${after.term}`;
      const seen = this.#votes.get(key);
      if (seen === undefined) this.#votes.set(key, after.vote);
      else if (seen !== after.vote) {
        this.fail(
          "single vote per term",
          `node ${node} voted for ${seen} and then for ${after.vote} in term ${after.term}`,
        );
      }
    }
  }

  /** Election safety, then leader completeness against every committed entry. */
  onLeader(leader: LeaderView): void {
    const seen = this.leaders.get(leader.term);
    if (seen === undefined) this.leaders.set(leader.term, leader.id);
    else if (seen !== leader.id) {
      this.fail(
        "election safety",
        `nodes ${seen} and ${leader.id} were both leader in term ${leader.term}`,
      );
    }
    for (const [index, c] of this.#committed) {
      this.#checkHas(leader, index, c);
    }
  }

  #checkHas(leader: LeaderView, index: number, c: Committed): void {
    if (c.commitTerm >= leader.term) return;
    if (index < leader.store.snapshotIndex) return;
    if (leader.store.digestAt(index) !== c.digest) {
      this.fail(
        "leader completeness",
        `leader ${leader.id} of term ${leader.term} lacks entry ${index} (term ${c.term}) committed in term ${c.commitTerm}`,
      );
    }
  }

  /**
   * State-machine safety: no two nodes apply different entries at one index.
   * The entry becomes known committed; current leaders must hold it.
   */
  onApply(
    applied: {
      node: NodeId;
      index: number;
      term: number;
      digest: number;
      nodeTerm: number;
    },
    leaders: readonly LeaderView[],
  ): void {
    const { node } = applied;
    const c = this.#committed.get(applied.index);
    if (c === undefined) {
      const fresh = {
        term: applied.term,
        digest: applied.digest,
        commitTerm: applied.nodeTerm,
      };
      this.#committed.set(applied.index, fresh);
      for (const l of leaders) this.#checkHas(l, applied.index, fresh);
    } else if (c.digest !== applied.digest) {
      this.fail(
        "state-machine safety",
        `node ${node} applied entry ${applied.index} of term ${applied.term}, another node applied a different entry (term ${c.term}) there`,
      );
    }
  }

  /** Whether some node applied an entry at `index`. */
  isCommitted(index: number): boolean {
    return this.#committed.has(index);
  }
}
