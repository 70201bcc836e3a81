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
import { LeaderElection } from "../../controller/mod.ts";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import { RaftNode } from "../../raft/node.ts";
import type { Message, NodeId } from "../../raft/types.ts";

/** mulberry32: a small seeded generator, so elections are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const IDS: NodeId[] = [0, 1, 2];
const STEP_MS = 2;

/** Three RaftNodes in one process on a fake clock, each reporting into a LeaderElection. */
class Cluster {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly elections = new Map<NodeId, LeaderElection>();
  readonly isolated = new Set<NodeId>();
  /** "gain 1 @t" / "lose 1 @t" in the order the guards changed. */
  readonly history: string[] = [];

  async start(seed: number): Promise<void> {
    const random = seeded(seed);
    for (const id of IDS) {
      const election = new LeaderElection(id, {
        requireLease: true,
        now: () => Date.now(),
      });
      let leading = false;
      election.subscribe((s) => {
        if (s.isLeader === leading) return;
        leading = s.isLeader;
        this.history.push(`${leading ? "gain" : "lose"} ${id} term ${s.term}`);
      });
      this.elections.set(id, election);
      this.nodes.set(
        id,
        await RaftNode.start({
          id,
          storage: new MemoryStorage(),
          bootstrap: { voters: IDS, learners: [] },
          stateMachine: {
            apply: () => null,
            snapshot: () => new Uint8Array(),
            restore: () => {},
          },
          send: (messages) => this.#deliver(messages),
          tickMs: 10,
          electionTicks: 6,
          clock: () => Date.now(),
          random,
          election,
        }),
      );
    }
  }

  #deliver(messages: Message[]): void {
    for (const m of messages) {
      if (this.isolated.has(m.from) || this.isolated.has(m.to)) continue;
      Promise.resolve().then(() => this.nodes.get(m.to)?.receive([m]));
    }
  }

  leaders(): NodeId[] {
    return IDS.filter((id) => this.elections.get(id)!.guard().isLeader());
  }

  /** Advances the fake clock until `done()` holds, checking the invariants at every step. */
  async runUntil(done: () => boolean, limitMs: number): Promise<void> {
    for (let elapsed = 0; elapsed <= limitMs; elapsed += STEP_MS) {
      this.#checkInvariants();
      if (done()) return;
      mock.timers.tick(STEP_MS);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    assert.fail(`Expected the condition within ${limitMs} ms of fake time`);
  }

  #checkInvariants(): void {
    const leaders = this.leaders();
    assert.ok(leaders.length <= 1, `two guards lead at once: ${leaders}`);
    for (const id of IDS) {
      const guard = this.elections.get(id)!.guard();
      const node = this.nodes.get(id)!;
      assert.equal(
        guard.isLeader(),
        node.isLeader(),
        `node ${id}: guard and node disagree`,
      );
      if (guard.isLeader()) {
        assert.equal(node.status().role, "leader");
        assert.equal(guard.term, node.status().term);
      }
    }
  }

  async stop(): Promise<void> {
    for (const node of this.nodes.values()) {
      const stopped = node.stop({ transfer: false });
      mock.timers.tick(STEP_MS);
      await stopped;
    }
  }
}

describe("LeaderElection wired to RaftNode", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"] }));
  afterEach(() => mock.timers.reset());

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`leads only with the Raft leader's lease; a cut-off leader lets go before another leads (seed ${seed})`, async () => {
      const cluster = new Cluster();
      await cluster.start(seed);
      try {
        await cluster.runUntil(() => cluster.leaders().length === 1, 5_000);
        const [first] = cluster.leaders();
        const firstGuard = cluster.elections.get(first)!.guard();
        const firstSignal = firstGuard.signal;
        const firstTerm = firstGuard.term;

        cluster.isolated.add(first);
        await cluster.runUntil(
          () =>
            cluster.leaders().length === 1 && cluster.leaders()[0] !== first,
          5_000,
        );
        assert.equal(firstSignal.aborted, true);
        const second = cluster.leaders()[0];
        assert.ok(cluster.elections.get(second)!.guard().term > firstTerm);
        const lost = cluster.history.indexOf(`lose ${first} term ${firstTerm}`);
        const gained = cluster.history.findIndex((h) =>
          h.startsWith(`gain ${second}`)
        );
        assert.ok(lost !== -1 && lost < gained, cluster.history.join(", "));

        cluster.isolated.clear();
        const secondTerm = cluster.elections.get(second)!.guard().term;
        await cluster.runUntil(() => firstGuard.term >= secondTerm, 5_000);
        assert.notEqual(firstGuard.currentRole(), "leader");
        assert.equal(firstGuard.isLeader(), false);
      } finally {
        await cluster.stop();
      }
    });
  }
});
