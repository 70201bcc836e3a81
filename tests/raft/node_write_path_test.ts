/**
 * RaftNode's write path on fake time (Raft §10.2.1): a leader's appends
 * leave before its own write, which lands behind them while the node goes
 * on; its own copy counts towards a quorum only once written; what it hands
 * over meanwhile joins one write; a vote, a new term or an unwritten commit
 * index never leaves before the disk. Storages whose saves a test holds
 * show what leaves, and what commits, while a write is pending.
 */
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import type { StorageWrite } from "../../raft/storage.ts";
import type { Message } from "../../raft/types.ts";
import { memberState } from "../../testing/raft/cores.ts";
import { NodeCluster } from "../../testing/raft/nodes.ts";

let now = 0;
const clock = () => now;

/** Lets promise chains (the node's loop) run to rest. */
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

/** Holds saves of storages that ask it to until {@linkcode Gate.release}. */
class Gate {
  #waiting: (() => void)[] = [];
  get pending(): number {
    return this.#waiting.length;
  }
  hold(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  release(): void {
    for (const r of this.#waiting.splice(0)) r();
  }
}

/** A durable memory storage whose saves wait for its gate while `holding`. */
class Holdable extends DurableMemory {
  holding = false;
  readonly #gate: Gate;
  constructor(
    gate: Gate,
    state?: ConstructorParameters<typeof MemoryStorage>[0],
  ) {
    super(state);
    this.#gate = gate;
  }
  override async save(write: StorageWrite): Promise<void> {
    if (this.holding) await this.#gate.hold();
    super.save(write);
  }
}

describe("RaftNode's write path on fake time", () => {
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

  it("sends a leader's appends while its own write is pending, and counts its own copy only once written (Raft §10.2.1)", async () => {
    const gate = new Gate();
    const storages = [0, 1, 2].map(() => new Holdable(gate));
    for (const id of [0, 1, 2]) {
      await net.add(id, { storage: storages[id] });
    }
    await advance(3000);
    const [leader] = net.leaders();
    const l = net.members.get(leader)!;
    const [a, b] = [0, 1, 2].filter((id) => id !== leader);
    const sent: Message[] = [];
    const deliver = net.deliver.bind(net);
    net.deliver = (ms) => {
      sent.push(...ms);
      deliver(ms);
    };
    // Follower b's acknowledgements are held: only a answers.
    net.route = (m) =>
      m.from === b && m.type === "appendResp" ? "hold" : "deliver";
    storages[leader].holding = true;
    let applied = false;
    const put = l.node.propose(new TextEncoder().encode("x")).then(() =>
      applied = true
    );
    await settle();
    const index = l.node.status().lastIndex;
    assert.equal(gate.pending, 1, "the leader's write is pending");
    const appends = sent.filter((m) =>
      m.type === "append" && m.entries.some((e) => e.index === index)
    );
    assert.equal(appends.length, 2, "both followers were sent the entry");
    await advance(20, 1);
    assert.ok(
      sent.some((m) =>
        m.from === a && m.type === "appendResp" && m.index >= index
      ),
      "follower a acknowledged it",
    );
    assert.equal(applied, false, "not applied before the leader's write");
    assert.ok(l.node.status().commit < index, "not committed either");
    assert.ok(
      sent.every((m) => m.commit < index),
      "no message carried a commit index covering it",
    );
    storages[leader].holding = false;
    gate.release();
    await put;
    assert.ok(l.node.status().commit >= index);
  });

  it("goes on while its own write is pending: two followers' copies commit an entry, and the next proposal leaves at once", async () => {
    const gate = new Gate();
    const storages = [0, 1, 2].map(() => new Holdable(gate));
    for (const id of [0, 1, 2]) {
      await net.add(id, { storage: storages[id] });
    }
    await advance(3000);
    const [leader] = net.leaders();
    const l = net.members.get(leader)!;
    const sent: Message[] = [];
    const deliver = net.deliver.bind(net);
    net.deliver = (ms) => {
      sent.push(...ms);
      deliver(ms);
    };
    storages[leader].holding = true;
    const first = l.node.propose(new TextEncoder().encode("x"));
    await settle();
    const index = l.node.status().lastIndex;
    await first; // committed and applied on the followers' copies
    assert.equal(gate.pending, 1, "the leader's own write is still pending");
    const second = l.node.propose(new TextEncoder().encode("y"));
    await settle();
    assert.ok(
      sent.some((m) =>
        m.type === "append" && m.entries.some((e) => e.index === index + 1)
      ),
      "the next entry was sent without waiting for the disk",
    );
    await second;
    storages[leader].holding = false;
    gate.release();
    await settle();
    assert.equal(gate.pending, 0);
  });

  it("writes what the leader hands over while its write is pending in one write (group commit)", async () => {
    const gate = new Gate();
    const storages = [0, 1, 2].map(() => new Holdable(gate));
    for (const id of [0, 1, 2]) {
      await net.add(id, { storage: storages[id] });
    }
    await advance(3000);
    const [leader] = net.leaders();
    const l = net.members.get(leader)!;
    const writes: number[][] = [];
    const save = storages[leader].save.bind(storages[leader]);
    storages[leader].save = (write) => {
      if (write.entries.length > 0) {
        writes.push(write.entries.map((e) => e.index));
      }
      return save(write);
    };
    storages[leader].holding = true;
    const first = l.node.propose(new TextEncoder().encode("a"));
    await settle();
    const index = l.node.status().lastIndex;
    const more = [];
    for (const text of ["b", "c", "d"]) {
      more.push(l.node.propose(new TextEncoder().encode(text)));
      await settle(); // each in a turn of its own: a Ready each
    }
    await Promise.all([first, ...more]); // the followers' copies commit them
    storages[leader].holding = false;
    gate.release();
    await settle();
    assert.deepEqual(writes, [
      [index],
      [index + 1, index + 2, index + 3],
    ]);
  });

  it("sends a vote and a new term only once they are written, even on a leader", async () => {
    const gate = new Gate();
    const storages = [0, 1, 2].map(() => new Holdable(gate));
    for (const id of [0, 1, 2]) {
      await net.add(id, { storage: storages[id] });
    }
    await advance(3000);
    const [leader] = net.leaders();
    const l = net.members.get(leader)!;
    const sent: Message[] = [];
    net.deliver = (ms) => sent.push(...ms);
    const term = l.node.status().term;
    storages[leader].holding = true;
    const other = (leader + 1) % 3;
    l.node.receive([{
      type: "vote",
      from: other,
      to: leader,
      term: term + 1,
      logTerm: term,
      index: l.node.status().lastIndex,
      commit: 0,
      entries: [],
      reject: false,
      rejectHint: 0,
      snapshot: null,
      transfer: true,
      incarnation: l.node.status().conf.incarnations![other],
      toIncarnation: l.node.status().incarnation,
    }]);
    await settle();
    assert.equal(gate.pending, 1, "the new term and vote are being written");
    assert.equal(sent.length, 0, "nothing leaves before the write");
    storages[leader].holding = false;
    gate.release();
    await settle();
    assert.deepEqual(sent.map((m) => [m.type, m.term, m.reject]), [[
      "voteResp",
      term + 1,
      false,
    ]]);
  });

  it("a single voter sends its learner no commit index covering an entry it has not written", async () => {
    const gate = new Gate();
    const conf = { voters: [0], learners: [1] };
    const storage = new Holdable(gate, memberState(0, conf));
    const l = await net.add(0, { storage });
    await net.add(1, { storage: new DurableMemory(memberState(1, conf)) });
    await advance(3000);
    assert.equal(l.node.status().role, "leader");
    const sent: Message[] = [];
    const deliver = net.deliver.bind(net);
    net.deliver = (ms) => {
      sent.push(...ms);
      deliver(ms);
    };
    storage.holding = true;
    const put = l.node.propose(new TextEncoder().encode("x"));
    await settle();
    const index = l.node.status().lastIndex;
    assert.equal(gate.pending, 1, "the leader's write is pending");
    assert.ok(
      sent.every((m) => m.commit < index),
      "nothing told the learner that the unwritten entry is committed",
    );
    storage.holding = false;
    gate.release();
    await put;
    await advance(100);
    assert.ok(sent.some((m) => m.to === 1 && m.commit >= index));
  });
});
