/**
 * Defect 13, the decision alone: a leader whose API requests have failed
 * for `transferAfterMs` hands leadership to a caught-up voter that reports
 * reaching the API server, and to nobody else; at most once per interval.
 * Time is a fake clock; the node is a stub that records transfers. The
 * real-network test is tests/netns/partition_deno_test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ApiHealth,
  FRESH_MS,
  watchObserver,
} from "../../operator/_api_health.ts";
import {
  ApiFailover,
  chooseTransferee,
  type FailoverNode,
  REPORT_FRESH_MS,
} from "../../operator/_api_failover.ts";
import type { ProgressStatus } from "../../raft/core.ts";
import type { Message, Role } from "../../raft/types.ts";
import { ApiError, ShortWatchError, silentLogger } from "../../mod.ts";

function progress(
  match: number,
  extra: Partial<ProgressStatus> = {},
): ProgressStatus {
  return {
    match,
    next: match + 1,
    state: "replicate",
    inflight: 0,
    learner: false,
    incarnation: 1,
    caughtUp: true,
    ticksSinceAck: 1,
    ...extra,
  };
}

function answer(from: number, healthy: boolean): Message {
  return {
    type: "heartbeatResp",
    from,
    to: 0,
    term: 2,
    logTerm: 0,
    index: 0,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    ...(healthy ? { healthy: true } : {}),
  };
}

/** A leader (node 0) of voters 0, 1, 2 on a fake clock. */
function setup(transferAfterMs = 10_000) {
  let now = 1_000;
  const clock = () => now;
  const transfers: number[] = [];
  const state = {
    role: "leader" as Role,
    progress: { 0: progress(10), 1: progress(10), 2: progress(9) },
  };
  const node: FailoverNode = {
    id: 0,
    status: () => ({
      role: state.role,
      conf: { voters: [0, 1, 2], learners: [] },
      progress: state.progress,
    }),
    transferLeadership(to: number) {
      transfers.push(to);
      return Promise.resolve(to);
    },
  };
  const health = new ApiHealth(clock);
  const failover = new ApiFailover({
    node,
    health,
    clock,
    transferAfterMs,
    maxTicksSinceAck: 6,
    logger: silentLogger,
  });
  const advance = (ms: number) => (now += ms);
  return { state, health, failover, transfers, advance, clock };
}

describe("API health", () => {
  it("is unreachable from the start of the first failed request after the last success", () => {
    let now = 0;
    const health = new ApiHealth(() => now);
    assert.equal(health.reachable(), false, "nothing seen yet");
    now = 100;
    health.succeeded();
    assert.equal(health.reachable(), true);
    now = 1_500;
    health.failed(1_100);
    assert.equal(health.reachable(), false);
    assert.equal(health.unreachableForMs(), 400);
    now = 3_000;
    health.failed(2_100);
    assert.equal(
      health.unreachableForMs(),
      1_900,
      "the streak keeps its start",
    );
    health.succeeded();
    assert.equal(health.unreachableForMs(), 0);
    now += FRESH_MS + 1;
    assert.equal(health.reachable(), false, "a success goes stale");
  });

  it("counts a request that began before the last success from that success", () => {
    let now = 0;
    const health = new ApiHealth(() => now);
    now = 500;
    health.succeeded();
    now = 2_000;
    health.failed(200);
    assert.equal(health.unreachableForMs(), 1_500);
  });

  it("takes watch lists as successes, unanswered watch errors as failures, answered ones as successes", () => {
    let now = 0;
    const health = new ApiHealth(() => now);
    const seen: string[] = [];
    const observer = watchObserver(health, {
      restarted: (e) => seen.push(e.reason),
    });
    observer.listed!({
      resource: "x",
      objects: 0,
      durationMs: 1,
      relist: false,
    });
    assert.equal(health.reachable(), true);
    now = 10;
    observer.restarted!({
      resource: "x",
      reason: "error",
      delayMs: 800,
      error: new TypeError("fetch failed"),
    });
    assert.equal(health.reachable(), false);
    now = 20;
    observer.restarted!({
      resource: "x",
      reason: "error",
      delayMs: 800,
      error: new ApiError(403, { message: "forbidden" }),
    });
    assert.equal(health.reachable(), true, "a 403 is an answer");
    observer.restarted!({ resource: "x", reason: "closed", delayMs: 0 });
    assert.equal(health.reachable(), true, "a closed watch is normal");
    now = 30;
    observer.restarted!({
      resource: "x",
      reason: "error",
      delayMs: 800,
      error: new TypeError("fetch failed"),
    });
    observer.restarted!({
      resource: "x",
      reason: "error",
      delayMs: 1_600,
      error: new ShortWatchError("closed after 3 ms without any"),
    });
    assert.equal(
      health.reachable(),
      true,
      "a watch that closed at once still got a 200",
    );
    assert.deepEqual(seen, ["error", "error", "closed", "error", "error"]);
  });
});

describe("choosing whom to hand leadership to", () => {
  const reports = (healthy: Record<number, boolean>, at = 0) =>
    new Map(
      Object.entries(healthy).map((
        [id, h],
      ) => [Number(id), { healthy: h, at }]),
    );
  const conf = { voters: [0, 1, 2], learners: [] };

  it("picks the most caught-up healthy voter, never itself", () => {
    const status = {
      conf,
      progress: { 0: progress(10), 1: progress(8), 2: progress(9) },
    };
    const init = { self: 0, now: 0, maxTicksSinceAck: 6 };
    assert.equal(
      chooseTransferee(status, {
        ...init,
        reports: reports({ 0: true, 1: true, 2: true }),
      }),
      2,
    );
    assert.equal(
      chooseTransferee(status, {
        ...init,
        reports: reports({ 1: true, 2: false }),
      }),
      1,
    );
  });

  it("skips followers that lag, went silent, reported unhealthy, reported too long ago, or are learners", () => {
    const base = { self: 0, now: 5_000, maxTicksSinceAck: 6 };
    const fresh = reports({ 1: true, 2: true }, 5_000);
    const none = (p: Record<number, ProgressStatus>, r = fresh) =>
      chooseTransferee({ conf, progress: p }, { ...base, reports: r });
    assert.equal(
      none({
        1: progress(1, { caughtUp: false }),
        2: progress(1, { caughtUp: false }),
      }),
      null,
    );
    assert.equal(
      none({
        1: progress(9, { ticksSinceAck: 7 }),
        2: progress(9, { ticksSinceAck: null }),
      }),
      null,
    );
    assert.equal(
      none(
        { 1: progress(9), 2: progress(9) },
        reports({ 1: false, 2: false }, 5_000),
      ),
      null,
    );
    assert.equal(
      none(
        { 1: progress(9), 2: progress(9) },
        reports({ 1: true, 2: true }, 5_000 - REPORT_FRESH_MS - 1),
      ),
      null,
    );
    assert.equal(
      chooseTransferee(
        {
          conf: { voters: [0, 1], learners: [2] },
          progress: { 1: progress(5, { caughtUp: false }), 2: progress(9) },
        },
        { ...base, reports: fresh },
      ),
      null,
    );
  });
});

describe("a leader that cannot reach the API server", () => {
  it("hands leadership to a healthy follower once its requests have failed for transferAfterMs, not before", () => {
    const { health, failover, transfers, advance } = setup();
    health.succeeded();
    advance(500);
    health.failed();
    for (let waited = 0; waited < 9_900; waited += 100) {
      advance(100);
      failover.receive([answer(1, true), answer(2, false)]);
      assert.equal(failover.check(), null, `after ${waited + 100} ms`);
    }
    advance(100);
    failover.receive([answer(1, true), answer(2, false)]);
    assert.equal(failover.check(), 1);
    assert.deepEqual(transfers, [1]);
  });

  it("keeps leadership while no follower reports reaching the API server", () => {
    const { health, failover, transfers, advance } = setup();
    health.failed();
    advance(60_000);
    failover.receive([answer(1, false), answer(2, false)]);
    assert.equal(failover.check(), null);
    assert.deepEqual(transfers, []);
  });

  it("tries again only after another transferAfterMs", async () => {
    const { health, failover, transfers, advance } = setup(2_000);
    health.failed();
    advance(2_000);
    failover.receive([answer(2, true)]);
    assert.equal(failover.check(), 2);
    // Let the stub's transfer settle (its promise chain, no time).
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (let i = 0; i < 19; i++) {
      advance(100);
      failover.receive([answer(1, true), answer(2, true)]);
      assert.equal(failover.check(), null);
    }
    advance(100);
    failover.receive([answer(1, true)]);
    assert.equal(failover.check(), 1);
    assert.deepEqual(transfers, [2, 1]);
  });

  it("does nothing as a follower, while its API answers, or when disabled", () => {
    const leaderDown = setup();
    leaderDown.health.failed();
    leaderDown.advance(20_000);
    leaderDown.state.role = "follower";
    leaderDown.failover.receive([answer(1, true)]);
    assert.equal(leaderDown.failover.check(), null);

    const healthy = setup();
    healthy.health.succeeded();
    healthy.advance(20_000);
    healthy.failover.receive([answer(1, true)]);
    assert.equal(healthy.failover.check(), null);

    const disabled = setup(0);
    disabled.health.failed();
    disabled.advance(20_000);
    disabled.failover.receive([answer(1, true)]);
    assert.equal(disabled.failover.check(), null);
    assert.deepEqual(
      [...leaderDown.transfers, ...healthy.transfers, ...disabled.transfers],
      [],
    );
  });

  it("marks its own Raft answers healthy only while it reaches the API server", () => {
    const { health, failover } = setup();
    const out = [answer(0, false), {
      ...answer(0, false),
      type: "appendResp" as const,
    }, {
      ...answer(0, false),
      type: "vote" as const,
    }];
    assert.deepEqual(failover.mark(out).map((m) => m.healthy), [
      undefined,
      undefined,
      undefined,
    ]);
    health.succeeded();
    assert.deepEqual(failover.mark(out).map((m) => m.healthy), [
      true,
      true,
      undefined,
    ]);
    assert.equal(
      out[0].healthy,
      undefined,
      "the core's messages are not changed",
    );
    health.failed();
    assert.deepEqual(failover.mark(out).map((m) => m.healthy), [
      undefined,
      undefined,
      undefined,
    ]);
  });
});
