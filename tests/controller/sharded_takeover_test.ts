/**
 * A sharded controller's takeover of a shard (issue 19): the objects of a
 * shard that changed while this replica did not hold it are reconciled
 * first, in the order they first changed, then the shard's other cached
 * objects; a change while the shard's cached objects wait goes before
 * them. The gate is a hand-driven {@linkcode ShardGate} (which shards are
 * held, when a batch is acquired), the controller's clock a manual one, and
 * one worker records the order of its reconciles, against the test API
 * server.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Controller } from "../../controller/controller.ts";
import { LeaderElection } from "../../controller/leader_election.ts";
import { ReconcileResult } from "../../controller/reconciler.ts";
import type { ShardGate } from "../../controller/shard_gate.ts";
import { ManualClock } from "../../common/clock.ts";
import {
  ensureNamespace,
  type Harness,
  startServer,
  type Widget,
  widgets,
} from "./_server.ts";
import { until } from "./_helpers.ts";

/** A gate whose held shards and acquisitions the test drives. */
class HandGate implements ShardGate {
  readonly held = new Set<number>();
  readonly #listeners = new Set<(shards: readonly number[]) => void>();

  shardOf(object: { metadata: { labels?: Record<string, string> } }): number {
    return Number(object.metadata.labels?.shard);
  }

  holds(shard: number): boolean {
    return this.held.has(shard);
  }

  enter(shard: number) {
    return this.held.has(shard)
      ? { signal: new AbortController().signal, done: () => {} }
      : null;
  }

  onAcquire(listener: (shards: readonly number[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Holds `shards` from now on and says so, as a grant would. */
  acquire(...shards: number[]): void {
    for (const shard of shards) this.held.add(shard);
    for (const listener of this.#listeners) listener(shards);
  }

  lose(shard: number): void {
    this.held.delete(shard);
  }
}

interface Setup {
  ns: string;
  controller: Controller<Widget>;
  gate: HandGate;
  /** The controller's clock. */
  clock: ManualClock;
  /** Keys in the order reconciled. */
  reconciled: string[];
  /** While set, each reconcile waits for it (the queue builds up). */
  hold: { until: Promise<void> | null };
  stop(): Promise<void>;
}

describe("a sharded controller's takeover of a shard", () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(async () => {
    await h.stop();
  });

  /** `perShard` widgets `s<shard>-<i>` in each of `shards`, shard 0 held. */
  async function setUp(
    ns: string,
    options: { shards: number[]; perShard: number; changedWithinMs?: number },
  ): Promise<Setup> {
    await ensureNamespace(h.client, ns);
    for (const shard of options.shards) {
      for (let i = 0; i < options.perShard; i++) {
        await h.client.create<Widget>(widgets, {
          metadata: {
            name: `s${shard}-${i}`,
            namespace: ns,
            labels: { shard: String(shard) },
          },
          spec: { size: 1 },
        });
      }
    }
    const gate = new HandGate();
    gate.held.add(0);
    const reconciled: string[] = [];
    const hold: Setup["hold"] = { until: null };
    const stop = new AbortController();
    const clock = new ManualClock();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: new LeaderElection(0).guard(),
      shards: gate,
      namespace: ns,
      concurrency: 1,
      clock,
      changedWithinMs: options.changedWithinMs,
    });
    const done = controller.run({
      async reconcile(_widget, ctx) {
        reconciled.push(ctx.key);
        if (hold.until !== null) await hold.until;
        return ReconcileResult.done();
      },
    }, { signal: stop.signal });
    await until(
      () =>
        reconciled.length === options.perShard &&
        controller.queue.length === 0 && controller.queue.processing === 0,
      { message: "shard 0's objects reconciled" },
    );
    return {
      ns,
      controller,
      gate,
      clock,
      reconciled,
      hold,
      stop: async () => {
        stop.abort();
        await done;
      },
    };
  }

  async function patch(s: Setup, name: string, size: number): Promise<void> {
    await h.client.patch(widgets, name, { spec: { size } }, {
      namespace: s.ns,
    });
    await until(
      () => s.controller.reflector.store.getBy(name, s.ns)?.spec.size === size,
      { message: `the cache saw ${name} at size ${size}` },
    );
  }

  /** The previous owner's status write of `name`: a change seen here too. */
  async function writeStatus(s: Setup, name: string): Promise<void> {
    const before = s.controller.reflector.store.getBy(name, s.ns);
    const size = (before?.status?.size ?? 0) + 1;
    await h.client.patch(widgets, name, { status: { size } }, {
      namespace: s.ns,
      subresource: "status",
    });
    await until(
      () =>
        s.controller.reflector.store.getBy(name, s.ns)?.status?.size === size,
      { message: `the cache saw the status of ${name} written` },
    );
  }

  /**
   * Waits until `count` reconciles ran and the queue is idle: a key run
   * twice shows as one reconcile too many.
   */
  async function ranAll(s: Setup, count: number, what: string): Promise<void> {
    await until(
      () =>
        s.reconciled.length >= count && s.controller.queue.length === 0 &&
        s.controller.queue.processing === 0,
      { message: what },
    );
  }

  /** The cached keys of `shard`, in the cache's order, but `except`. */
  function cachedOf(s: Setup, shard: number, except: string[]): string[] {
    return s.controller.reflector.store.keys().filter((key) =>
      s.controller.reflector.store.get(key)!.metadata.labels?.shard ===
        String(shard) && !except.includes(key)
    );
  }

  it("reconciles the objects that changed while another replica held the shard first, in the order they first changed, then the shard's other cached objects", async () => {
    const s = await setUp("takeover-changed", { shards: [0, 1], perShard: 20 });
    try {
      const key = (name: string) => `${s.ns}/${name}`;
      // Changed while shard 1 is held elsewhere: s1-12, s1-5 (twice: its
      // place is its first change), s1-17; s1-9 changed, then deleted.
      await patch(s, "s1-12", 2);
      await patch(s, "s1-5", 2);
      await patch(s, "s1-9", 2);
      await patch(s, "s1-17", 2);
      await patch(s, "s1-5", 3);
      await h.client.delete(widgets, "s1-9", { namespace: s.ns });
      await until(
        () => s.controller.reflector.store.getBy("s1-9", s.ns) === undefined,
        { message: "the cache saw s1-9 deleted" },
      );
      assert.equal(s.reconciled.length, 20, "no object of shard 1 ran");
      const first = ["s1-12", "s1-5", "s1-17"].map(key);
      const rest = cachedOf(s, 1, first);
      s.gate.acquire(1);
      await ranAll(s, 20 + 19, "every cached object of shard 1 reconciled");
      assert.deepEqual(s.reconciled.slice(20), [...first, ...rest]);
    } finally {
      await s.stop();
    }
  });

  it("reconciles the changed objects of every shard gained, in two batches, before any unchanged one, and a change while they wait before the waiting unchanged ones", async () => {
    const s = await setUp("takeover-batches", {
      shards: [0, 1, 2, 3],
      perShard: 8,
    });
    try {
      const key = (name: string) => `${s.ns}/${name}`;
      await patch(s, "s2-6", 2);
      await patch(s, "s1-3", 2);
      await patch(s, "s3-1", 2);
      // The worker is busy with one object while shards 1 and 2 are
      // gained, then shard 3, then s1-6 of the held shard 1 changes.
      let release = () => {};
      s.hold.until = new Promise<void>((resolve) => release = resolve);
      s.gate.acquire(2, 1);
      await until(() => s.reconciled.length === 8 + 1, {
        message: "the first object of the takeover is running",
      });
      s.gate.acquire(3);
      await patch(s, "s1-6", 2);
      s.hold.until = null;
      release();
      await ranAll(
        s,
        8 + 24,
        "every cached object of shards 1, 2 and 3 reconciled",
      );
      const after = s.reconciled.slice(8);
      const changed = ["s2-6", "s1-3", "s3-1"].map(key);
      assert.deepEqual(after.slice(0, 4), [...changed, key("s1-6")]);
      assert.equal(after.length, 24, "each object once");
      assert.deepEqual(
        after.slice(4).sort(),
        [
          ...cachedOf(s, 1, [key("s1-3"), key("s1-6")]),
          ...cachedOf(s, 2, [key("s2-6")]),
          ...cachedOf(s, 3, [key("s3-1")]),
        ].sort(),
      );
    } finally {
      await s.stop();
    }
  });

  it("a shard gained, lost and gained again: only what changed since it was lost goes first, nothing noted while it was held", async () => {
    const s = await setUp("takeover-again", { shards: [0, 1], perShard: 10 });
    try {
      const key = (name: string) => `${s.ns}/${name}`;
      await patch(s, "s1-4", 2);
      s.gate.acquire(1);
      await ranAll(s, 20, "shard 1 taken over");
      // Held: a change runs now and is not kept for a later takeover.
      await patch(s, "s1-8", 2);
      await ranAll(s, 21, "s1-8 reconciled while held");
      assert.deepEqual(s.reconciled.slice(20), [key("s1-8")]);
      s.gate.lose(1);
      await patch(s, "s1-2", 2);
      await patch(s, "s1-4", 3);
      assert.equal(s.reconciled.length, 21, "nothing of a lost shard runs");
      s.gate.acquire(1);
      await ranAll(s, 31, "shard 1 taken over again");
      const first = ["s1-2", "s1-4"].map(key);
      assert.deepEqual(s.reconciled.slice(21), [
        ...first,
        ...cachedOf(s, 1, first),
      ]);
    } finally {
      await s.stop();
    }
  });

  it("a key queued while its shard was held, reached by a worker only after the grant ended, goes first when the shard comes back", async () => {
    const s = await setUp("takeover-pending", { shards: [0, 1], perShard: 10 });
    try {
      const key = (name: string) => `${s.ns}/${name}`;
      s.gate.acquire(1);
      await ranAll(s, 20, "shard 1 taken over");
      // The one worker is busy with s0-1 while two changes of shard 1 are
      // queued; the grant of shard 1 ends before it reaches them.
      let release = () => {};
      s.hold.until = new Promise<void>((resolve) => release = resolve);
      await patch(s, "s0-1", 2);
      await until(() => s.reconciled.length === 21, {
        message: "s0-1 in its reconcile",
      });
      await patch(s, "s1-3", 2);
      await patch(s, "s1-7", 2);
      s.gate.lose(1);
      s.hold.until = null;
      release();
      await ranAll(s, 21, "the queue drained, shard 1's keys dropped");
      s.gate.acquire(1);
      await ranAll(s, 31, "shard 1 taken over again");
      const first = ["s1-3", "s1-7"].map(key);
      assert.deepEqual(s.reconciled.slice(21), [
        ...first,
        ...cachedOf(s, 1, first),
      ]);
    } finally {
      await s.stop();
    }
  });

  it("reconciles the objects a user changed shortly before the takeover first, not the ones the previous owner wrote the status of long before", async () => {
    const s = await setUp("takeover-recent", { shards: [0, 1], perShard: 20 });
    try {
      const key = (name: string) => `${s.ns}/${name}`;
      // The owner of shard 1 reconciles each of its objects once and writes
      // its status: every one of them changes, as this replica sees it.
      for (let i = 0; i < 20; i++) await writeStatus(s, `s1-${i}`);
      s.clock.advance(60_000);
      // A minute later a user changes two of them; their owner dies.
      await patch(s, "s1-14", 2);
      await patch(s, "s1-3", 2);
      s.clock.advance(1_000);
      const first = ["s1-14", "s1-3"].map(key);
      s.gate.acquire(1);
      await ranAll(s, 20 + 20, "every cached object of shard 1 reconciled");
      assert.deepEqual(s.reconciled.slice(20, 22), first);
      assert.deepEqual(
        s.reconciled.slice(22),
        cachedOf(s, 1, first),
        "the others once each, in the cache's order",
      );
    } finally {
      await s.stop();
    }
  });

  it("changedWithinMs bounds what goes first: keys whose latest change is at most that old, in the order of their first change in that window; older ones go with the unchanged", async () => {
    const s = await setUp("takeover-window", {
      shards: [0, 1],
      perShard: 10,
      changedWithinMs: 5_000,
    });
    try {
      const key = (name: string) => `${s.ns}/${name}`;
      // The takeover is at 11,001: the window starts at 6,001.
      await patch(s, "s1-8", 2); // at 0, and again at 6,002 (below)
      s.clock.advance(6_000);
      await patch(s, "s1-7", 2); // at 6,000 only: 5,001 ms old
      await patch(s, "s1-4", 2); // at 6,000 and 9,000: counts from 6,001
      s.clock.advance(1);
      await patch(s, "s1-2", 2); // at 6,001: exactly 5,000 ms old
      await patch(s, "s1-6", 2);
      s.clock.advance(1);
      await patch(s, "s1-8", 3);
      s.clock.advance(2_998);
      await writeStatus(s, "s1-4");
      s.clock.advance(2_001);
      assert.equal(s.reconciled.length, 10, "no object of shard 1 ran");
      s.gate.acquire(1);
      await ranAll(s, 20, "every cached object of shard 1 reconciled");
      const first = ["s1-4", "s1-2", "s1-6", "s1-8"].map(key);
      assert.deepEqual(s.reconciled.slice(10, 14), first);
      assert.deepEqual(s.reconciled.slice(14), cachedOf(s, 1, first));
    } finally {
      await s.stop();
    }
  });

  it("refuses a changedWithinMs that is not a positive number of milliseconds", () => {
    const guard = new LeaderElection(0).guard();
    for (const changedWithinMs of [0, -1, Number.NaN]) {
      assert.throws(
        () =>
          Controller.for(widgets, { client: h.client, guard, changedWithinMs }),
        {
          name: "RangeError",
          message:
            `Expected changedWithinMs to be a positive number of milliseconds, found ${changedWithinMs}`,
        },
      );
    }
    Controller.for(widgets, { client: h.client, guard, changedWithinMs: 1 });
  });
});
