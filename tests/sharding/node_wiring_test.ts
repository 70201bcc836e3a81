/**
 * The sharding runtime on real `RaftNode`s (operator/_shards.ts): the
 * assignment goes through the log, grants and renewals ride on heartbeats
 * through the transport's codec, and no shard is ever held by two
 * processes at once (checked at every 5 ms step of fake time by
 * `ShardCluster.advance`).
 */
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { encodeKvCommand, KeyValueStore } from "../../raft/kv.ts";
import { ShardRuntime } from "../../operator/_shards.ts";
import { encodeAssignment, planAssignment } from "../../sharding/mod.ts";
import { ShardCluster } from "./_cluster.ts";

const SHARDS = 32;
/**
 * A handover on this instant network: the release waits for the next
 * heartbeat to ride on (one 50 ms tick at most), then the leader frees the
 * shards, commits the assignment and nudges the new owners (its own holder
 * too) at once. The goal is 100 ms per shard on a real network.
 */
const HANDOVER_MS = 60;

describe("sharding on RaftNodes", () => {
  let c: ShardCluster;
  beforeEach(() => {
    mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
    c = new ShardCluster({ shards: SHARDS });
  });
  afterEach(async () => {
    await c.stopAll();
    mock.timers.reset();
  });

  it("three nodes converge to one assignment over all three, every shard held by its owner", async () => {
    await c.start();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 5000 });
    const a = c.members.get(0)!.runtime.assignment!;
    const counts = [0, 1, 2].map((id) =>
      a.owners.filter((o) => o === id).length
    );
    assert.ok(
      Math.max(...counts) - Math.min(...counts) <= 1,
      `balanced: ${counts}`,
    );
    for (const m of c.members.values()) {
      assert.deepEqual(
        m.runtime.holder.held(c.now),
        a.owners.flatMap((o, s) => o === m.id ? [s] : []),
        `node ${m.id} holds exactly its planned shards`,
      );
    }
    // Grants keep being renewed: a second later nothing moved.
    const before = c.changes.length;
    await c.advance(1000);
    assert.equal(c.changes.length, before, "no shard changed holder");
    assert.ok(c.settled([0, 1, 2]));
  });

  it("a killed member's shards go to the others only once its grant ran out, within a second", async () => {
    await c.start();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 5000 });
    const victim = [...c.members.values()].find((m) =>
      m !== c.leader() && m.runtime.holder.held(c.now).length > 0
    )!;
    const ends = new Map(
      victim.runtime.holder.held(c.now).map((
        s,
      ) => [s, victim.runtime.holder.validUntil(s, c.now)!]),
    );
    const killedAt = c.now;
    await c.kill(victim.id);
    const others = [0, 1, 2].filter((id) => id !== victim.id);
    const took = await c.until(() => c.settled(others), { limitMs: 3000 });
    for (const [shard, end] of ends) {
      const next = c.changes.find(([at, s, h]) =>
        s === shard && at > killedAt && h !== -1
      );
      assert.ok(next !== undefined, `shard ${shard} was taken over`);
      assert.ok(
        next[0] >= end,
        `shard ${shard} granted at ${
          next[0]
        }, after the dead grant's end ${end}`,
      );
      assert.ok(
        next[0] - killedAt <= 1000,
        `shard ${shard} reassigned ${next[0] - killedAt} ms after the kill`,
      );
    }
    assert.ok(took <= 1000, `settled ${took} ms after the kill`);
  });

  it("a killed leader's shards and everyone's are held again within 1.5 s", async () => {
    await c.start();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 5000 });
    const leader = c.leader()!;
    const killedAt = c.now;
    await c.kill(leader.id);
    const others = [0, 1, 2].filter((id) => id !== leader.id);
    await c.until(() => c.settled(others), { limitMs: 5000 });
    const a = c.members.get(others[0])!.runtime.assignment!;
    for (let shard = 0; shard < SHARDS; shard++) {
      const last = c.changes.findLast(([, s]) => s === shard)!;
      assert.equal(last[2], a.owners[shard]);
      assert.ok(
        last[0] - killedAt <= 1500,
        `shard ${shard} held again ${last[0] - killedAt} ms after the kill`,
      );
    }
  });

  it("a leaving member hands its shards over at once, without waiting out its grants", async () => {
    await c.start();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 5000 });
    const m = [...c.members.values()].find((x) => x !== c.leader())!;
    const shards = m.runtime.holder.held(c.now);
    const leftAt = c.now;
    let left = false;
    void m.runtime.leave().then(() => left = true);
    const others = [0, 1, 2].filter((id) => id !== m.id);
    const took = await c.until(() => c.settled(others) && left, {
      limitMs: 2000,
      step: 1,
    });
    const grantMs = c.members.get(0)!.runtime.timing.grantMs;
    assert.ok(took < grantMs, `took ${took}`);
    for (const shard of shards) {
      const next = c.changes.find(([at, s, h]) =>
        s === shard && at > leftAt && h !== -1 && h !== m.id
      )!;
      assert.ok(
        next[0] - leftAt <= HANDOVER_MS,
        `shard ${shard} handed over in ${next[0] - leftAt} ms`,
      );
    }
  });

  it("a leaving leader hands its own shards over first, the others' stay put", async () => {
    await c.start();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 5000 });
    const leader = c.leader()!;
    const own = new Set(leader.runtime.holder.held(c.now));
    const leftAt = c.now;
    let left = false;
    void leader.runtime.leave().then(() => left = true);
    const others = [0, 1, 2].filter((id) => id !== leader.id);
    await c.until(() => left, { limitMs: 2000, step: 1 });
    assert.ok(c.settled(others), "its shards are held by their new owners");
    for (const [at, shard, holder] of c.changes) {
      if (at <= leftAt) continue;
      if (own.has(shard)) {
        if (holder !== -1) {
          assert.ok(
            at - leftAt <= HANDOVER_MS,
            `shard ${shard}: ${at - leftAt} ms`,
          );
        }
      } else {
        assert.fail(`shard ${shard} of another member moved to ${holder}`);
      }
    }
  });

  it("a member standing aside (its API server unreachable) hands its shards over at once, as on SIGTERM; it rejoins and gets its quota back", async () => {
    await c.start();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 5000 });
    const m = [...c.members.values()].find((x) => x !== c.leader())!;
    const shards = m.runtime.holder.held(c.now);
    assert.ok(shards.length > 0, `member ${m.id} holds shards`);
    // A reconcile in flight: aborted and awaited before the release.
    const ticket = m.runtime.enter(shards[0])!;
    assert.ok(ticket !== null);
    const asideAt = c.now;
    let aside = false;
    void m.runtime.standAside().then(() => aside = true);
    assert.ok(ticket.signal.aborted, "its reconciles are aborted at once");
    assert.equal(m.runtime.enter(shards[1] ?? shards[0]), null, "none starts");
    await c.advance(20);
    assert.deepEqual(
      shards.filter((s) => c.holdersOf(s).includes(m.id)),
      shards,
      "held until the reconcile ended",
    );
    ticket.done();
    const others = [0, 1, 2].filter((id) => id !== m.id);
    const took = await c.until(() => c.settled(others) && aside, {
      limitMs: 2000,
      step: 1,
    });
    const grantMs = c.members.get(0)!.runtime.timing.grantMs;
    assert.ok(took < grantMs, `handed over in ${took} ms, not by expiry`);
    for (const shard of shards) {
      const next = c.changes.find(([at, s, h]) =>
        s === shard && at > asideAt && h !== -1 && h !== m.id
      )!;
      assert.ok(
        next[0] - asideAt <= 20 + HANDOVER_MS,
        `shard ${shard} handed over ${
          next[0] - asideAt
        } ms after standing aside`,
      );
    }
    // Aside, it is planned nothing and granted nothing, however long.
    await c.advance(2000);
    assert.ok(c.settled(others), "the others keep its shards");
    assert.deepEqual(m.runtime.holder.held(c.now), []);
    assert.equal(m.runtime.aside, true);
    assert.equal(
      m.runtime.stats().aside,
      true,
      "sharding_standing_aside reads 1",
    );
    m.runtime.rejoin();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 3000 });
    const back = m.runtime.holder.held(c.now).length;
    assert.ok(back >= Math.floor(SHARDS / 3), `it holds ${back} shards again`);
    assert.equal(
      m.runtime.stats().aside,
      false,
      "sharding_standing_aside reads 0",
    );
  });

  it("a leader standing aside hands its own shards over and goes on granting the others'", async () => {
    await c.start();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 5000 });
    const leader = c.leader()!;
    const own = new Set(leader.runtime.holder.held(c.now));
    const asideAt = c.now;
    await leader.runtime.standAside();
    const others = [0, 1, 2].filter((id) => id !== leader.id);
    await c.until(() => c.settled(others), { limitMs: 2000, step: 1 });
    assert.equal(c.leader(), leader, "it still leads");
    for (const [at, shard, holder] of c.changes) {
      if (at <= asideAt) continue;
      if (!own.has(shard)) {
        assert.fail(`shard ${shard} of another member moved to ${holder}`);
      }
      if (holder !== -1) {
        assert.ok(
          at - asideAt <= HANDOVER_MS,
          `shard ${shard}: ${at - asideAt} ms`,
        );
      }
    }
    await c.advance(2000);
    assert.ok(c.settled(others), "nothing comes back to it while aside");
    leader.runtime.rejoin();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 3000 });
  });

  it("every replica standing aside (the API server down for all): no shard is held, then all rejoin and share them again", async () => {
    await c.start();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 5000 });
    await Promise.all(
      [...c.members.values()].map((m) => m.runtime.standAside()),
    );
    await c.until(
      () => c.leader()?.runtime.assignment?.members.length === 0,
      { limitMs: 2000 },
    );
    for (let shard = 0; shard < SHARDS; shard++) {
      assert.deepEqual(c.holdersOf(shard), [], `shard ${shard} held by none`);
    }
    for (const m of c.members.values()) m.runtime.rejoin();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 3000 });
  });

  it("a holder that left stays out: rejoin does not undo a SIGTERM", async () => {
    await c.start();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 5000 });
    const m = [...c.members.values()].find((x) => x !== c.leader())!;
    void m.runtime.standAside();
    let left = false;
    void m.runtime.leave().then(() => left = true);
    const others = [0, 1, 2].filter((id) => id !== m.id);
    await c.until(() => c.settled(others) && left, { limitMs: 2000 });
    m.runtime.rejoin();
    await c.advance(2000);
    assert.ok(c.settled(others));
    assert.deepEqual(m.runtime.holder.held(c.now), []);
  });

  it("a learner owns no shard; once promoted it takes its quota", async () => {
    await c.start();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 5000 });
    const learner = await c.add(3);
    await c.leader()!.node.changeMembership({
      type: "addLearner",
      nodeId: 3,
    });
    await c.advance(2000);
    assert.deepEqual(c.leader()!.runtime.assignment!.members, [0, 1, 2]);
    assert.deepEqual(learner.runtime.holder.held(c.now), []);
    assert.ok(c.settled([0, 1, 2]));
    await c.leader()!.node.changeMembership({ type: "promote", nodeId: 3 });
    await c.until(() => c.settled([0, 1, 2, 3]), { limitMs: 5000 });
    assert.equal(learner.runtime.holder.held(c.now).length, SHARDS / 4);
  });

  it("a partitioned member loses its grants before anyone else gets its shards", async () => {
    await c.start();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 5000 });
    const m = [...c.members.values()].find((x) => x !== c.leader())!;
    c.links.isolate(m.id, [0, 1, 2]);
    const others = [0, 1, 2].filter((id) => id !== m.id);
    await c.until(() => c.settled(others), { limitMs: 3000 });
    assert.deepEqual(m.runtime.holder.held(c.now), []);
    c.links.heal();
    await c.until(() => c.settled([0, 1, 2]), { limitMs: 5000 });
  });

  it("handOverTo: the leader moves the shards of members about to be removed to those that stay, one handover each, then resolves", async () => {
    c = new ShardCluster({ shards: SHARDS, voters: [0, 1, 2, 3, 4] });
    await c.start();
    await c.until(() => c.settled([0, 1, 2, 3, 4]), { limitMs: 5000 });
    const leader = c.leader()!;
    const going = [0, 1, 2, 3, 4].filter((id) => id !== leader.id).slice(2);
    const staying = [0, 1, 2, 3, 4].filter((id) => !going.includes(id));
    const moving = going.flatMap((id) =>
      c.members.get(id)!.runtime.holder.held(c.now)
    );
    assert.ok(moving.length > 0, `members ${going} hold shards`);
    let resolved = false;
    void leader.runtime.handOverTo(staying).then(() => resolved = true);
    const startedAt = c.now;
    const took = await c.until(() => resolved, { limitMs: 2000 });
    // Before the bound of twice grantMs: by handovers, not by waiting.
    assert.ok(took < 500, `resolved after ${took} ms`);
    assert.ok(c.settled(staying), "every shard held by a member that stays");
    for (const shard of moving) {
      const taken = c.changes.find(([at, s, h]) =>
        s === shard && at >= startedAt && staying.includes(h)
      );
      assert.ok(taken !== undefined, `shard ${shard} moved`);
      // No holder in between (-1) when the grant followed the release
      // within one 5 ms step.
      const released = c.changes.findLast(([at, s, h]) =>
        s === shard && at >= startedAt && at <= taken[0] && h === -1
      );
      const gap = taken[0] - (released?.[0] ?? taken[0]);
      assert.ok(
        gap <= HANDOVER_MS,
        `shard ${shard} without a holder ${gap} ms`,
      );
    }
    // A follower has nothing to hand over: it resolves at once.
    const follower = c.members.get(staying.find((id) => id !== leader.id)!)!;
    let followerDone = false;
    void follower.runtime.handOverTo(staying).then(() => followerDone = true);
    await c.advance(5);
    assert.ok(followerDone, "a follower's handOverTo resolves at once");
  });

  it("keeps the assignment in the snapshot and restores it", () => {
    const runtime = new ShardRuntime({ id: 0, shards: 8 });
    const inner = new KeyValueStore();
    const sm = runtime.stateMachine(inner);
    const a = planAssignment({ shardCount: 8, members: [0, 1] });
    sm.apply({ term: 1, index: 1, type: "normal", data: encodeAssignment(a) });
    sm.apply({
      term: 1,
      index: 2,
      type: "normal",
      data: encodeKvCommand({ op: "put", key: "k", value: "v" }),
    });
    const snap = sm.snapshot();
    const other = new ShardRuntime({ id: 1, shards: 8 });
    const otherInner = new KeyValueStore();
    other.stateMachine(otherInner).restore(snap);
    assert.deepEqual(other.assignment, a);
    assert.equal(otherInner.get("k"), "v");
    // A snapshot taken before sharding was on restores with no assignment.
    const plain = new ShardRuntime({ id: 2, shards: 8 });
    const plainInner = new KeyValueStore();
    plain.stateMachine(plainInner).restore(inner.snapshot());
    assert.equal(plain.assignment, null);
    assert.equal(plainInner.get("k"), "v");
  });
});
