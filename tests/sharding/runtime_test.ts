/**
 * The sharding runtime's gate on its own (operator/_shards.ts), on fake
 * time, its holder fed grants by hand: tickets end with the grant, a
 * release waits for the shard's reconciles, and leaving starts nothing new.
 */
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { ShardRuntime } from "../../operator/_shards.ts";
import { decodeRenewalRequest } from "../../sharding/mod.ts";
import type { RaftNode } from "../../raft/node.ts";
import type { Message } from "../../raft/types.ts";
import { LogLines } from "./_cluster.ts";

let now = 0;

function grant(runtime: ShardRuntime, shards: number[]): void {
  const request = runtime.holder.request(now);
  runtime.holder.onGrant({
    to: 1,
    term: 1,
    session: runtime.holder.session,
    seq: request.seq,
    epoch: 1,
    shardCount: 8,
    grantMs: 500,
    granted: shards,
    release: [],
  }, now);
}

function runtimeHolding(
  shards: number[],
  logger: LogLines = new LogLines(),
): ShardRuntime {
  const runtime = new ShardRuntime({
    id: 1,
    shards: 8,
    clock: () => now,
    logger,
  });
  grant(runtime, shards);
  return runtime;
}

/** A heartbeat or its answer between node 0 (the leader) and node 1. */
function beat(
  type: "heartbeat" | "heartbeatResp",
  shard?: Uint8Array,
): Message {
  const [from, to] = type === "heartbeat" ? [0, 1] : [1, 0];
  return {
    type,
    from,
    to,
    term: 1,
    logTerm: 0,
    index: 5,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    ...(shard === undefined ? {} : { shard }),
  };
}

/** Just enough of a follower's RaftNode for `attach`. */
const follower = {
  onRoleChange: () => () => {},
  status: () => ({ role: "follower", term: 1, leader: 0 }),
  isLeader: () => false,
} as unknown as RaftNode;

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe("ShardRuntime's gate", () => {
  beforeEach(() => {
    now = 1000;
    mock.timers.enable({ apis: ["setTimeout"] });
  });
  afterEach(() => mock.timers.reset());

  it("gives a ticket only for a held shard, and aborts it when the grant ends", () => {
    const runtime = runtimeHolding([2]);
    assert.equal(runtime.enter(3), null, "not held");
    const ticket = runtime.enter(2)!;
    assert.ok(runtime.holds(2));
    now = 1499;
    mock.timers.tick(499);
    assert.equal(ticket.signal.aborted, false);
    now = 1500;
    mock.timers.tick(1);
    assert.equal(runtime.holds(2), false);
    assert.equal(ticket.signal.aborted, true, "the timer at the grant's end");
    ticket.done();
    assert.equal(runtime.enter(2), null);
  });

  it("leaving aborts every ticket, starts no reconcile, and releases once they ended", async () => {
    const runtime = runtimeHolding([0, 1]);
    const ticket = runtime.enter(0)!;
    void runtime.leave();
    assert.equal(ticket.signal.aborted, true);
    assert.equal(runtime.enter(1), null, "no reconcile starts once leaving");
    // A grant that arrives during the drain: nothing starts on it either.
    grant(runtime, [0, 1, 2]);
    assert.equal(runtime.enter(2), null, "not on a shard granted meanwhile");
    await settle();
    assert.deepEqual(
      runtime.holder.held(now),
      [0, 1, 2],
      "nothing released while a reconcile runs",
    );
    ticket.done();
    await settle();
    assert.deepEqual(runtime.holder.held(now), [], "everything released");
    assert.ok(runtime.holder.leaving);
    assert.deepEqual(runtime.holder.pendingReleases(), [0, 1, 2]);
  });

  it("puts a renewal request on a follower's heartbeat answer", () => {
    const runtime = runtimeHolding([]);
    runtime.attach(follower);
    try {
      const answer = beat("heartbeatResp");
      const [out] = runtime.outgoing([answer]);
      const request = decodeRenewalRequest(out.shard!);
      assert.equal(request.from, 1);
      assert.equal(request.session, runtime.holder.session);
      assert.equal(request.seq, 2, "the next of this holder's requests");
      assert.equal(
        answer.shard,
        undefined,
        "the core's message is not changed",
      );
    } finally {
      runtime.detach();
    }
  });

  it("drops shard bytes that do not decode, logs them, and the message goes on without them", () => {
    const logs = new LogLines();
    const runtime = runtimeHolding([], logs);
    runtime.attach(follower);
    try {
      const bad = beat("heartbeat", new Uint8Array([9, 9, 9]));
      const [out] = runtime.incoming([bad]);
      assert.equal(out.shard, undefined);
      assert.equal(out.type, "heartbeat");
      assert.ok(
        logs.lines.some((l) =>
          l.level === "warn" && l.message === "shard bytes dropped"
        ),
      );
      assert.deepEqual(runtime.holder.held(now), []);
    } finally {
      runtime.detach();
    }
  });
});
