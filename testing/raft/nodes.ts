/**
 * Test support: three RaftNodes in one process wired to LeaderElections, on a
 * fake clock, with an in-memory network that can cut nodes off.
 *
 * @module
 */
import { mock } from "node:test";
import assert from "node:assert/strict";
import { LeaderElection } from "../../controller/mod.ts";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import { RaftNode } from "../../raft/node.ts";
import type { Message, NodeId } from "../../raft/types.ts";

/** mulberry32: a small seeded generator, so elections are reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The members of the test cluster. */
export const IDS: NodeId[] = [0, 1, 2];
/** Fake milliseconds per step of {@linkcode GuardedCluster.runUntil}. */
export const STEP_MS = 2;

/** A change of one guard's leadership, at a fake-clock time. */
export interface GuardChange {
  kind: "gain" | "lose";
  id: NodeId;
  term: number;
  at: number;
}

/**
 * Three RaftNodes in one process on a fake clock (`node:test` mock timers with
 * `Date`, enabled by the caller), each reporting into a LeaderElection.
 */
export class GuardedCluster {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly elections = new Map<NodeId, LeaderElection>();
  readonly isolated = new Set<NodeId>();
  /** Every change of a guard's leadership, in order. */
  readonly history: GuardChange[] = [];
  readonly #requireLease: boolean;

  constructor(options: { requireLease?: boolean } = {}) {
    this.#requireLease = options.requireLease ?? true;
  }

  async start(seed: number): Promise<void> {
    const random = seeded(seed);
    for (const id of IDS) {
      const election = new LeaderElection(id, {
        requireLease: this.#requireLease,
        now: () => Date.now(),
      });
      let leading = false;
      election.subscribe((s) => {
        if (s.isLeader === leading) return;
        leading = s.isLeader;
        this.history.push({
          kind: leading ? "gain" : "lose",
          id,
          term: s.term,
          at: Date.now(),
        });
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
