/**
 * The short linearizability run of CI (the long one is `deno task jepsen`):
 * three real node processes, six clients, every fault kind, the history
 * checked per key; and the broken build whose reads skip the read barrier,
 * which the checker must flag. The seed is drawn and printed unless
 * `JEPSEN_SEED` is set; `deno task jepsen --seconds 25 --seed N` replays
 * the nemesis schedule of a failure.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { FAULT_KINDS } from "./_nemesis.ts";
import { formatSummary, runJepsen } from "./_run.ts";

function seed(): number {
  const fixed = process.env.JEPSEN_SEED;
  return fixed !== undefined && fixed !== ""
    ? Number(fixed)
    : Math.floor(Math.random() * 1_000_000);
}

describe("the replicated key-value store under a nemesis (real processes)", () => {
  it("stays linearizable through kill -9, SIGSTOP, partitions, transfers and membership changes", async () => {
    const s = seed();
    console.log(
      `jepsen: seed ${s} (replay: deno task jepsen --seconds 25 --seed ${s})`,
    );
    const summary = await runJepsen({ seed: s, durationMs: 25_000 });
    const report = formatSummary(summary);
    assert.equal(summary.verdict, "ok", report);
    assert.deepEqual(summary.problems, [], report);
    // A run that proves something: hundreds of operations of every kind,
    // and every fault kind at least once.
    assert.ok(summary.operations >= 500, report);
    assert.ok(summary.byOp.get.ok > 100, report);
    assert.ok(summary.byOp.put.ok > 50, report);
    assert.ok(summary.byOp.cas.ok > 20, report);
    assert.ok(summary.byOp.cas.failed > 20, report);
    for (const kind of FAULT_KINDS) {
      assert.ok(
        summary.faults[kind].injected >= 1,
        `no ${kind} fault\n${report}`,
      );
    }
    // The faults bit: leadership moved, and snapshots were taken and sent.
    assert.ok(summary.leaderTerms >= 3, report);
    assert.ok(summary.snapshots.installed >= 1, report);
  });

  it("catches the broken build whose reads skip the read barrier", async () => {
    const s = seed();
    console.log(
      `jepsen: seed ${s} (replay: deno task jepsen --seconds 10 --seed ${s} --faults partition,pause --broken-reads local)`,
    );
    const summary = await runJepsen({
      seed: s,
      durationMs: 10_000,
      reads: "local",
      faults: ["partition", "pause"],
    });
    assert.equal(summary.verdict, "violation", formatSummary(summary));
    // The operation without a valid point is a read that saw an old value.
    assert.match(summary.explanation!, /no valid order: get "k\d+" -> /);
  });
});
