/**
 * The baseline of `bench:failover`: leader election through a
 * coordination.k8s.io/v1 Lease, written to behave like client-go's
 * `tools/leaderelection` (`LeaderElector` with a `LeaseLock`):
 *
 * - `acquire`: `tryAcquireOrRenew` at once, then again every retry period
 *   stretched by a random jitter of up to 1.2× (`wait.JitterUntil`, sliding).
 * - `tryAcquireOrRenew`: a leader whose observed lease is still valid first
 *   updates optimistically with the Lease it last wrote (the fast path); else
 *   GET the Lease (create it when missing), note the local time whenever the
 *   record changed, give up while another holder's lease is valid (observed
 *   time + `leaseDurationSeconds` from the record), then update with the
 *   resourceVersion just read: a concurrent writer gets 409 Conflict.
 * - `renew`: every retry period (`wait.Until`), retry `tryAcquireOrRenew`
 *   every retry period (`wait.PollImmediateUntil`) until it succeeds or the
 *   renew deadline passes; then leadership is lost.
 * - release on cancel: the leader writes an empty holder with
 *   `leaseDurationSeconds: 1`, so a candidate takes over at its next retry.
 *
 * Left out, as the benchmark does not need them: `OnNewLeader`, coordinated
 * leader election, the healthz watchdog, and cancelling an in-flight
 * request at the renew deadline (client-go's context timeout; here a slow
 * request delays the loss of leadership until it returns).
 *
 * Time and randomness are injected, so tests drive it on a fake clock and
 * the benchmark on the real one.
 *
 * @module
 */

/** The Lease spec fields leader election reads and writes. */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** RFC 3339 with microseconds (Kubernetes MicroTime). */
  acquireTime: string;
  /** RFC 3339 with microseconds (Kubernetes MicroTime). */
  renewTime: string;
  leaseTransitions: number;
}

/** A Lease as the lock read it: the record and its raw form, to compare. */
export interface ObservedLease {
  record: LeaseRecord;
  raw: string;
}

/**
 * A resource lock over one Lease (client-go's `resourcelock.LeaseLock`):
 * `update` writes with the resourceVersion of the Lease it last read or
 * wrote, and throws on any failure (409 Conflict included).
 */
export interface LeaseLock {
  /** This candidate's identity (the Lease's holderIdentity when it leads). */
  readonly identity: string;
  /** The Lease, or `null` when it does not exist (404). */
  get(signal?: AbortSignal): Promise<ObservedLease | null>;
  /** Creates the Lease with `record`. */
  create(record: LeaseRecord, signal?: AbortSignal): Promise<void>;
  /** Replaces the Lease's spec with `record`, guarded by resourceVersion. */
  update(record: LeaseRecord, signal?: AbortSignal): Promise<void>;
}

/** The elector's clock. */
export interface ElectorClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The timings and hooks of a {@link LeaseElector}. */
export interface LeaseElectorOptions {
  lock: LeaseLock;
  /** client-go default 15 s. Written to the Lease in whole seconds (at least 1). */
  leaseDurationMs: number;
  /** client-go default 10 s. */
  renewDeadlineMs: number;
  /** client-go default 2 s. */
  retryPeriodMs: number;
  /** Release the Lease when `run`'s signal aborts while leading. */
  releaseOnCancel: boolean;
  clock: ElectorClock;
  /** Uniform in [0, 1), for the retry jitter. */
  random: () => number;
  /** Called when this candidate starts leading; the signal aborts when it stops. */
  onStartedLeading(signal: AbortSignal): void;
  /** Called when `run` ends (leadership lost, or cancelled). */
  onStoppedLeading(): void;
}

/** client-go's `JitterFactor` for the acquire loop. */
export const JITTER_FACTOR = 1.2;

/** The client-go defaults: lease 15 s, renew deadline 10 s, retry 2 s. */
export const CLIENT_GO_DEFAULTS: {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
} = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** Formats epoch milliseconds as a Kubernetes MicroTime. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Leader election through a Lease, like client-go's `LeaderElector`. */
export class LeaseElector {
  readonly #o: LeaseElectorOptions;
  #observed: LeaseRecord | null = null;
  #observedRaw: string | null = null;
  #observedTime = 0;

  constructor(options: LeaseElectorOptions) {
    this.#o = options;
  }

  /** Whether the last observed record names this candidate. */
  isLeader(): boolean {
    return this.#observed?.holderIdentity === this.#o.lock.identity;
  }

  /** The last observed holder ("" for none). */
  leader(): string {
    return this.#observed?.holderIdentity ?? "";
  }

  /** Acquires, leads and renews until leadership is lost or `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      if (!(await this.#acquire(signal))) return;
      const leading = new AbortController();
      this.#o.onStartedLeading(leading.signal);
      try {
        await this.#renew(signal);
        if (this.#o.releaseOnCancel) await this.#release();
      } finally {
        leading.abort();
      }
    } finally {
      this.#o.onStoppedLeading();
    }
  }

  #setObserved(record: LeaseRecord): void {
    this.#observed = record;
    this.#observedTime = this.#o.clock.now();
  }

  #leaseValid(now: number): boolean {
    const seconds = this.#observed?.leaseDurationSeconds ?? 0;
    return this.#observedTime + seconds * 1000 > now;
  }

  async #acquire(signal: AbortSignal): Promise<boolean> {
    const { clock, retryPeriodMs, random } = this.#o;
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(signal)) return true;
      if (signal.aborted) break;
      const jittered = retryPeriodMs * (1 + random() * JITTER_FACTOR);
      await clock.sleep(jittered, signal);
    }
    return false;
  }

  async #renew(signal: AbortSignal): Promise<void> {
    const { clock, retryPeriodMs, renewDeadlineMs } = this.#o;
    while (!signal.aborted) {
      const deadline = clock.now() + renewDeadlineMs;
      let renewed = false;
      while (!signal.aborted) {
        if (await this.tryAcquireOrRenew(signal)) {
          renewed = true;
          break;
        }
        if (clock.now() + retryPeriodMs > deadline) break;
        await clock.sleep(retryPeriodMs, signal);
      }
      if (!renewed) return;
      await clock.sleep(retryPeriodMs, signal);
    }
  }

  async #release(): Promise<void> {
    if (!this.isLeader()) return;
    const now = microTime(this.#o.clock.now());
    const record: LeaseRecord = {
      holderIdentity: "",
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: this.#observed!.leaseTransitions,
    };
    try {
      await this.#o.lock.update(record);
      this.#setObserved(record);
    } catch {
      // client-go logs "Failed to release lock" and returns.
    }
  }

  /** One attempt to take or keep the Lease; true on success. */
  async tryAcquireOrRenew(signal?: AbortSignal): Promise<boolean> {
    const { lock, clock, leaseDurationMs } = this.#o;
    const nowMs = clock.now();
    const now = microTime(nowMs);
    const record: LeaseRecord = {
      holderIdentity: lock.identity,
      leaseDurationSeconds: Math.max(1, Math.round(leaseDurationMs / 1000)),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    if (this.isLeader() && this.#leaseValid(nowMs)) {
      const seen = this.#observed!;
      record.acquireTime = seen.acquireTime;
      record.leaseTransitions = seen.leaseTransitions;
      try {
        await lock.update(record, signal);
        this.#setObserved(record);
        return true;
      } catch {
        // client-go falls back to the slow path.
      }
    }
    let old: ObservedLease | null;
    try {
      old = await lock.get(signal);
    } catch {
      return false;
    }
    if (old === null) {
      try {
        await lock.create(record, signal);
      } catch {
        return false;
      }
      this.#setObserved(record);
      return true;
    }
    if (this.#observedRaw !== old.raw) {
      this.#setObserved(old.record);
      this.#observedRaw = old.raw;
    }
    if (
      old.record.holderIdentity !== "" && this.#leaseValid(nowMs) &&
      !this.isLeader()
    ) {
      return false;
    }
    if (this.isLeader()) {
      record.acquireTime = old.record.acquireTime;
      record.leaseTransitions = old.record.leaseTransitions;
    } else {
      record.leaseTransitions = old.record.leaseTransitions + 1;
    }
    try {
      await lock.update(record, signal);
    } catch {
      return false;
    }
    this.#setObserved(record);
    return true;
  }
}
