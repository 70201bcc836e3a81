/**
 * What a leader knows about one follower's log, and the flow control of the
 * appends it sends there (after etcd-io/raft `tracker/progress.go`).
 *
 * - `probe`: the leader does not know where the follower's log matches; it
 *   sends one append at a time and waits for the answer.
 * - `replicate`: the follower keeps up; appends are streamed, at most
 *   `maxInflight` unacknowledged at once.
 * - `snapshot`: the follower is behind the leader's first index; a snapshot
 *   was sent and the leader waits for it to be acknowledged.
 *
 * @module
 */

/**
 * How a leader currently sends to one follower: `probe` (one append at a
 * time until the match is known), `replicate` (streaming, flow-controlled) or
 * `snapshot` (waiting for a snapshot to be acknowledged).
 *
 * @example
 * ```ts
 * import type { ProgressState } from "@k8s-operator/k8s-operator/raft";
 * const streaming = (s: ProgressState) => s === "replicate";
 * ```
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

/** One follower's replication state, kept by the leader. */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** `probe`: an append was sent and is not answered yet. */
  probeSent = false;
  /** `snapshot`: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** `snapshot`: the tick the snapshot was sent at. */
  snapshotSentAt = 0;
  /** `replicate`: the last index of each unacknowledged append, oldest first. */
  inflights: number[] = [];
  /** The tick of the latest append or heartbeat response in this term. */
  lastAck: number | null = null;
  /**
   * The leader's commit index when this progress was created: when the
   * member was added, or when this leader took office. A learner counts as
   * caught up only once it has acknowledged at least this index.
   */
  readonly addedCommit: number;
  /**
   * The tick at which this leader sent the latest heartbeat the follower
   * answered in this term (echoed back in the response), so a response that
   * waited in a queue renews the lease only from when it was asked for.
   */
  leaseAck: number | null = null;
  learner: boolean;
  /**
   * The incarnation the leader addresses this member as and accepts answers
   * from: the one the membership records, or for a learner without one, the
   * one it last heard (0 before it heard any).
   */
  readonly incarnation: number;
  readonly maxInflight: number;

  constructor(
    options: {
      next: number;
      learner: boolean;
      maxInflight: number;
      addedCommit: number;
      incarnation: number;
    },
  ) {
    this.next = options.next;
    this.incarnation = options.incarnation;
    this.addedCommit = options.addedCommit;
    this.learner = options.learner;
    this.maxInflight = options.maxInflight;
  }

  becomeProbe(): void {
    this.next = this.state === "snapshot"
      ? Math.max(this.match + 1, this.pendingSnapshot + 1)
      : this.match + 1;
    this.state = "probe";
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights = [];
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.next = this.match + 1;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights = [];
  }

  becomeSnapshot(index: number, now: number): void {
    this.state = "snapshot";
    this.pendingSnapshot = index;
    this.snapshotSentAt = now;
    this.inflights = [];
  }

  /** Records an acknowledgement up to `index`; `true` when `match` grew. */
  maybeUpdate(index: number): boolean {
    const grew = index > this.match;
    if (grew) {
      this.match = index;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return grew;
  }

  /**
   * Moves `next` back after the append at `rejected` was refused, using the
   * follower's hint. `false` when the rejection is stale.
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    if (hint < this.match) {
      // The follower no longer holds entries it acknowledged: it restarted
      // with storage that is not durable. Probe again from its log's end,
      // or it would never be sent those entries again.
      this.match = hint;
      this.next = hint + 1;
    } else {
      this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    }
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.length >= this.maxInflight;
      case "snapshot":
        return true;
    }
  }

  /** Records an append just sent whose last entry is `lastIndex` (`count` entries). */
  sent(lastIndex: number, count: number): void {
    if (this.state === "replicate") {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.push(lastIndex);
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  /** Frees the in-flight appends acknowledged by a match of `index`. */
  freeTo(index: number): void {
    let n = 0;
    while (n < this.inflights.length && this.inflights[n] <= index) n++;
    if (n > 0) this.inflights.splice(0, n);
  }

  freeFirst(): void {
    this.inflights.shift();
  }
}
