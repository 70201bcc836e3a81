import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { WorkQueue, WorkQueueError } from "../../controller/work_queue.ts";
import { ManualClock } from "../../common/clock.ts";
import { flush, seeded } from "./_helpers.ts";
import { JitterBackoff } from "../../common/backoff.ts";
import { TokenBucket } from "../../common/rate_limiter.ts";

describe("WorkQueue", () => {
  it("de-duplicates keys that are queued", async () => {
    const queue = new WorkQueue<string>({ clock: new ManualClock() });
    queue.add("a");
    queue.add("a");
    queue.add("b");
    assert.equal(queue.length, 2);
    assert.equal(await queue.get(), "a");
    assert.equal(await queue.get(), "b");
    assert.equal(queue.length, 0);
  });

  it("expedites a key waiting out its backoff (cancelling the schedule) but never a queued or processing one", async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue<string>({ clock, baseDelayMs: 60_000 });
    queue.add("busy");
    assert.equal(await queue.get(), "busy");
    queue.add("queued");
    assert.equal(queue.addRateLimited("slow"), 60_000);
    for (const key of ["slow", "queued", "busy", "idle"]) queue.expedite(key);
    assert.equal(queue.scheduled, 0, "slow's schedule is cancelled");
    assert.equal(queue.length, 3, "queued (once), slow, idle");
    assert.deepEqual(
      [await queue.get(), await queue.get(), await queue.get()],
      [
        "queued",
        "slow",
        "idle",
      ],
    );
    queue.done("busy");
    assert.equal(queue.length, 0, "busy was not marked to run again");
    clock.advance(60_000);
    assert.equal(queue.length, 0, "the cancelled schedule does not fire");
    assert.equal(queue.numRequeues("slow"), 1, "its backoff is kept");
    queue.shutDown();
  });

  it("waits at least minDelayMs (a Retry-After) in addRateLimited", () => {
    const queue = new WorkQueue<string>({ clock: new ManualClock() });
    assert.equal(queue.addRateLimited("a", { minDelayMs: 7_000 }), 7_000);
    assert.equal(queue.addRateLimited("a", { minDelayMs: 1 }), 10);
    queue.shutDown();
  });

  it("does not hand out a key that is processing, and requeues it on done", async () => {
    const queue = new WorkQueue<string>({ clock: new ManualClock() });
    queue.add("a");
    const first = await queue.get();
    queue.add("a");
    queue.add("a");
    assert.equal(queue.length, 0, "a processing key is not queued again");
    const controller = new AbortController();
    let second: string | undefined = "unset";
    const pending = queue.get(controller.signal).then((k) => second = k);
    await flush();
    assert.equal(second, "unset");
    queue.done(first!);
    await pending;
    assert.equal(second, "a");
  });

  it("rejects done for a key that is not processing", () => {
    const queue = new WorkQueue<string>({ clock: new ManualClock() });
    assert.throws(() => queue.done("x"), WorkQueueError);
  });

  it("backs off per key from 5 ms doubling to 1000 s", () => {
    const clock = new ManualClock();
    const queue = new WorkQueue<string>({ clock, burst: 1e9, qps: 1e9 });
    const delays: number[] = [];
    for (let i = 0; i < 30; i++) delays.push(queue.addRateLimited("a"));
    assert.deepEqual(delays.slice(0, 4), [5, 10, 20, 40]);
    assert.equal(delays.at(-1), 1_000_000);
    assert.equal(queue.numRequeues("a"), 30);
    queue.forget("a");
    assert.equal(queue.addRateLimited("a"), 5);
    assert.equal(queue.addRateLimited("b"), 5, "backoff is per key");
  });

  it("limits overall retries with a 10/s token bucket of burst 100", () => {
    const clock = new ManualClock();
    const queue = new WorkQueue<number>({ clock });
    const delays: number[] = [];
    for (let i = 0; i < 110; i++) delays.push(queue.addRateLimited(i));
    assert.ok(delays.slice(0, 100).every((d) => d === 5));
    assert.equal(delays[100], 100);
    assert.equal(delays[109], 1000);
    clock.advance(10_000);
    assert.equal(queue.addRateLimited(1000), 5, "the bucket refills");
  });

  it("honours addAfter and keeps the earliest schedule", async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue<string>({ clock });
    queue.addAfter("a", 1000);
    queue.addAfter("a", 300);
    queue.addAfter("a", 2000);
    assert.equal(queue.scheduled, 1);
    clock.advance(299);
    assert.equal(queue.length, 0);
    clock.advance(1);
    assert.equal(queue.length, 1);
    assert.equal(await queue.get(), "a");
    clock.advance(5000);
    assert.equal(queue.length, 0, "later schedules were merged");
  });

  it("clear drops queued and scheduled keys, and a re-add of a processing key, but leaves that key processing", async () => {
    const clock = new ManualClock();
    const cleared: Array<{ dropped: number; depth: 0 }> = [];
    const queue = new WorkQueue<string>({
      clock,
      observer: { cleared: (event) => cleared.push(event) },
    });
    queue.add("busy");
    assert.equal(await queue.get(), "busy");
    queue.add("busy");
    queue.add("queued");
    queue.addAfter("later", 1_000);
    assert.equal(queue.clear(), 2, "queued and later (busy is processing)");
    assert.deepEqual(cleared, [{ dropped: 2, depth: 0 }]);
    assert.equal(queue.length, 0);
    assert.equal(queue.scheduled, 0);
    assert.equal(queue.processing, 1);
    queue.done("busy");
    assert.equal(queue.length, 0, "the re-add made while processing is gone");
    clock.advance(2_000);
    assert.equal(queue.length, 0, "the cancelled schedule never fires");
    queue.add("queued");
    assert.equal(await queue.get(), "queued", "the queue works after clear");
  });

  it("hands out keys added low after every other key; added again without low, a low key moves up behind the others, and a key queued without low stays in place", async () => {
    const queue = new WorkQueue<string>({ clock: new ManualClock() });
    for (const key of ["a", "b", "c", "d"]) queue.add(key, { low: true });
    queue.add("x");
    queue.add("c");
    queue.add("x", { low: true });
    queue.add("b", { low: true });
    queue.add("y");
    assert.equal(queue.length, 6);
    const order: string[] = [];
    while (queue.length > 0) {
      const key = (await queue.get())!;
      order.push(key);
      queue.done(key);
    }
    assert.deepEqual(order, ["x", "c", "y", "a", "b", "d"]);
    queue.shutDown();
  });

  it("requeues a processing key added again low behind the others on done, unless it was also added without low", async () => {
    const queue = new WorkQueue<string>({ clock: new ManualClock() });
    queue.add("busy");
    queue.add("calm");
    assert.equal(await queue.get(), "busy");
    assert.equal(await queue.get(), "calm");
    queue.add("busy", { low: true });
    queue.add("calm", { low: true });
    queue.add("calm");
    queue.add("other");
    queue.done("busy");
    queue.done("calm");
    assert.deepEqual(
      [await queue.get(), await queue.get(), await queue.get()],
      ["other", "calm", "busy"],
    );
    queue.shutDown();
  });

  it("clear drops low keys too, and the lanes work after it", async () => {
    const queue = new WorkQueue<string>({ clock: new ManualClock() });
    queue.add("a", { low: true });
    queue.add("b", { low: true });
    queue.add("b");
    assert.equal(queue.clear(), 2);
    assert.equal(queue.length, 0);
    queue.add("c", { low: true });
    queue.add("a");
    assert.deepEqual([await queue.get(), await queue.get()], ["a", "c"]);
    queue.shutDown();
  });

  for (const seed of [7, 8, 9]) {
    it(`property: the order of keys added with and without low matches a model of two lanes, over thousands of keys (seed ${seed})`, async () => {
      const random = seeded(seed);
      const queue = new WorkQueue<number>({ clock: new ManualClock() });
      // The model: two arrays, a key in at most one; a move up is a splice.
      const normal: number[] = [];
      const low: number[] = [];
      const processing = new Map<number, "none" | "low" | "normal">();
      const add = (key: number, isLow: boolean) => {
        queue.add(key, { low: isLow });
        const again = processing.get(key);
        if (again !== undefined) {
          if (again === "none" || (again === "low" && !isLow)) {
            processing.set(key, isLow ? "low" : "normal");
          }
          return;
        }
        if (normal.includes(key)) return;
        const at = low.indexOf(key);
        if (at >= 0) {
          if (isLow) return;
          low.splice(at, 1);
        }
        (isLow ? low : normal).push(key);
      };
      for (let step = 0; step < 20_000; step++) {
        const action = random();
        if (action < 0.55) {
          add(Math.floor(random() * 3_000), random() < 0.6);
        } else if (action < 0.9) {
          const expected = normal.shift() ?? low.shift();
          assert.equal(
            queue.length,
            normal.length + low.length + (expected === undefined ? 0 : 1),
          );
          if (expected === undefined) continue;
          assert.equal(await queue.get(), expected, `step ${step}`);
          processing.set(expected, "none");
        } else if (processing.size > 0) {
          const keys = [...processing.keys()];
          const key = keys[Math.floor(random() * keys.length)]!;
          const again = processing.get(key)!;
          processing.delete(key);
          queue.done(key);
          if (again !== "none") (again === "low" ? low : normal).push(key);
        }
      }
      queue.shutDown();
    });
  }

  it("resolves waiting getters with undefined on shutDown", async () => {
    const queue = new WorkQueue<string>({ clock: new ManualClock() });
    const pending = queue.get();
    queue.shutDown();
    assert.equal(await pending, undefined);
    queue.add("a");
    assert.equal(await queue.get(), undefined);
  });

  for (const seed of [1, 2, 3, 42, 1337, 9001]) {
    it(`property: no key runs twice at once and every add is processed afterwards (seed ${seed})`, async () => {
      const random = seeded(seed);
      const clock = new ManualClock();
      const queue = new WorkQueue<string>({ clock });
      const keys = ["a", "b", "c", "d", "e", "f"];
      const running = new Set<string>();
      const lastAdd = new Map<string, number>();
      const lastStart = new Map<string, number>();
      let step = 0;
      let violations = 0;
      const workers = 3;
      let stop = false;
      const worker = async () => {
        while (!stop) {
          const key = await queue.get();
          if (key === undefined) return;
          if (running.has(key)) violations++;
          running.add(key);
          lastStart.set(key, step);
          const pause = Math.floor(random() * 4);
          for (let i = 0; i < pause; i++) await Promise.resolve();
          running.delete(key);
          const outcome = random();
          if (outcome < 0.2) queue.addRateLimited(key);
          else if (outcome < 0.3) queue.addAfter(key, random() * 50);
          else queue.forget(key);
          queue.done(key);
        }
      };
      const runners = Array.from({ length: workers }, worker);
      for (step = 1; step <= 2000; step++) {
        const action = random();
        const key = keys[Math.floor(random() * keys.length)]!;
        if (action < 0.6) {
          lastAdd.set(key, step);
          queue.add(key, { low: random() < 0.3 });
        } else if (action < 0.7) {
          queue.addAfter(key, random() * 100);
        } else {
          clock.advance(random() * 20);
        }
        await flush(3);
      }
      for (let i = 0; i < 200 && (queue.length || queue.processing); i++) {
        clock.advance(10_000);
        await flush(10);
      }
      stop = true;
      queue.shutDown();
      await Promise.all(runners);
      assert.equal(violations, 0);
      for (const [key, added] of lastAdd) {
        assert.ok(
          (lastStart.get(key) ?? -1) >= added,
          `key ${key} added at step ${added} last started at ${
            lastStart.get(key)
          }`,
        );
      }
    });
  }
});

describe("backoff and token bucket", () => {
  it("jitters watch backoff around the exponential delay and resets", () => {
    const low = new JitterBackoff({
      baseMs: 800,
      maxMs: 30_000,
      jitter: 0.5,
      random: () => 0,
    });
    const high = new JitterBackoff({
      baseMs: 800,
      maxMs: 30_000,
      jitter: 0.5,
      random: () => 0.999999,
    });
    assert.equal(low.next(), 400);
    assert.ok(Math.abs(high.next() - 1200) < 0.01);
    for (let i = 0; i < 20; i++) low.next();
    assert.equal(low.next(), 15_000, "capped at maxMs before jitter");
    low.reset();
    assert.equal(low.next(), 400);
  });

  it("starts the watch backoff over only after a quiet spell of resetAfterMs, as client-go's DelayWithReset", () => {
    const backoff = new JitterBackoff({
      baseMs: 800,
      maxMs: 30_000,
      jitter: 0.5,
      random: () => 0.5,
      resetAfterMs: 120_000,
    });
    assert.equal(backoff.next(0), 800);
    assert.equal(backoff.next(1_000), 1_600);
    assert.equal(backoff.next(121_000), 3_200, "120 s exactly is not quiet");
    assert.equal(backoff.next(241_001), 800, "after more than 120 s quiet");
  });

  it("rejects a token bucket without tokens", () => {
    assert.throws(() => new TokenBucket({ qps: 0, burst: 1 }, 0), RangeError);
    assert.throws(() => new TokenBucket({ qps: 1, burst: 0 }, 0), RangeError);
  });
});

describe("WorkQueueObserver", () => {
  it("reports adds once per queued key, queue wait, work time and retries on the queue's clock", async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const queue = new WorkQueue<string>({
      clock,
      observer: {
        added: (key, e) => seen.push(`added ${key} depth ${e.depth}`),
        taken: (key, e) =>
          seen.push(`taken ${key} waited ${e.waitMs} depth ${e.depth}`),
        done: (key, e) => seen.push(`done ${key} worked ${e.workMs}`),
        retried: (key, e) =>
          seen.push(`retried ${key} in ${e.delayMs} (${e.requeues})`),
      },
    });
    queue.add("a");
    queue.add("a");
    queue.add("b");
    clock.advance(7);
    const key = await queue.get();
    clock.advance(3);
    queue.done(key!);
    queue.addRateLimited("a");
    assert.deepEqual(seen, [
      "added a depth 1",
      "added b depth 2",
      "taken a waited 7 depth 1",
      "done a worked 3",
      "retried a in 5 (1)",
    ]);
    queue.shutDown();
  });
});
