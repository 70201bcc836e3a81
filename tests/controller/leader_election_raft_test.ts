/**
 * The leader guard wired to real RaftNodes (three in one process, a fake
 * clock, seeded randomness, an in-memory network that can cut a node off).
 * At every 2 ms step: at most one guard leads, and each guard agrees with its
 * node's `isLeader()` (leader role and an unexpired lease). With
 * `requireLease: false` the cut-off leader's guard keeps leading while the
 * others elect a new leader, and these tests fail.
 */
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { NodeCluster } from "../../testing/raft/nodes.ts";

const advance = (ms: number) => mock.timers.tick(ms);

describe("LeaderElection wired to RaftNode", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"] }));
  afterEach(() => mock.timers.reset());

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`leads only with the Raft leader's lease; a cut-off leader lets go before another leads (seed ${seed})`, async () => {
      const cluster = new NodeCluster({
        clock: () => Date.now(),
        seed,
        tickMs: 10,
        electionTicks: 6,
      });
      await cluster.start();
      try {
        await cluster.runUntil(() => cluster.leaders().length === 1, {
          limitMs: 5_000,
          advance,
        });
        const [first] = cluster.leaders();
        const firstGuard = cluster.members.get(first)!.election.guard();
        const firstSignal = firstGuard.signal;
        const firstTerm = firstGuard.term;

        cluster.links.isolate(first, cluster.ids());
        await cluster.runUntil(
          () =>
            cluster.leaders().length === 1 && cluster.leaders()[0] !== first,
          { limitMs: 5_000, advance },
        );
        assert.equal(firstSignal.aborted, true);
        const second = cluster.leaders()[0];
        assert.ok(
          cluster.members.get(second)!.election.guard().term > firstTerm,
        );
        const lost = cluster.history.findIndex((h) =>
          h.kind === "lose" && h.id === first && h.term === firstTerm
        );
        const gained = cluster.history.findIndex((h) =>
          h.kind === "gain" && h.id === second
        );
        assert.ok(
          lost !== -1 && lost < gained,
          JSON.stringify(cluster.history),
        );

        cluster.links.heal();
        const secondTerm = cluster.members.get(second)!.election.guard().term;
        await cluster.runUntil(() => firstGuard.term >= secondTerm, {
          limitMs: 5_000,
          advance,
        });
        assert.notEqual(firstGuard.currentRole(), "leader");
        assert.equal(firstGuard.isLeader(), false);
      } finally {
        await cluster.stopAll({ advance });
      }
    });
  }
});
