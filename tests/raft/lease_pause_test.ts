/**
 * The leader's guard across a process pause (SIGSTOP, a VM freeze): the
 * monotonic clock jumps with no event in between. Seen once in the operator
 * chaos test (seed 20261213, under load): a leader stopped for 1957 ms was
 * recorded leading for a moment after it resumed, while another replica
 * led. These tests pin down each way a resumed leader could believe its
 * lease still holds.
 */
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import { NodeCluster } from "../../testing/raft/nodes.ts";

let now = 0;
const clock = () => now;
/** How long the process is stopped. */
const PAUSE_MS = 2_000;

/** Lets promise chains (the node's loop) run to rest, with no timer firing. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Moves fake time forward in steps of `step` ms, settling in between. */
async function advance(ms: number, step = 10): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    now += step;
    mock.timers.tick(step);
    await settle();
  }
}

/** A durable storage in memory (as if it were on disk). */
class DurableMemory extends MemoryStorage {
  override readonly durable: boolean = true;
}

describe("a leader resumed after a pause", () => {
  let net: NodeCluster;
  beforeEach(() => {
    now = 1000;
    mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
    net = new NodeCluster({ clock });
  });
  afterEach(async () => {
    await net.stopAll();
    mock.timers.reset();
  });

  /** Three nodes, one of them leading under a fresh lease. */
  async function leaderWithLease() {
    for (const id of [0, 1, 2]) {
      await net.add(id, { storage: new DurableMemory() });
    }
    await advance(3000);
    const [leader] = net.leaders();
    assert.ok(leader !== undefined, "a leader was elected");
    const m = net.members.get(leader)!;
    assert.equal(m.election.guard().isLeader(), true, "it holds a lease");
    return m;
  }

  it("does not lead at its first observation after the clock jumped, before any timer runs", async () => {
    const m = await leaderWithLease();
    now += PAUSE_MS; // stopped: no timer, no message, only the clock moves
    assert.equal(m.election.guard().isLeader(), false);
    assert.equal(m.node.isLeader(), false);
    assert.equal(m.node.status().leaseRemainingMs, 0);
  });

  it("does not renew its lease from answers that waited out the pause and arrive before its first tick", async () => {
    const m = await leaderWithLease();
    const term = m.node.status().term;
    // Answers to the heartbeats it sends before the stop wait in its socket
    // buffers.
    net.route = (msg) =>
      msg.to === m.node.id && msg.term === term &&
        msg.type === "heartbeatResp"
        ? "hold"
        : "deliver";
    await advance(60);
    assert.equal(m.election.guard().isLeader(), true, "still under lease");
    assert.ok(net.held.length > 0, "some answers were held");
    now += PAUSE_MS;
    // On resume the socket is read before the tick timer fires.
    m.node.receive(net.held.splice(0));
    await settle();
    assert.equal(m.node.status().role, "leader", "it heard of no newer term");
    assert.equal(m.election.state().isLeader, false);
    assert.equal(m.node.isLeader(), false);
    assert.equal(m.election.guard().isLeader(), false);
  });

  it("does not gain the pause's length when stopped between the node's clock reading and its guard's", async () => {
    const m = await leaderWithLease();
    // The node measures the lease left on its clock and hands it to the
    // guard; the process is stopped between the two.
    const renew = m.election.renewLease.bind(m.election);
    let paused = false;
    let leadingAfterPause: boolean | null = null;
    m.election.renewLease = (ms, options) => {
      if (paused || ms === 0) return renew(ms, options);
      paused = true;
      now += PAUSE_MS;
      renew(ms, options);
      // The first observation after the call, at the same instant.
      leadingAfterPause = m.election.state().isLeader;
    };
    for (let i = 0; i < 100 && !paused; i++) await advance(10);
    assert.equal(paused, true, "the node renewed the lease");
    assert.equal(
      leadingAfterPause,
      false,
      `the guard led ${PAUSE_MS} ms past the lease the node measured`,
    );
  });
});
