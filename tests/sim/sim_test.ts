import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RaftCore } from "../../raft/core.ts";
import type { Message } from "../../raft/types.ts";
import type { CoreFactory } from "./_cluster.ts";
import {
  CommitOldTermByCount,
  CORES,
  GreedyLease,
  IgnoreIncarnations,
  isRefusal,
  NeverLeased,
  VoteWithoutLogCheck,
} from "./_cores.ts";
import { Checker, SimViolation } from "./_invariants.ts";
import type { Invariant } from "./_invariants.ts";
import { RaftTestNetwork } from "../../testing/raft/network.ts";
import { Prng } from "../../testing/raft/random.ts";
import { replayCommand, runSeed } from "./_run.ts";
import type { SeedResult } from "./_run.ts";
import { SimStore } from "./_store.ts";

/** Seeds the CI runs per cluster size with the real core (500 in all). */
const CI_SEEDS = 250;

const SAFETY: Invariant[] = [
  "election safety",
  "leader append-only",
  "log matching",
  "leader completeness",
  "state-machine safety",
];

function runMany(
  factory: CoreFactory,
  options: { nodes: number; seeds: number; stopAtFirst: boolean },
): SeedResult[] {
  const results: SeedResult[] = [];
  for (let seed = 1; seed <= options.seeds; seed++) {
    const result = runSeed(seed, { nodes: options.nodes, factory, isRefusal });
    results.push(result);
    if (options.stopAtFirst && result.violation !== null) break;
  }
  return results;
}

function failures(results: SeedResult[], variant?: string): string {
  return results
    .filter((r) => r.violation !== null)
    .map((r) =>
      `${r.violation!.message}\n  replay: ${
        replayCommand(r.seed, {
          nodes: r.nodes,
          ticks: r.profile.faultTicks,
          variant,
        })
      }`
    )
    .join("\n");
}

function message(partial: Partial<Message>): Message {
  return {
    type: "heartbeat",
    from: 1,
    to: 2,
    term: 1,
    logTerm: 0,
    index: 0,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    ...partial,
  };
}

describe("simulator: the real core", () => {
  for (const nodes of [3, 5]) {
    it(`keeps every invariant and recovers after healing over ${CI_SEEDS} seeds of ${nodes} nodes`, () => {
      const results = runMany(CORES.real, {
        nodes,
        seeds: CI_SEEDS,
        stopAtFirst: false,
      });
      assert.equal(failures(results), "");
      assert.ok(results.every((r) => r.recovery !== null));
      const sum = (f: (r: SeedResult) => number) =>
        results.reduce((n, r) => n + f(r), 0);
      assert.ok(sum((r) => r.stats.crashes) > CI_SEEDS, "crashes happen");
      assert.ok(sum((r) => r.stats.wipes) > 0, "disks are lost");
      assert.ok(
        sum((r) => r.stats.wipeAlls) > 0,
        "whole clusters restart empty",
      );
      assert.ok(sum((r) => r.stats.snapshotsInstalled) > 0, "snapshots sent");
      assert.ok(sum((r) => r.stats.confChanges) > 0, "membership changes");
      assert.ok(sum((r) => r.stats.transfers) > 0, "transfers");
      assert.ok(sum((r) => r.network.duplicated) > 0, "duplicates");
      assert.ok(sum((r) => r.network.cut) > 0, "partitions");
      assert.ok(results.some((r) => r.profile.figure8), "Figure 8 scripts");
    });
  }

  it("replays a seed exactly", () => {
    const a = runSeed(17, { nodes: 5, factory: CORES.real, isRefusal });
    const b = runSeed(17, { nodes: 5, factory: CORES.real, isRefusal });
    assert.deepEqual(
      { ticks: a.ticks, stats: a.stats, network: a.network },
      { ticks: b.ticks, stats: b.stats, network: b.network },
    );
    assert.ok(a.stats.proposals > 0);
  });
});

describe("simulator: broken cores are caught within the CI seed budget", () => {
  const cases = [
    [
      "a vote granted without the up-to-date log check",
      "vote-without-log-check",
      VoteWithoutLogCheck,
    ],
    [
      "an old-term entry committed by counting replicas",
      "commit-old-term-by-count",
      CommitOldTermByCount,
    ],
  ] as const;
  for (const [what, variant, Core] of cases) {
    for (const nodes of [3, 5]) {
      it(`finds ${what} (${nodes} nodes)`, () => {
        const results = runMany((o) => new Core(o), {
          nodes,
          seeds: CI_SEEDS,
          stopAtFirst: true,
        });
        const caught = results.at(-1)!;
        assert.ok(
          caught.violation !== null,
          `no violation in ${CI_SEEDS} seeds`,
        );
        assert.ok(
          SAFETY.includes(caught.violation.invariant),
          failures([caught], variant),
        );
        const real = runSeed(caught.seed, {
          nodes,
          factory: CORES.real,
          isRefusal,
        });
        assert.equal(real.violation, null, "the real core passes that seed");
      });
    }
  }

  for (const nodes of [3, 5]) {
    it(`finds a node that lost its disk counted as the voter it was (${nodes} nodes)`, () => {
      const results = runMany((o) => new IgnoreIncarnations(o), {
        nodes,
        seeds: CI_SEEDS,
        stopAtFirst: true,
      });
      const caught = results.at(-1)!;
      assert.ok(caught.violation !== null, `no violation in ${CI_SEEDS} seeds`);
      assert.ok(
        [...SAFETY, "quorum commit"].includes(caught.violation.invariant),
        failures([caught], "ignore-incarnations"),
      );
      const real = runSeed(caught.seed, {
        nodes,
        factory: CORES.real,
        isRefusal,
      });
      assert.equal(real.violation, null, "the real core passes that seed");
    });
  }

  it("finds a leader that claims its lease forever (leader lease)", () => {
    const results = runMany((o) => new GreedyLease(o), {
      nodes: 5,
      seeds: CI_SEEDS,
      stopAtFirst: true,
    });
    assert.equal(results.at(-1)!.violation?.invariant, "leader lease");
  });

  it("finds a leader that never holds a lease after healing (liveness)", () => {
    const result = runSeed(1, {
      nodes: 3,
      factory: (o) => new NeverLeased(o),
      isRefusal,
    });
    assert.equal(result.violation?.invariant, "liveness");
    assert.match(result.violation.message, /held no lease/);
  });

  it("finds a cluster that never elects a leader (liveness)", () => {
    class Mute extends RaftCore {
      override tick(): void {}
    }
    const result = runSeed(1, {
      nodes: 3,
      factory: (o) => new Mute(o),
      isRefusal,
      faultTicks: 20,
      livenessTicks: 100,
    });
    assert.equal(result.violation?.invariant, "liveness");
  });
});

describe("simulator: the checker", () => {
  it("flags two leaders in one term", () => {
    const checker = new Checker();
    const store = new SimStore();
    checker.onLeader({ id: 1, term: 3, store });
    checker.onLeader({ id: 1, term: 3, store });
    assert.throws(
      () => checker.onLeader({ id: 2, term: 3, store }),
      (e) => e instanceof SimViolation && e.invariant === "election safety",
    );
  });

  it("flags a second vote in one term, even after a restart", () => {
    const checker = new Checker();
    checker.onHardState("1#0", {
      before: { term: 1, vote: null, commit: 0 },
      after: { term: 2, vote: 3, commit: 0 },
    });
    assert.throws(
      () =>
        checker.onHardState("1#0", {
          before: { term: 0, vote: null, commit: 0 },
          after: { term: 2, vote: 2, commit: 0 },
        }),
      (e) =>
        e instanceof SimViolation && e.invariant === "single vote per term",
    );
  });

  it("flags one (index, term) ending two different logs", () => {
    const checker = new Checker();
    const a = new SimStore();
    const b = new SimStore();
    const data = (s: string) => new TextEncoder().encode(s);
    checker.onStored(
      1,
      a.append([{ term: 1, index: 1, type: "normal", data: data("x") }]),
    );
    checker.onStored(
      2,
      b.append([{ term: 2, index: 1, type: "normal", data: data("y") }]),
    );
    checker.onStored(
      1,
      a.append([{ term: 3, index: 2, type: "normal", data: data("z") }]),
    );
    assert.throws(
      () =>
        checker.onStored(
          2,
          b.append([{ term: 3, index: 2, type: "normal", data: data("z") }]),
        ),
      (e) => e instanceof SimViolation && e.invariant === "log matching",
    );
  });

  it("flags two different entries applied at one index", () => {
    const checker = new Checker();
    checker.onApply(
      { node: 1, index: 1, term: 1, digest: 10, nodeTerm: 1 },
      [],
    );
    checker.onApply(
      { node: 2, index: 1, term: 1, digest: 10, nodeTerm: 2 },
      [],
    );
    assert.throws(
      () =>
        checker.onApply(
          { node: 3, index: 1, term: 2, digest: 11, nodeTerm: 2 },
          [],
        ),
      (e) =>
        e instanceof SimViolation && e.invariant === "state-machine safety",
    );
  });

  it("flags a new leader that lacks an entry committed in an earlier term", () => {
    const checker = new Checker();
    const store = new SimStore();
    checker.onApply(
      { node: 1, index: 1, term: 1, digest: 10, nodeTerm: 1 },
      [],
    );
    checker.onLeader({ id: 2, term: 1, store });
    assert.throws(
      () => checker.onLeader({ id: 3, term: 2, store }),
      (e) => e instanceof SimViolation && e.invariant === "leader completeness",
    );
  });
});

describe("simulator: the network and the random source", () => {
  it("gives the same sequence for the same seed and another for another", () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
    assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.next()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });

  it("drops messages on a cut link, one way only", () => {
    const net = new RaftTestNetwork(new Prng(1), {
      loss: 0,
      duplicate: 0,
      minDelay: 1,
      maxDelay: 1,
    });
    net.links.cut(1, 2);
    net.send(message({ from: 1, to: 2 }), 0);
    net.send(message({ from: 2, to: 1 }), 0);
    assert.deepEqual(net.due(1).map((m) => m.from), [2]);
    assert.equal(net.stats.cut, 1);
  });

  it("delays, reorders, duplicates and loses messages as configured", () => {
    const net = new RaftTestNetwork(new Prng(7), {
      loss: 0.2,
      duplicate: 0.2,
      minDelay: 1,
      maxDelay: 5,
    });
    for (let i = 0; i < 200; i++) net.send(message({ index: i }), 0);
    const order: number[] = [];
    for (let t = 1; t <= 5; t++) order.push(...net.due(t).map((m) => m.index));
    assert.ok(net.stats.lost > 0 && net.stats.duplicated > 0);
    assert.equal(order.length, 200 - net.stats.lost + net.stats.duplicated);
    assert.notDeepEqual(order, [...order].sort((x, y) => x - y));
    assert.equal(net.inFlight, 0);
  });
});
