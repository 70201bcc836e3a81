/**
 * Unit tests of `raft/_progress.ts` alone, after etcd-io/raft's
 * `tracker/progress_test.go` and `tracker/inflights_test.go`: the state
 * changes, acknowledgements, rejections and flow control of one follower's
 * progress, without a core.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Progress, type ProgressState } from "../../raft/_progress.ts";

/** A progress in `state` with `match` and `next`, at most `maxInflight` in flight. */
function progress(
  fields: {
    state?: ProgressState;
    match?: number;
    next: number;
    maxInflight?: number;
    pendingSnapshot?: number;
  },
): Progress {
  const pr = new Progress({
    next: fields.next,
    learner: false,
    maxInflight: fields.maxInflight ?? 256,
    addedCommit: 0,
    incarnation: 1,
  });
  pr.match = fields.match ?? 0;
  pr.state = fields.state ?? "probe";
  pr.pendingSnapshot = fields.pendingSnapshot ?? 0;
  return pr;
}

describe("Progress", () => {
  it("starts probing at the next index it is given, knowing no match", () => {
    const pr = new Progress({
      next: 8,
      learner: true,
      maxInflight: 4,
      addedCommit: 5,
      incarnation: 3,
    });
    assert.equal(pr.state, "probe");
    assert.equal(pr.match, 0);
    assert.equal(pr.next, 8);
    assert.equal(pr.learner, true);
    assert.equal(pr.addedCommit, 5);
    assert.equal(pr.incarnation, 3);
    assert.equal(pr.isPaused(), false);
    assert.equal(pr.lastAck, null);
    assert.equal(pr.leaseAck, null);
  });

  describe("isPaused", () => {
    const cases: [ProgressState, boolean, boolean][] = [
      ["probe", false, false],
      ["probe", true, true],
      ["replicate", false, false],
      ["replicate", true, true],
      ["snapshot", false, true],
      ["snapshot", true, true],
    ];
    for (const [state, blocked, want] of cases) {
      it(`${state}, ${blocked ? "blocked" : "free"}: ${want ? "paused" : "sends"}`, () => {
        const pr = progress({ state, next: 5, match: 4, maxInflight: 1 });
        if (blocked) {
          if (state === "replicate") pr.sent(5, 1);
          else pr.probeSent = true;
        }
        assert.equal(pr.isPaused(), want);
      });
    }
  });

  describe("becomeProbe", () => {
    const cases: [string, Progress, number][] = [
      [
        "from replicate: after the match",
        progress({
          state: "replicate",
          match: 1,
          next: 5,
        }),
        2,
      ],
      [
        "after a snapshot that was applied: after the snapshot",
        progress({
          state: "snapshot",
          match: 1,
          next: 5,
          pendingSnapshot: 10,
        }),
        11,
      ],
      [
        "after a snapshot that failed: after the match",
        progress({
          state: "snapshot",
          match: 1,
          next: 5,
          pendingSnapshot: 0,
        }),
        2,
      ],
    ];
    for (const [name, pr, next] of cases) {
      it(`${name} (next ${next})`, () => {
        pr.inflights.push(3);
        pr.becomeProbe();
        assert.equal(pr.state, "probe");
        assert.equal(pr.match, 1, "the match is kept");
        assert.equal(pr.next, next);
        assert.equal(pr.pendingSnapshot, 0);
        assert.deepEqual(pr.inflights, []);
        assert.equal(pr.isPaused(), false, "a fresh probe may be sent");
      });
    }
  });

  it("becomeReplicate streams from after the match, nothing in flight", () => {
    const pr = progress({ match: 1, next: 5 });
    pr.probeSent = true;
    pr.becomeReplicate();
    assert.equal(pr.state, "replicate");
    assert.equal(pr.match, 1);
    assert.equal(pr.next, 2);
    assert.deepEqual(pr.inflights, []);
    assert.equal(pr.isPaused(), false);
  });

  it("becomeSnapshot waits for the snapshot and remembers when it was sent", () => {
    const pr = progress({ match: 1, next: 5 });
    pr.becomeSnapshot(10, 42);
    assert.equal(pr.state, "snapshot");
    assert.equal(pr.match, 1);
    assert.equal(pr.pendingSnapshot, 10);
    assert.equal(pr.snapshotSentAt, 42);
    assert.equal(pr.isPaused(), true);
  });

  describe("maybeUpdate (match 3, next 5)", () => {
    const cases: [number, boolean, number, number][] = [
      // [acknowledged, grew, match after, next after]
      [2, false, 3, 5], // a stale ack neither lowers match nor next
      [3, false, 3, 5],
      [4, true, 4, 5], // match grows; next is already past it
      [5, true, 5, 6], // both grow
      [9, true, 9, 10],
    ];
    for (const [index, grew, match, next] of cases) {
      it(`an ack of ${index}: ${grew ? "grows" : "keeps"} match ${match}, next ${next}`, () => {
        const pr = progress({ match: 3, next: 5 });
        assert.equal(pr.maybeUpdate(index), grew);
        assert.equal(pr.match, match);
        assert.equal(pr.next, next);
      });
    }

    it("an ack that grows the match lets a paused probe send again", () => {
      const pr = progress({ match: 3, next: 5 });
      pr.sent(4, 1);
      assert.equal(pr.isPaused(), true);
      pr.maybeUpdate(4);
      assert.equal(pr.isPaused(), false);
    });
  });

  describe("maybeDecrTo", () => {
    // [state, match, next, rejected, hint, accepted, match after, next after]
    const cases: [
      string,
      ProgressState,
      number,
      number,
      number,
      number,
      boolean,
      number,
      number,
    ][] = [
      [
        "replicate, rejected at the match: stale",
        "replicate",
        5,
        10,
        5,
        5,
        false,
        5,
        10,
      ],
      [
        "replicate, rejected below the match: stale",
        "replicate",
        5,
        10,
        4,
        4,
        false,
        5,
        10,
      ],
      [
        "replicate, rejected above the match: back to match + 1",
        "replicate",
        5,
        10,
        9,
        9,
        true,
        5,
        6,
      ],
      [
        "probe, not the probe sent (next 0): stale",
        "probe",
        0,
        0,
        0,
        0,
        false,
        0,
        0,
      ],
      ["probe, not the probe sent: stale", "probe", 0, 10, 5, 5, false, 0, 10],
      ["probe, the probe sent: one back", "probe", 0, 10, 9, 9, true, 0, 9],
      ["probe, the probe sent at 1: one back", "probe", 0, 2, 1, 1, true, 0, 1],
      ["probe at 0: stays at 1", "probe", 0, 1, 0, 0, true, 0, 1],
      [
        "probe, the hint is shorter: to hint + 1",
        "probe",
        0,
        10,
        9,
        2,
        true,
        0,
        3,
      ],
      ["probe, hint 0: to 1", "probe", 0, 10, 9, 0, true, 0, 1],
      [
        "probe, the hint is past the rejection: one back",
        "probe",
        0,
        10,
        9,
        20,
        true,
        0,
        9,
      ],
      ["probe, never below match + 1", "probe", 4, 10, 9, 4, true, 4, 5],
      // A hint below the match: the follower lost entries it acknowledged
      // (non-durable storage); the leader probes again from its log's end.
      [
        "probe, the hint is below the match: match lowered",
        "probe",
        6,
        10,
        9,
        3,
        true,
        3,
        4,
      ],
    ];
    for (
      const [name, state, match, next, rejected, hint, ok, wantMatch, wantNext]
        of cases
    ) {
      it(name, () => {
        const pr = progress({ state, match, next });
        assert.equal(pr.maybeDecrTo(rejected, hint), ok);
        assert.equal(pr.match, wantMatch);
        assert.equal(pr.next, wantNext);
      });
    }

    it("a rejection of the probe sent lets the next probe go", () => {
      const pr = progress({ next: 2 });
      pr.sent(1, 0);
      assert.equal(pr.isPaused(), true);
      assert.equal(pr.maybeDecrTo(1, 1), true);
      assert.equal(pr.isPaused(), false);
    });

    it("a stale rejection leaves a probe paused", () => {
      const pr = progress({ next: 10 });
      pr.sent(9, 1);
      assert.equal(pr.maybeDecrTo(5, 5), false);
      assert.equal(pr.isPaused(), true);
    });
  });

  describe("sent", () => {
    it("in probe, pauses until an answer and leaves next alone", () => {
      const pr = progress({ next: 4, match: 3 });
      pr.sent(6, 3);
      assert.equal(pr.isPaused(), true);
      assert.equal(pr.next, 4);
      assert.deepEqual(pr.inflights, []);
    });

    it("in replicate, moves next past the entries sent and records them in flight", () => {
      const pr = progress({ state: "replicate", match: 3, next: 4 });
      pr.sent(6, 3);
      pr.sent(8, 2);
      assert.equal(pr.next, 9);
      assert.deepEqual(pr.inflights, [6, 8]);
    });

    it("in replicate, an empty append takes no room in flight", () => {
      const pr = progress({ state: "replicate", match: 3, next: 4 });
      pr.sent(3, 0);
      assert.equal(pr.next, 4);
      assert.deepEqual(pr.inflights, []);
    });

    it("in snapshot, changes nothing", () => {
      const pr = progress({ match: 3, next: 4 });
      pr.becomeSnapshot(10, 0);
      pr.sent(12, 2);
      assert.equal(pr.next, 4);
      assert.deepEqual(pr.inflights, []);
      assert.equal(pr.probeSent, false);
    });
  });

  // After etcd-io/raft's tracker/inflights_test.go: in replicate, at most
  // `maxInflight` appends are unacknowledged; acks free them oldest first.
  describe("inflights", () => {
    /** A replicating progress at match 0 with `n` appends of one entry each in flight. */
    function replicating(maxInflight: number, n: number): Progress {
      const pr = progress({ state: "replicate", next: 1, maxInflight });
      for (let i = 1; i <= n; i++) pr.sent(i, 1);
      return pr;
    }

    it("pauses exactly when maxInflight appends are in flight", () => {
      const pr = replicating(10, 0);
      for (let i = 1; i <= 10; i++) {
        assert.equal(pr.isPaused(), false, `before append ${i}`);
        pr.sent(i, 1);
      }
      assert.equal(pr.isPaused(), true);
      assert.equal(pr.inflights.length, 10);
    });

    it("freeTo frees every append up to the acknowledged index, oldest first", () => {
      const pr = replicating(10, 10);
      pr.freeTo(4);
      assert.deepEqual(pr.inflights, [5, 6, 7, 8, 9, 10]);
      assert.equal(pr.isPaused(), false);
      pr.freeTo(8);
      assert.deepEqual(pr.inflights, [9, 10]);
      pr.freeTo(12);
      assert.deepEqual(pr.inflights, []);
    });

    it("freeTo below the oldest in flight frees nothing", () => {
      const pr = replicating(10, 0);
      pr.sent(5, 5);
      pr.sent(9, 4);
      pr.freeTo(4);
      assert.deepEqual(pr.inflights, [5, 9]);
    });

    it("freeTo frees appends of several entries by their last index", () => {
      const pr = replicating(3, 0);
      pr.sent(3, 3);
      pr.sent(6, 3);
      pr.sent(9, 3);
      assert.equal(pr.isPaused(), true);
      pr.freeTo(5);
      assert.deepEqual(
        pr.inflights,
        [6, 9],
        "the append ending at 6 is not fully acked",
      );
      pr.freeTo(6);
      assert.deepEqual(pr.inflights, [9]);
    });

    it("freeFirst frees the oldest one, so a full window can send a probe", () => {
      const pr = replicating(3, 3);
      assert.equal(pr.isPaused(), true);
      pr.freeFirst();
      assert.deepEqual(pr.inflights, [2, 3]);
      assert.equal(pr.isPaused(), false);
    });

    it("freeFirst on an empty window does nothing", () => {
      const pr = replicating(3, 0);
      pr.freeFirst();
      assert.deepEqual(pr.inflights, []);
    });

    it("a window of one allows one append at a time", () => {
      const pr = replicating(1, 1);
      assert.equal(pr.isPaused(), true);
      pr.freeTo(1);
      assert.equal(pr.isPaused(), false);
      pr.sent(2, 1);
      assert.equal(pr.isPaused(), true);
    });

    for (const change of ["becomeProbe", "becomeReplicate"] as const) {
      it(`${change} empties the window`, () => {
        const pr = replicating(3, 3);
        pr.match = 1;
        pr[change]();
        assert.deepEqual(pr.inflights, []);
        assert.equal(pr.isPaused(), false);
      });
    }

    it("becomeSnapshot empties the window", () => {
      const pr = replicating(3, 3);
      pr.becomeSnapshot(10, 0);
      assert.deepEqual(pr.inflights, []);
    });
  });
});
