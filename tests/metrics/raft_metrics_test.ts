import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { MetricsRegistry, RaftMetrics } from "../../metrics/mod.ts";
import type { ObservedRaftNode } from "../../metrics/mod.ts";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import { RaftNode } from "../../raft/node.ts";
import type { NodeStatus, RoleChange } from "../../raft/node.ts";
import type { Message, NodeId } from "../../raft/types.ts";
import { seeded } from "../controller/_helpers.ts";
import { parseExposition, value } from "./_exposition.ts";

/** A node whose status and role changes the test sets by hand. */
class FakeNode implements ObservedRaftNode {
  readonly id: NodeId = 1;
  state: NodeStatus = {
    id: 1,
    incarnation: 7,
    pristine: false,
    role: "follower",
    term: 1,
    vote: null,
    leader: 2,
    commit: 5,
    leaderCommit: 5,
    applied: 4,
    lastIndex: 6,
    snapshotIndex: 0,
    conf: { voters: [1, 2, 3], learners: [] },
    progress: {},
    leaseTicks: null,
    transferee: null,
    leaseRemainingMs: null,
  };
  readonly listeners = new Set<(change: RoleChange) => void>();

  status(): NodeStatus {
    return this.state;
  }

  onRoleChange(listener: (change: RoleChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  change(change: RoleChange): void {
    this.state = { ...this.state, ...change };
    for (const l of this.listeners) l(change);
  }
}

function message(fields: Partial<Message>): Message {
  return {
    type: "append",
    from: 1,
    to: 2,
    term: 3,
    logTerm: 0,
    index: 0,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    ...fields,
  };
}

function entries(from: number, count: number): Message["entries"] {
  return Array.from({ length: count }, (_, i) => ({
    index: from + i,
    term: 3,
    type: "normal" as const,
    data: new Uint8Array(),
  }));
}

describe("RaftMetrics", () => {
  it("reads role, term, leader, commit and applied index at scrape time", async () => {
    const registry = new MetricsRegistry();
    const node = new FakeNode();
    new RaftMetrics(node, { registry });
    let p = parseExposition(await registry.render());
    assert.equal(value(p, "raft_role", { role: "follower" }), 1);
    assert.equal(value(p, "raft_role", { role: "leader" }), 0);
    assert.equal(value(p, "raft_is_leader"), 0);
    assert.equal(value(p, "raft_term"), 1);
    assert.equal(value(p, "raft_leader_id"), 2);
    assert.equal(value(p, "raft_commit_index"), 5);
    assert.equal(value(p, "raft_applied_index"), 4);
    assert.equal(value(p, "raft_last_index"), 6);
    node.state = {
      ...node.state,
      role: "leader",
      term: 4,
      leader: 1,
      leaseRemainingMs: 150,
    };
    p = parseExposition(await registry.render());
    assert.equal(value(p, "raft_role", { role: "leader" }), 1);
    assert.equal(value(p, "raft_role", { role: "follower" }), 0);
    assert.equal(value(p, "raft_is_leader"), 1);
    assert.equal(value(p, "raft_term"), 4);
  });

  it("exports raft_is_leader as the guard sees it: 0 for a leader whose lease has lapsed, beside its role", async () => {
    // A leader cut off from its quorum keeps its role until it hears of a
    // newer term, but its lease (and its guard) ended: the dashboard must not
    // show two leaders.
    const registry = new MetricsRegistry();
    const node = new FakeNode();
    new RaftMetrics(node, { registry });
    node.state = {
      ...node.state,
      role: "leader",
      term: 4,
      leader: 1,
      leaseRemainingMs: 0,
    };
    const p = parseExposition(await registry.render());
    assert.equal(value(p, "raft_role", { role: "leader" }), 1);
    assert.equal(value(p, "raft_is_leader"), 0);
  });

  it("counts elections started and leaders seen from role changes", async () => {
    const registry = new MetricsRegistry();
    const node = new FakeNode();
    new RaftMetrics(node, { registry });
    node.change({ role: "preCandidate", term: 1, leader: null });
    node.change({ role: "candidate", term: 2, leader: null });
    node.change({ role: "candidate", term: 3, leader: null }); // split vote, again
    node.change({ role: "leader", term: 3, leader: 1 });
    node.change({ role: "follower", term: 4, leader: null });
    node.change({ role: "follower", term: 4, leader: 3 });
    const p = parseExposition(await registry.render());
    assert.equal(value(p, "raft_elections_total"), 2);
    assert.equal(value(p, "raft_leader_changes_seen_total"), 2);
  });

  it("reports peer reachability and match index on the leader only", async () => {
    const registry = new MetricsRegistry();
    const node = new FakeNode();
    new RaftMetrics(node, { registry, reachableWithinTicks: 6 });
    let p = parseExposition(await registry.render());
    assert.equal(value(p, "raft_peer_reachable", { peer: "2" }), undefined);
    const progress = (match: number, ticksSinceAck: number | null) => ({
      match,
      next: match + 1,
      state: "replicate" as const,
      inflight: 0,
      learner: false,
      incarnation: 7,
      caughtUp: true,
      ticksSinceAck,
    });
    node.state = {
      ...node.state,
      role: "leader",
      leader: 1,
      progress: { 1: progress(6, 0), 2: progress(6, 1), 3: progress(2, 9) },
    };
    p = parseExposition(await registry.render());
    assert.equal(value(p, "raft_peer_reachable", { peer: "1" }), undefined);
    assert.equal(value(p, "raft_peer_reachable", { peer: "2" }), 1);
    assert.equal(value(p, "raft_peer_reachable", { peer: "3" }), 0);
    assert.equal(value(p, "raft_peer_match_index", { peer: "3" }), 2);
    node.state = { ...node.state, role: "follower", leader: 2, progress: {} };
    p = parseExposition(await registry.render());
    assert.equal(value(p, "raft_peer_reachable", { peer: "2" }), undefined);
  });

  it("times appends from send to acknowledgement per peer, and forgets rejected ones", async () => {
    const registry = new MetricsRegistry();
    let now = 0;
    const metrics = new RaftMetrics(new FakeNode(), {
      registry,
      now: () => now,
    });
    metrics.sent([
      message({ to: 2, index: 0, entries: entries(1, 2) }),
      message({ to: 3, index: 0, entries: entries(1, 2) }),
      message({ type: "heartbeat", to: 2 }),
    ]);
    now = 3;
    metrics.sent([message({ to: 2, index: 2, entries: entries(3, 1) })]);
    now = 4;
    // Peer 2 acknowledges both appends at once: 4 ms and 1 ms.
    metrics.received([
      message({ type: "appendResp", from: 2, to: 1, index: 3 }),
    ]);
    // Peer 3 rejects: nothing observed, its pending appends are dropped.
    metrics.received([
      message({ type: "appendResp", from: 3, to: 1, index: 0, reject: true }),
    ]);
    now = 100;
    metrics.received([
      message({ type: "appendResp", from: 3, to: 1, index: 2 }),
    ]);
    const p = parseExposition(await registry.render());
    const count = (peer: string) =>
      value(p, "raft_append_latency_seconds_count", { peer });
    assert.equal(count("2"), 2);
    assert.equal(count("3"), undefined);
    const bucket = (le: string) =>
      value(p, "raft_append_latency_seconds_bucket", { peer: "2", le });
    // 1 ms and 4 ms; bounds are inclusive.
    assert.deepEqual(
      ["0.0005", "0.001", "0.002", "0.004", "+Inf"].map(bucket),
      [0, 1, 1, 2, 2],
    );
    assert.ok(
      Math.abs(
        value(p, "raft_append_latency_seconds_sum", { peer: "2" })! -
          0.005,
      ) < 1e-9,
    );
  });

  it("counts transport failures per peer", async () => {
    const registry = new MetricsRegistry();
    const metrics = new RaftMetrics(new FakeNode(), { registry });
    metrics.sendFailed(2);
    metrics.sendFailed(2);
    metrics.sendFailed(3);
    const p = parseExposition(await registry.render());
    assert.equal(
      value(p, "raft_transport_send_failures_total", { peer: "2" }),
      2,
    );
    assert.equal(
      value(p, "raft_transport_send_failures_total", { peer: "3" }),
      1,
    );
  });

  it("counts refused requests per reason", async () => {
    const registry = new MetricsRegistry();
    const metrics = new RaftMetrics(new FakeNode(), { registry });
    metrics.refused("replay");
    metrics.refused("replay");
    metrics.refused("version");
    const p = parseExposition(await registry.render());
    assert.equal(
      value(p, "raft_transport_refused_total", { reason: "replay" }),
      2,
    );
    assert.equal(
      value(p, "raft_transport_refused_total", { reason: "version" }),
      1,
    );
  });

  it("times storage appends and passes writes and failures through", async () => {
    const registry = new MetricsRegistry();
    let now = 0;
    const inner = new MemoryStorage();
    const storage = RaftMetrics.instrumentStorage(inner, {
      registry,
      now: () => now,
    });
    const save = inner.save.bind(inner);
    inner.save = (write) => {
      now += 3;
      return save(write);
    };
    await storage.save({
      hardState: { term: 1, vote: 1, commit: 0 },
      entries: [],
      snapshot: null,
    });
    assert.equal((await storage.load()).hardState.term, 1);
    inner.save = () => {
      now += 20;
      throw new Error("disk full");
    };
    await assert.rejects(
      Promise.resolve(
        storage.save({ hardState: null, entries: [], snapshot: null }),
      ),
      /disk full/,
    );
    const p = parseExposition(await registry.render());
    assert.equal(value(p, "raft_storage_append_duration_seconds_count"), 2);
    assert.equal(
      value(p, "raft_storage_append_duration_seconds_bucket", { le: "0.004" }),
      1,
    );
    assert.equal(storage.durable, false);
  });
});

describe("RaftMetrics on real nodes", () => {
  it("follows an election and a failover of three in-process nodes on a fake clock", async () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"] });
    const ids = [0, 1, 2];
    const nodes = new Map<NodeId, RaftNode>();
    const registries = new Map<NodeId, MetricsRegistry>();
    const observers = new Map<NodeId, RaftMetrics>();
    const cut = new Set<NodeId>();
    const random = seeded(7);
    const deliver = (messages: Message[]) => {
      for (const m of messages) {
        if (cut.has(m.from) || cut.has(m.to)) continue;
        Promise.resolve().then(() => {
          observers.get(m.to)?.received([m]);
          nodes.get(m.to)?.receive([m]);
        });
      }
    };
    const scrape = async (id: NodeId) =>
      parseExposition(await registries.get(id)!.render());
    // Leaders under a valid lease: what raft_is_leader exports.
    const leaderOf = () =>
      ids.filter((id) => !cut.has(id) && nodes.get(id)!.isLeader());
    const runUntil = async (done: () => boolean) => {
      for (let ms = 0; ms < 20_000; ms += 5) {
        if (done()) return;
        mock.timers.tick(5);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      assert.fail("Expected the condition within 20 s of fake time");
    };
    try {
      for (const id of ids) {
        const registry = new MetricsRegistry();
        registries.set(id, registry);
        const node = await RaftNode.start({
          id,
          storage: RaftMetrics.instrumentStorage(new MemoryStorage(), {
            registry,
            now: () => Date.now(),
          }),
          bootstrap: { voters: ids, learners: [] },
          stateMachine: {
            apply: () => null,
            snapshot: () => new Uint8Array(),
            restore: () => {},
          },
          send: (messages) => {
            observers.get(id)?.sent(messages);
            deliver(messages);
          },
          tickMs: 10,
          electionTicks: 6,
          clock: () => Date.now(),
          random,
        });
        nodes.set(id, node);
        observers.set(
          id,
          new RaftMetrics(node, { registry, now: () => Date.now() }),
        );
      }
      await runUntil(() => leaderOf().length === 1);
      const [first] = leaderOf();
      await nodes.get(first)!.propose(new Uint8Array([1]));
      let p = await scrape(first);
      assert.equal(value(p, "raft_is_leader"), 1);
      assert.equal(value(p, "raft_elections_total"), 1);
      assert.ok(value(p, "raft_commit_index")! >= 2);
      for (const peer of ids.filter((id) => id !== first)) {
        assert.equal(
          value(p, "raft_peer_reachable", { peer: String(peer) }),
          1,
        );
        assert.ok(
          value(p, "raft_append_latency_seconds_count", {
            peer: String(peer),
          })! >= 1,
        );
      }
      assert.ok(value(p, "raft_storage_append_duration_seconds_count")! >= 1);
      const follower = ids.find((id) => id !== first)!;
      const seenBefore = value(
        await scrape(follower),
        "raft_leader_changes_seen_total",
      )!;
      assert.equal(seenBefore, 1);
      cut.add(first);
      await runUntil(() => leaderOf().length === 1);
      const [second] = leaderOf();
      p = await scrape(second);
      assert.equal(value(p, "raft_is_leader"), 1);
      assert.equal(value(p, "raft_leader_id"), second);
      assert.ok(value(p, "raft_term")! > 1);
      assert.equal(
        value(p, "raft_peer_reachable", { peer: String(first) }),
        0,
      );
      const survivor = ids.find((id) => id !== first && id !== second)!;
      assert.equal(
        value(await scrape(survivor), "raft_leader_changes_seen_total"),
        2,
      );
    } finally {
      for (const node of nodes.values()) {
        await node.stop({ transfer: false });
      }
      mock.timers.reset();
    }
  });
});
