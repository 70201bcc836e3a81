/**
 * Issue 19, the decision alone: a sharded replica whose API requests have
 * failed for `releaseAfterMs` stands aside from its shards (once), rejoins
 * once a request succeeds, and a failure shorter than the bound moves
 * nothing. Time is a fake clock, the API's answers are fed to a real
 * `ApiHealth` as the probe feeds them (one request a second), and the
 * runtime is a stub that records the calls. The runtime's side (the
 * handover) is tests/sharding/node_wiring_test.ts; real processes on a
 * real network, tests/netns/sharded_api_loss_deno_test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiHealth } from "../../operator/_api_health.ts";
import {
  ApiStandAside,
  DEFAULT_RELEASE_AFTER_MS,
  type StandAsideShards,
} from "../../operator/_api_stand_aside.ts";
import { LogLines } from "../sharding/_cluster.ts";

/** A replica on a fake clock whose probe asks the API server every second. */
function setup(releaseAfterMs = DEFAULT_RELEASE_AFTER_MS) {
  let now = 1_000;
  const health = new ApiHealth(() => now);
  const calls: ("aside" | "rejoin")[] = [];
  const shards: StandAsideShards = {
    standAside() {
      calls.push("aside");
      return Promise.resolve();
    },
    rejoin() {
      calls.push("rejoin");
    },
  };
  const logger = new LogLines();
  const policy = new ApiStandAside({
    shards,
    health,
    releaseAfterMs,
    logger,
  });
  /**
   * `ms` of probes, one a second, each answered (`up`) or failed after its
   * 2 s timeout (reported then, dated from its start); the policy checks
   * every 250 ms, as the Operator's. Returns what it did.
   */
  const run = (ms: number, up: boolean) => {
    const did: ("aside" | "rejoin")[] = [];
    const pending: number[] = [];
    for (let t = 0; t < ms; t += 250) {
      now += 250;
      if (t % 1000 === 0) {
        if (up) health.succeeded();
        else pending.push(now);
      }
      while (pending.length > 0 && now - pending[0] >= 2_000) {
        health.failed(pending.shift()!);
      }
      const outcome = policy.check();
      if (outcome !== null) did.push(outcome);
    }
    // Probes still waiting for their timeout fail now.
    for (const startedAt of pending) health.failed(startedAt);
    return did;
  };
  return { run, calls, logger };
}

describe("a sharded replica that cannot reach the API server", () => {
  it("stands aside once its requests have failed for releaseAfterMs, not before, and only once", () => {
    const s = setup(10_000);
    s.run(5_000, true);
    // The failing streak starts with the first unanswered probe; it is
    // known 2 s later (the probe's timeout) and lasts 10 s 10 s after it.
    assert.deepEqual(s.run(10_000, false), [], "9.75 s of failures");
    assert.deepEqual(s.run(500, false), ["aside"]);
    assert.deepEqual(s.run(30_000, false), [], "aside, it does nothing more");
    assert.deepEqual(s.calls, ["aside"]);
    assert.ok(
      s.logger.lines.some((l) =>
        l.level === "warn" && /API server unreachable/.test(l.message)
      ),
      "logged why",
    );
  });

  it("a blip shorter than releaseAfterMs moves nothing, however often", () => {
    const s = setup(10_000);
    s.run(2_000, true);
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(s.run(8_000, false), [], `blip ${i}`);
      assert.deepEqual(s.run(1_000, true), [], `answer ${i}`);
    }
    assert.deepEqual(s.calls, []);
  });

  it("rejoins once a request succeeds, and stands aside again only after a whole new failing streak", () => {
    const s = setup(10_000);
    s.run(1_000, true);
    s.run(13_000, false);
    assert.deepEqual(s.calls, ["aside"]);
    assert.deepEqual(s.run(250, true), ["rejoin"], "at the first answer");
    // Failing again at once: the streak starts with the next probe.
    assert.deepEqual(s.run(10_000, false), [], "not before 10 s of failures");
    assert.deepEqual(s.run(500, false), ["aside"]);
    assert.deepEqual(s.calls, ["aside", "rejoin", "aside"]);
  });

  it("stays aside while no request succeeds", () => {
    const s = setup(2_000);
    s.run(1_000, true);
    s.run(5_000, false);
    assert.deepEqual(s.calls, ["aside"]);
    assert.deepEqual(s.run(60_000, false), []);
    assert.deepEqual(s.calls, ["aside"]);
  });

  it("stands aside when it has never reached the API server since it started", () => {
    const s = setup(2_000);
    assert.deepEqual(s.run(4_500, false), ["aside"]);
  });

  it("never stands aside with releaseAfterMs 0", () => {
    const s = setup(0);
    s.run(1_000, true);
    assert.deepEqual(s.run(60_000, false), []);
    assert.deepEqual(s.calls, []);
  });
});
