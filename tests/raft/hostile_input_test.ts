import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RaftCore } from "../../raft/core.ts";
import { LegacyStateError, RaftError } from "../../raft/errors.ts";
import type { Message, PersistedState } from "../../raft/types.ts";
import {
  CoreCluster,
  memberState,
  testIncarnation,
} from "../../testing/raft/cores.ts";
import { below, seeded } from "../../testing/raft/random.ts";

/**
 * A message from 1 to 2 (or as overridden), between the incarnations the
 * scenario network gives them, so that it reaches the checks under test.
 */
function base(overrides: Partial<Message>): Message {
  const m: Message = {
    type: "append",
    from: 1,
    to: 2,
    term: 1,
    logTerm: 1,
    index: 1,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    ...overrides,
  };
  return {
    incarnation: testIncarnation(m.from),
    toIncarnation: testIncarnation(m.to),
    ...m,
  };
}

const entry = (term: number, index: number) => ({
  term,
  index,
  type: "normal" as const,
  data: new Uint8Array([index]),
});

/** A three-node cluster where 1 leads and "x" is committed. */
function cluster(): CoreCluster {
  const net = new CoreCluster({ voters: [1, 2, 3] });
  net.elect(1);
  net.propose(1, "x");
  net.run(1);
  return net;
}

function snapshotOf(net: CoreCluster, id: number): string {
  return JSON.stringify({
    status: net.core(id).status(),
    ready: net.core(id).hasReady(),
  });
}

describe("hostile and malformed messages", () => {
  const cases: [string, unknown][] = [
    ["addressed to another node", base({ to: 3, term: 9 })],
    ["from itself", base({ from: 2, term: 9 })],
    ["of an unknown type", base({ type: "nuke" as never, term: 9 })],
    ["with a negative index", base({ index: -1, term: 9 })],
    ["with a fractional term", base({ term: 9.5 })],
    ["with a NaN commit", base({ commit: NaN, term: 9 })],
    ["with a string id", base({ from: "1" as never, term: 9 })],
    [
      "with non-contiguous entries",
      base({ term: 9, index: 2, entries: [entry(9, 3), entry(9, 5)] }),
    ],
    [
      "with entries not following index",
      base({ term: 9, index: 2, entries: [entry(9, 7)] }),
    ],
    [
      "with entries of a term above the message's",
      base({ term: 9, index: 2, logTerm: 1, entries: [entry(10, 3)] }),
    ],
    [
      "with decreasing entry terms",
      base({
        term: 9,
        index: 2,
        logTerm: 1,
        entries: [entry(5, 3), entry(4, 4)],
      }),
    ],
    [
      "with entry data that is not bytes",
      base({
        term: 9,
        index: 2,
        entries: [{ ...entry(9, 3), data: "x" as never }],
      }),
    ],
    [
      "with entries that are not an array",
      base({ term: 9, entries: {} as never }),
    ],
    [
      "with a snapshot message lacking a snapshot",
      base({ type: "snapshot", term: 9 }),
    ],
    [
      "with a snapshot without voters",
      base({
        type: "snapshot",
        term: 9,
        snapshot: {
          metadata: { index: 50, term: 9, conf: { voters: [], learners: [] } },
          data: new Uint8Array(),
        },
      }),
    ],
    [
      "with a snapshot of a term above the message's",
      base({
        type: "snapshot",
        term: 9,
        snapshot: {
          metadata: {
            index: 50,
            term: 10,
            conf: { voters: [1], learners: [] },
          },
          data: new Uint8Array(),
        },
      }),
    ],
    [
      "with a non-boolean reject",
      base({ type: "appendResp", reject: "yes" as never, term: 9 }),
    ],
    [
      "with a non-boolean transfer",
      base({ type: "vote", transfer: 1 as never, term: 9 }),
    ],
    ["that is null", null],
    ["that is a string", "append"],
    ["missing fields", { type: "heartbeat", from: 1, to: 2, term: 9 }],
  ];
  for (const [name, message] of cases) {
    it(`drops a message ${name} without changing state`, () => {
      const net = cluster();
      const before = snapshotOf(net, 2);
      net.core(2).step(message as Message);
      assert.equal(snapshotOf(net, 2), before);
    });
  }

  it("drops a message whose fields throw when read", () => {
    const net = cluster();
    const before = snapshotOf(net, 2);
    const trap = new Proxy(base({ term: 9 }), {
      get(target, key) {
        if (key === "entries") throw new Error("boom");
        return target[key as keyof Message];
      },
    });
    net.core(2).step(trap);
    assert.equal(snapshotOf(net, 2), before);
  });

  it("drops an append that would overwrite committed entries", () => {
    const net = cluster();
    const before = net.storages.get(2)!.load().entries.map((e) => e.term);
    net.core(2).step(
      base({
        term: 1,
        index: 0,
        logTerm: 0,
        entries: [entry(1, 1), { ...entry(1, 2), type: "empty" }],
      }),
    );
    net.core(2).step(
      base({ term: 5, index: 1, logTerm: 1, entries: [entry(5, 2)] }),
    );
    net.flush();
    assert.deepEqual(
      net.storages.get(2)!.load().entries.map((e) => e.term),
      before,
    );
    assert.deepEqual(net.appliedTexts(2), ["x"]);
  });

  it("ignores responses from a node that is not a member", () => {
    const net = cluster();
    const before = net.core(1).status();
    net.core(1).step(
      base({ type: "appendResp", from: 9, to: 1, term: 1, index: 2 }),
    );
    net.core(1).step(base({ type: "heartbeatResp", from: 9, to: 1, term: 1 }));
    assert.deepEqual(net.core(1).status(), before);
  });

  it("ignores an acknowledgement beyond the leader's last index", () => {
    const net = cluster();
    net.stop(3);
    const index = net.propose(1, "y");
    net.tick(3, [1]);
    const before = net.core(1).status();
    net.core(1).step(
      base({ type: "appendResp", from: 2, to: 1, term: 1, index: index + 100 }),
    );
    assert.ok(net.core(1).status().commit < index);
    assert.equal(net.core(1).status().progress[2].match, index - 1);
    assert.deepEqual(net.core(1).status(), before, "not even the lease moves");
  });

  it("a vote response from a non-voter does not count", () => {
    const net = new CoreCluster({
      voters: [1, 2, 3],
      tuning: { preVote: false },
    });
    net.core(1).campaign();
    net.take(() => true);
    net.core(1).step(base({ type: "voteResp", from: 9, to: 1, term: 1 }));
    assert.equal(net.core(1).status().role, "candidate");
  });

  it("stays safe through a seeded storm of malformed, lost, duplicated and reordered messages", () => {
    for (let seed = 1; seed <= 15; seed++) {
      const random = seeded(seed);
      const net = new CoreCluster({ voters: [1, 2, 3], seed });
      const leadersByTerm = new Map<number, number>();
      for (let t = 0; t < 150; t++) {
        net.tick(1);
        const batch = net.take(() => true);
        for (let i = batch.length - 1; i > 0; i--) {
          const j = below(random, i + 1);
          [batch[i], batch[j]] = [batch[j], batch[i]];
        }
        for (const m of batch) {
          const roll = random();
          if (roll < 0.1) continue;
          const out = roll < 0.25 ? malform(m, random) : m;
          net.cores.get(out.to)?.step(out);
          if (roll > 0.9) net.cores.get(m.to)?.step(m);
        }
        net.flush();
        for (const id of net.leaders()) {
          const term = net.core(id).status().term;
          const known = leadersByTerm.get(term);
          assert.ok(
            known === undefined || known === id,
            `two leaders in term ${term}`,
          );
          leadersByTerm.set(term, id);
          if (random() < 0.3) net.propose(id, `v${t}`);
        }
      }
      assert.ok(leadersByTerm.size > 0, `seed ${seed}: someone led`);
      const logs = [1, 2, 3].map((id) => net.appliedTexts(id));
      for (const a of logs) {
        for (const b of logs) {
          const n = Math.min(a.length, b.length);
          assert.deepEqual(a.slice(0, n), b.slice(0, n), `seed ${seed}`);
        }
      }
    }
  });

  it("never throws on well-formed but forged messages, and keeps its invariants", () => {
    for (let seed = 1; seed <= 15; seed++) {
      const random = seeded(seed);
      const net = new CoreCluster({ voters: [1, 2, 3], seed });
      for (let t = 0; t < 150; t++) {
        net.tick(1);
        for (const m of net.take(() => true)) {
          net.cores.get(m.to)?.step(random() < 0.3 ? forge(m, random) : m);
        }
        net.flush(); // throws if a node would apply with a gap
        for (const id of net.leaders()) {
          if (random() < 0.3) net.propose(id, `v${t}`);
        }
        for (const core of net.cores.values()) {
          const s = core.status();
          assert.ok(s.applied <= s.commit && s.commit <= s.lastIndex);
          assert.ok(s.snapshotIndex <= s.applied);
        }
      }
    }
  });
});

/** Makes one field invalid (the message must then be dropped). */
function malform(m: Message, random: () => number): Message {
  const fields = [
    "term",
    "logTerm",
    "index",
    "commit",
    "rejectHint",
    "from",
    "incarnation",
    "toIncarnation",
  ] as const;
  const field = fields[below(random, fields.length)];
  const values = [-1, NaN, 1.5, 2 ** 53, Infinity, "7"];
  return { ...m, [field]: values[below(random, values.length)] } as Message;
}

/** Changes one field to another valid value (a Byzantine peer). */
function forge(m: Message, random: () => number): Message {
  const fields = ["term", "logTerm", "index", "commit", "rejectHint"] as const;
  const field = fields[below(random, fields.length)];
  const values = [0, 1, 2, m[field] + 1, Math.max(0, m[field] - 1), 1000];
  const out = { ...m, [field]: values[below(random, values.length)] };
  if (random() < 0.2) out.reject = !m.reject;
  if (random() < 0.1) out.type = "heartbeat";
  return out;
}

describe("persisted state", () => {
  const empty: PersistedState = {
    hardState: { term: 0, vote: null, commit: 0 },
    snapshot: null,
    entries: [],
  };
  const options = {
    id: 1,
    bootstrap: { voters: [1, 2, 3], learners: [] },
    random: () => 0.5,
  };

  it("a restarted node does not vote twice in one term", () => {
    const net = new CoreCluster({
      voters: [1, 2, 3],
      tuning: { preVote: false },
    });
    net.core(1).campaign();
    net.take((m) => m.to === 3);
    net.deliverOnce();
    net.take(() => true);
    assert.equal(net.core(2).status().vote, 1);
    net.stop(2);
    net.start(2);
    assert.equal(net.core(2).status().vote, 1);
    assert.equal(net.core(2).status().term, 1);
    net.core(2).step(
      base({ type: "vote", from: 3, to: 2, term: 1, logTerm: 5, index: 9 }),
    );
    const [answer] = net.take((m) => m.from === 2);
    assert.equal(answer.reject, true);
  });

  it("a restarted node keeps its log and commit index and replays committed entries", () => {
    const net = cluster();
    net.stop(2);
    const core = net.start(2);
    assert.equal(core.status().commit, 3);
    assert.equal(core.status().lastIndex, 3);
    net.flush();
    assert.deepEqual(net.appliedTexts(2), ["x"]);
  });

  it("refuses inconsistent persisted state with a clear error", () => {
    const bad: PersistedState[] = [
      { ...empty, hardState: { term: 1, vote: null, commit: 3 } },
      {
        ...empty,
        hardState: { term: 1, vote: null, commit: 0 },
        entries: [entry(1, 2)],
      },
      {
        ...empty,
        hardState: { term: 1, vote: null, commit: 0 },
        entries: [entry(2, 1)],
      },
      { ...empty, hardState: { term: -1, vote: null, commit: 0 } },
      { ...empty, hardState: { term: 1, vote: 1.5, commit: 0 } },
      { ...empty, incarnation: 0 },
      { ...empty, incarnation: 1.5 },
    ];
    for (const state of bad) {
      assert.throws(
        () => new RaftCore({ ...options, state }),
        (e) => e instanceof RaftError && /^Expected/.test(e.message),
      );
    }
  });

  it("refuses a log of k8s-operator 0.1.0 (no membership, no incarnations), naming both formats", () => {
    const legacyLog: PersistedState = {
      ...empty,
      hardState: { term: 1, vote: 1, commit: 1 },
      entries: [{ ...entry(1, 1), type: "empty" }],
    };
    const legacySnapshot: PersistedState = {
      ...empty,
      hardState: { term: 1, vote: 1, commit: 5 },
      snapshot: {
        metadata: { index: 5, term: 1, conf: { voters: [1, 2], learners: [] } },
        data: new Uint8Array(),
      },
    };
    for (const state of [legacyLog, legacySnapshot]) {
      assert.throws(
        () => new RaftCore({ ...options, state }),
        (e) =>
          e instanceof LegacyStateError && /format 2/.test(e.message) &&
          /format 1 \(k8s-operator 0\.1\.0\)/.test(e.message),
      );
    }
    const current = memberState(1, options.bootstrap);
    assert.equal(
      new RaftCore({ ...options, state: current }).status().commit,
      1,
    );
  });

  it("refuses proposals and snapshots whose data is not bytes", () => {
    const net = cluster();
    assert.throws(() => net.core(1).propose("x" as never), RaftError);
    assert.throws(() => net.core(1).compact(1, null as never), RaftError);
    assert.equal(net.core(1).status().lastIndex, 3);
  });

  it("refuses out-of-range options", () => {
    assert.throws(
      () => new RaftCore({ ...options, state: empty, electionTicks: 0 }),
      RaftError,
    );
    for (const incarnation of [0, -1, 1.5, 2 ** 53]) {
      assert.throws(
        () => new RaftCore({ ...options, state: empty, incarnation }),
        RaftError,
      );
    }
    assert.throws(
      () =>
        new RaftCore({
          ...options,
          state: empty,
          electionTicks: 5,
          heartbeatTicks: 5,
        }),
      RaftError,
    );
    assert.throws(
      () =>
        new RaftCore({
          ...options,
          state: empty,
          bootstrap: { voters: [], learners: [] },
        }),
      RaftError,
    );
    assert.throws(
      () =>
        new RaftCore({
          ...options,
          state: empty,
          bootstrap: { voters: [1, 1], learners: [] },
        }),
      RaftError,
    );
  });
});
