import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CLIENT_GO_DEFAULTS,
  type ElectorClock,
  JITTER_FACTOR,
  LeaseElector,
  type LeaseLock,
  type LeaseRecord,
  microTime,
  type ObservedLease,
} from "../../bench/_lease_elector.ts";

const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = CLIENT_GO_DEFAULTS;

/** A clock whose time moves only when the test advances it. */
class FakeClock implements ElectorClock {
  t = 1_000_000;
  #timers: { at: number; fire: () => void }[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = { at: this.t + ms, fire: () => resolve() };
      this.#timers.push(timer);
      signal.addEventListener("abort", () => {
        this.#timers = this.#timers.filter((x) => x !== timer);
        resolve();
      }, { once: true });
    });
  }

  /** Moves time forward by `ms`, firing due timers in order (those due at one instant together). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    while (true) {
      await settle();
      const next = Math.min(...this.#timers.map((x) => x.at));
      if (!(next <= end)) break;
      const due = this.#timers.filter((x) => x.at === next);
      this.#timers = this.#timers.filter((x) => x.at !== next);
      this.t = next;
      for (const timer of due) timer.fire();
    }
    this.t = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** One Lease with resourceVersion semantics, as the API server keeps it. */
class LeaseStore {
  record: LeaseRecord | null = null;
  rv = 0;
  writes: { by: string; record: LeaseRecord }[] = [];
  conflicts = 0;
  down = false;
}

class MemoryLock implements LeaseLock {
  readonly identity: string;
  #store: LeaseStore;
  #rv: number | undefined;

  constructor(store: LeaseStore, identity: string) {
    this.#store = store;
    this.identity = identity;
  }

  get(): Promise<ObservedLease | null> {
    if (this.#store.down) return Promise.reject(new Error("unavailable"));
    const r = this.#store.record;
    if (r === null) return Promise.resolve(null);
    this.#rv = this.#store.rv;
    return Promise.resolve({ record: { ...r }, raw: JSON.stringify(r) });
  }

  create(record: LeaseRecord): Promise<void> {
    if (this.#store.down) return Promise.reject(new Error("unavailable"));
    if (this.#store.record !== null) {
      return Promise.reject(new Error("409 AlreadyExists"));
    }
    return Promise.resolve(this.#write(record));
  }

  update(record: LeaseRecord): Promise<void> {
    if (this.#store.down) return Promise.reject(new Error("unavailable"));
    if (this.#rv !== this.#store.rv) {
      this.#store.conflicts++;
      return Promise.reject(new Error("409 Conflict"));
    }
    return Promise.resolve(this.#write(record));
  }

  #write(record: LeaseRecord): void {
    this.#store.record = { ...record };
    this.#store.rv++;
    this.#rv = this.#store.rv;
    this.#store.writes.push({ by: this.identity, record: { ...record } });
  }
}

interface Candidate {
  elector: LeaseElector;
  cancel: AbortController;
  startedAt: number[];
  stoppedAt: number[];
  done: Promise<void>;
}

function candidate(
  store: LeaseStore,
  options: {
    clock: FakeClock;
    id: string;
    releaseOnCancel?: boolean;
    random?: () => number;
  },
): Candidate {
  const { clock } = options;
  const startedAt: number[] = [];
  const stoppedAt: number[] = [];
  const elector = new LeaseElector({
    lock: new MemoryLock(store, options.id),
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    releaseOnCancel: options.releaseOnCancel ?? false,
    clock,
    random: options.random ?? (() => 0.5),
    onStartedLeading: () => startedAt.push(clock.now()),
    onStoppedLeading: () => stoppedAt.push(clock.now()),
  });
  const cancel = new AbortController();
  const done = elector.run(cancel.signal);
  return { elector, cancel, startedAt, stoppedAt, done };
}

describe("Lease baseline elector (client-go leaderelection semantics)", () => {
  it("creates a missing Lease and leads at once with client-go's record", async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate(store, { clock, id: "a" });
    await clock.advance(0);
    assert.deepEqual(a.startedAt, [clock.t]);
    assert.deepEqual(store.record, {
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      acquireTime: microTime(clock.t),
      renewTime: microTime(clock.t),
      leaseTransitions: 0,
    });
    a.cancel.abort();
    await a.done;
  });

  it("renews every retry period, keeping acquireTime and transitions", async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate(store, { clock, id: "a" });
    const t0 = clock.t;
    await clock.advance(10 * retryPeriodMs);
    const renewals = store.writes.filter((w) => w.by === "a");
    // The create, the renewal wait.Until runs at once, then one per period.
    assert.equal(renewals.length, 12);
    assert.equal(
      renewals.at(-1)!.record.renewTime,
      microTime(t0 + 10 * retryPeriodMs),
    );
    assert.ok(renewals.every((w) => w.record.acquireTime === microTime(t0)));
    assert.ok(renewals.every((w) => w.record.leaseTransitions === 0));
    a.cancel.abort();
    await a.done;
  });

  it("keeps a standby out while the holder renews", async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate(store, { clock, id: "a" });
    await clock.advance(0);
    const b = candidate(store, { clock, id: "b" });
    await clock.advance(120_000);
    assert.equal(b.startedAt.length, 0);
    assert.equal(store.record?.holderIdentity, "a");
    assert.equal(b.elector.leader(), "a");
    a.cancel.abort();
    b.cancel.abort();
    await Promise.all([a.done, b.done]);
  });

  it("takes over a crashed holder's Lease only once leaseDuration has passed since it last saw it change", async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate(store, { clock, id: "a" });
    await clock.advance(0);
    const b = candidate(store, { clock, id: "b", random: () => 0 });
    await clock.advance(5 * retryPeriodMs);
    // A crash: the holder stops writing without releasing.
    a.cancel.abort();
    await a.done;
    const lastRenew = Date.parse(store.record!.renewTime);
    await clock.advance(leaseDurationMs + 3 * retryPeriodMs);
    assert.equal(b.startedAt.length, 1);
    const waited = b.startedAt[0] - lastRenew;
    assert.ok(
      waited >= leaseDurationMs && waited <= leaseDurationMs + retryPeriodMs,
      `took over ${waited} ms after the last renewal`,
    );
    assert.equal(store.record?.holderIdentity, "b");
    assert.equal(store.record?.leaseTransitions, 1);
    b.cancel.abort();
    await b.done;
  });

  it("stops leading when renewals fail for the renew deadline", async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate(store, { clock, id: "a" });
    await clock.advance(retryPeriodMs);
    store.down = true;
    const failedFrom = clock.t;
    await clock.advance(renewDeadlineMs + 2 * retryPeriodMs);
    assert.equal(a.stoppedAt.length, 1);
    const after = a.stoppedAt[0] - failedFrom;
    assert.ok(
      after >= renewDeadlineMs - retryPeriodMs &&
        after <= renewDeadlineMs + retryPeriodMs,
      `stopped ${after} ms after renewals began to fail`,
    );
    await a.done;
  });

  it("releases on cancel, and a standby takes over at its next retry", async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate(store, { clock, id: "a", releaseOnCancel: true });
    await clock.advance(0);
    const b = candidate(store, { clock, id: "b", random: () => 1 });
    await clock.advance(3 * retryPeriodMs);
    const t0 = clock.t;
    a.cancel.abort();
    await a.done;
    assert.equal(store.record?.holderIdentity, "");
    assert.equal(store.record?.leaseDurationSeconds, 1);
    await clock.advance(retryPeriodMs * (1 + JITTER_FACTOR));
    assert.equal(b.startedAt.length, 1);
    assert.ok(b.startedAt[0] - t0 <= retryPeriodMs * (1 + JITTER_FACTOR));
    assert.equal(store.record?.holderIdentity, "b");
    b.cancel.abort();
    await b.done;
  });

  it("lets exactly one of two standbys win an expired Lease (resourceVersion conflict)", async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    store.record = {
      holderIdentity: "gone",
      leaseDurationSeconds: 15,
      acquireTime: microTime(0),
      renewTime: microTime(0),
      leaseTransitions: 4,
    };
    store.rv = 7;
    const b = candidate(store, { clock, id: "b", random: () => 0 });
    const c = candidate(store, { clock, id: "c", random: () => 0 });
    await clock.advance(leaseDurationMs + 2 * retryPeriodMs);
    const leaders = [b, c].filter((x) => x.startedAt.length > 0);
    assert.equal(leaders.length, 1);
    assert.equal(store.record?.leaseTransitions, 5);
    const writers = store.writes.filter((w) => w.record.leaseTransitions === 5)
      .map((w) => w.by);
    assert.deepEqual([...new Set(writers)], [leaders[0].elector.leader()]);
    assert.equal(store.conflicts, 1);
    b.cancel.abort();
    c.cancel.abort();
    await Promise.all([b.done, c.done]);
  });
});
