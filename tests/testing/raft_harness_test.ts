/**
 * The public Raft test harness (`testing/raft/`): the links, the seeded
 * generator, the core cluster and the node cluster do what their docs say.
 */
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import {
  below,
  CoreCluster,
  Links,
  NodeCluster,
  Prng,
  seeded,
} from "../../testing/mod.ts";

describe("Links", () => {
  it("cuts one way, partitions both ways, isolates and heals", () => {
    const links = new Links();
    links.cut(0, 1);
    assert.equal(links.canReach(0, 1), false);
    assert.equal(links.canReach(1, 0), true);
    links.isolate(2, [0, 1, 2]);
    assert.deepEqual(
      [links.canReach(2, 0), links.canReach(1, 2), links.canReach(2, 2)],
      [false, false, true],
    );
    links.heal();
    assert.equal(links.canReach(0, 1), true);
  });
});

describe("seeded randomness", () => {
  it("repeats a seed's sequence and differs between seeds, in [0, 1)", () => {
    const take = (random: () => number) =>
      Array.from({ length: 20 }, () => random());
    assert.deepEqual(take(seeded(5)), take(seeded(5)));
    assert.notDeepEqual(take(seeded(5)), take(seeded(6)));
    const prng = new Prng(5);
    assert.deepEqual(take(() => prng.next()), take(seeded(5)));
    assert.ok(take(seeded(9)).every((x) => x >= 0 && x < 1));
    const dice = Array.from({ length: 200 }, () => below(seeded(3), 6));
    assert.ok(dice.every((d) => Number.isInteger(d) && d >= 0 && d < 6));
  });
});

describe("CoreCluster", () => {
  it("replicates to every node, and a cut link drops what is sent over it", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.cut([1], [3]);
    net.propose(1, "x");
    net.deliver();
    assert.deepEqual(net.appliedTexts(2), ["x"]);
    assert.deepEqual(net.appliedTexts(3), []);
    net.heal();
    net.run(3);
    assert.deepEqual(net.appliedTexts(3), ["x"]);
  });
});

describe("NodeCluster on a fake clock", () => {
  let now = 0;
  const advance = (ms: number) => {
    now += ms;
    mock.timers.tick(ms);
  };
  beforeEach(() => {
    now = 1000;
    mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  });
  afterEach(() => mock.timers.reset());

  it("elects one leader, and another once the leader is cut off", async () => {
    const cluster = new NodeCluster({ clock: () => now, seed: 4 });
    await cluster.start();
    try {
      await cluster.runUntil(() => cluster.leaders().length === 1, {
        limitMs: 10_000,
        advance,
      });
      const [first] = cluster.leaders();
      cluster.links.isolate(first, cluster.ids());
      await cluster.runUntil(
        () => cluster.leaders().length === 1 && cluster.leaders()[0] !== first,
        { limitMs: 10_000, advance },
      );
      assert.ok(
        cluster.history.some((h) => h.kind === "lose" && h.id === first),
      );
    } finally {
      await cluster.stopAll({ advance });
    }
  });

  it("holds the messages its route says to hold, and runUntil gives up after limitMs", async () => {
    const cluster = new NodeCluster({ clock: () => now });
    cluster.route = () => "hold";
    await cluster.start();
    try {
      await assert.rejects(
        cluster.runUntil(() => cluster.leaders().length === 1, {
          limitMs: 2_000,
          advance,
        }),
        /Expected the condition within 2000 ms/,
      );
      assert.ok(cluster.held.length > 0, "the nodes probed each other");
      assert.deepEqual(cluster.leaders(), []);
    } finally {
      await cluster.stopAll({ advance });
    }
  });

  it("checkLeadership sees a guard that disagrees with its node", async () => {
    const cluster = new NodeCluster({
      clock: () => now,
      voters: [0],
      requireLease: false,
    });
    await cluster.start();
    try {
      cluster.checkLeadership();
      cluster.members.get(0)!.election.setRole("leader", 0);
      assert.throws(() => cluster.checkLeadership(), /agree with its node/);
    } finally {
      await cluster.stopAll({ advance });
    }
  });
});
