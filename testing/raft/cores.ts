/**
 * A cluster of pure Raft cores for scenario tests, in the manner of
 * etcd-io/raft's `network`: N cores, a memory storage and a toy state
 * machine each, and a message queue that the test delivers step by step.
 * Cut links ({@linkcode Links}) drop the messages sent over them; a filter
 * can drop any message. Nothing runs by itself: the test ticks and delivers.
 *
 * @module
 */
import { MemoryStorage } from "../../raft/memory_storage.ts";
import { RaftCore, type RaftCoreOptions } from "../../raft/core.ts";
import { encodeConfState } from "../../raft/conf_change.ts";
import type {
  ConfState,
  Entry,
  Message,
  NodeId,
  PersistedState,
  Snapshot,
} from "../../raft/types.ts";
import { Links } from "./network.ts";
import { seeded } from "./random.ts";

/**
 * The incarnation scenario tests give node `id`'s first storage.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testIncarnation } from "@k8s-operator/k8s-operator/testing";
 * assert.equal(testIncarnation(2), 1002);
 * ```
 */
export function testIncarnation(id: NodeId): number {
  return 1000 + id;
}

/**
 * `conf` with every voter's test incarnation: the membership of a cluster
 * whose nodes all still have their first storage.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withIncarnations } from "@k8s-operator/k8s-operator/testing";
 * assert.deepEqual(withIncarnations({ voters: [0, 1], learners: [] }).incarnations, { 0: 1000, 1: 1001 });
 * ```
 */
export function withIncarnations(conf: ConfState): ConfState {
  const incarnations: Record<NodeId, number> = {};
  for (const id of conf.voters) incarnations[id] = testIncarnation(id);
  return { voters: conf.voters, learners: conf.learners, incarnations };
}

/**
 * The first entry of a cluster with membership `conf` (index 1, term 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bootstrapEntry } from "@k8s-operator/k8s-operator/testing";
 * assert.equal(bootstrapEntry({ voters: [0, 1, 2], learners: [] }).type, "bootstrap");
 * ```
 */
export function bootstrapEntry(conf: ConfState): Entry {
  return {
    term: 0,
    index: 1,
    type: "bootstrap",
    data: encodeConfState(withIncarnations(conf)),
  };
}

/**
 * What a member of an existing cluster with membership `conf` loads: its
 * test incarnation and the committed bootstrap entry, then `entries`
 * (from index 2) and `hardState`.
 *
 * @example
 * ```ts
 * import { MemoryStorage } from "@k8s-operator/k8s-operator/raft";
 * import { memberState } from "@k8s-operator/k8s-operator/testing";
 * const storage = new MemoryStorage(memberState(1, { voters: [0, 1, 2], learners: [] }));
 * ```
 */
export function memberState(
  id: NodeId,
  conf: ConfState,
  more: { hardState?: PersistedState["hardState"]; entries?: Entry[] } = {},
): PersistedState {
  return {
    incarnation: testIncarnation(id),
    hardState: more.hardState ?? { term: 0, vote: null, commit: 1 },
    snapshot: null,
    entries: [bootstrapEntry(conf), ...more.entries ?? []],
  };
}

/**
 * Options for every core of a {@linkcode CoreCluster}.
 *
 * @example
 * ```ts
 * import type { CoreTuning } from "@k8s-operator/k8s-operator/testing";
 * const scripted: CoreTuning = { preVote: false, checkQuorum: false, maxEntriesPerAppend: 1 };
 * ```
 */
export type CoreTuning = Omit<
  RaftCoreOptions,
  "id" | "state" | "bootstrap" | "random"
>;

/**
 * Builds a core; tests pass a subclass to make deliberately broken cores.
 *
 * @example
 * ```ts
 * import { RaftCore } from "@k8s-operator/k8s-operator/raft";
 * import { CoreCluster, type CoreFactory } from "@k8s-operator/k8s-operator/testing";
 * const factory: CoreFactory = (options) => new RaftCore(options);
 * new CoreCluster({ voters: [1, 2, 3], factory });
 * ```
 */
export type CoreFactory = (options: RaftCoreOptions) => RaftCore;

/**
 * How to build a {@linkcode CoreCluster}.
 *
 * @example A fresh cluster whose first election is a bootstrap election
 * ```ts
 * import { CoreCluster, type CoreClusterOptions } from "@k8s-operator/k8s-operator/testing";
 * const options: CoreClusterOptions = { voters: [1, 2, 3], pristine: true, seed: 9 };
 * new CoreCluster(options);
 * ```
 */
export interface CoreClusterOptions {
  /** The voters at bootstrap (also the nodes started). */
  voters: NodeId[];
  /** Learners at bootstrap. */
  learners?: NodeId[];
  /** Extra nodes started with the same bootstrap but not in it (pristine). */
  extra?: NodeId[];
  /**
   * Start every node pristine (empty storage), so the first election is a
   * bootstrap election. Default `false`: the voters and learners start as
   * members of an existing cluster (the bootstrap entry committed, each with
   * its {@linkcode testIncarnation}).
   */
  pristine?: boolean;
  /** Seed of the cores' random sources (default 1). */
  seed?: number;
  /** Core options shared by all nodes. */
  tuning?: CoreTuning;
  /** Builds each core (default `new RaftCore`). */
  factory?: CoreFactory;
}

/**
 * A node's state machine in tests: the texts applied, in order.
 *
 * @example
 * ```ts
 * import { CoreCluster, type Machine } from "@k8s-operator/k8s-operator/testing";
 * const net = new CoreCluster({ voters: [1] });
 * const machine: Machine | undefined = net.machines.get(1);
 * ```
 */
export interface Machine {
  /** The index of the last entry applied. */
  applied: number;
  /** The texts of the normal entries applied, in order. */
  texts: string[];
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * N cores wired by a controllable message queue.
 *
 * @example Elect, replicate, partition
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoreCluster } from "@k8s-operator/k8s-operator/testing";
 * const net = new CoreCluster({ voters: [1, 2, 3] });
 * net.elect(1);
 * net.propose(1, "x");
 * net.deliver();
 * assert.deepEqual(net.appliedTexts(3), ["x"]);
 * net.isolate(1);
 * net.tick(30, [2, 3]);
 * net.deliver();
 * assert.equal(net.leaders().includes(1), true); // it has not noticed yet
 * ```
 */
export class CoreCluster {
  /** The running cores, by id. */
  readonly cores: Map<NodeId, RaftCore> = new Map();
  /** Each node's storage; it survives {@linkcode CoreCluster.stop}. */
  readonly storages: Map<NodeId, MemoryStorage> = new Map();
  /** Each node's state machine. */
  readonly machines: Map<NodeId, Machine> = new Map();
  /** Messages sent and not delivered yet. */
  queue: Message[] = [];
  /** Every message sent, for assertions. */
  readonly sent: Message[] = [];
  /** Return `false` to drop a message when it is sent. */
  filter: (m: Message) => boolean = () => true;
  /** The initial membership every core is started with. */
  readonly bootstrap: ConfState;
  /** The links: a message sent over a cut one is dropped. */
  readonly links: Links = new Links();
  readonly #tuning: CoreTuning;
  readonly #factory: CoreFactory;
  readonly #seed: number;
  #starts = 0;

  /** Starts the voters, learners and `extra` nodes. */
  constructor(options: CoreClusterOptions) {
    this.bootstrap = {
      voters: options.voters,
      learners: options.learners ?? [],
    };
    this.#tuning = options.tuning ?? {};
    this.#factory = options.factory ?? ((o) => new RaftCore(o));
    this.#seed = options.seed ?? 1;
    const members = [...options.voters, ...(options.learners ?? [])];
    if (!options.pristine) {
      for (const id of members) {
        this.storages.set(
          id,
          new MemoryStorage(memberState(id, this.bootstrap)),
        );
      }
    }
    for (const id of [...members, ...(options.extra ?? [])]) this.start(id);
  }

  /** Starts (or restarts) node `id` from what its storage holds. */
  start(id: NodeId, tuning?: CoreTuning): RaftCore {
    let storage = this.storages.get(id);
    if (storage === undefined) {
      storage = new MemoryStorage();
      this.storages.set(id, storage);
    }
    const state = storage.load();
    this.#starts++;
    const core = this.#factory({
      id,
      state,
      bootstrap: this.bootstrap,
      random: seeded(this.#seed * 1000 + id * 31 + this.#starts),
      ...this.#tuning,
      ...tuning,
    });
    this.cores.set(id, core);
    this.machines.set(id, { applied: 0, texts: [] });
    if (state.snapshot !== null) this.#restore(id, state.snapshot);
    return core;
  }

  /**
   * Node `id` loses its storage (a wiped volume, or a restart on memory
   * storage): it restarts pristine, with a new incarnation.
   */
  wipe(id: NodeId, tuning?: CoreTuning): RaftCore {
    this.stop(id);
    this.storages.set(id, new MemoryStorage());
    return this.start(id, tuning);
  }

  /** Stops node `id` (a crash: what it did not persist is lost). */
  stop(id: NodeId): void {
    this.cores.delete(id);
  }

  /** The core of node `id`. */
  core(id: NodeId): RaftCore {
    const core = this.cores.get(id);
    if (core === undefined) throw new Error(`no running node ${id}`);
    return core;
  }

  /** Drains every ready: persist, queue messages, apply, advance. */
  flush(): void {
    for (const [id, core] of this.cores) {
      while (core.hasReady()) {
        const ready = core.ready();
        this.storages.get(id)!.save(ready);
        for (const m of ready.messages) {
          this.sent.push(m);
          if (!this.links.canReach(m.from, m.to)) continue;
          if (!this.filter(m)) continue;
          this.queue.push(m);
        }
        const machine = this.machines.get(id)!;
        if (
          ready.snapshot !== null &&
          ready.snapshot.metadata.index > machine.applied
        ) this.#restore(id, ready.snapshot);
        for (const e of ready.committedEntries) {
          if (e.index !== machine.applied + 1) {
            throw new Error(
              `node ${id} applies ${e.index} after ${machine.applied}`,
            );
          }
          machine.applied = e.index;
          if (e.type === "normal") machine.texts.push(decoder.decode(e.data));
        }
        core.advance();
      }
    }
  }

  /**
   * Delivers the messages queued now (not the ones they cause); returns how
   * many were delivered.
   */
  deliverOnce(): number {
    this.flush();
    const batch = this.queue;
    this.queue = [];
    for (const m of batch) this.cores.get(m.to)?.step(m);
    this.flush();
    return batch.length;
  }

  /** Delivers until no message is left (at most `limit` rounds). */
  deliver(limit = 200): void {
    for (let i = 0; i < limit; i++) {
      if (this.deliverOnce() === 0) return;
    }
    throw new Error(`messages still flowing after ${limit} rounds`);
  }

  /** Takes the queued messages matching `pick` out of the queue. */
  take(pick: (m: Message) => boolean): Message[] {
    this.flush();
    const taken = this.queue.filter(pick);
    this.queue = this.queue.filter((m) => !pick(m));
    return taken;
  }

  /** Ticks `ids` (default: all running nodes) `n` times, without delivering. */
  tick(n = 1, ids?: NodeId[]): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids ?? [...this.cores.keys()]) {
        this.cores.get(id)?.tick();
      }
    }
    this.flush();
  }

  /** `n` times: tick all nodes once, then deliver everything. */
  run(n: number): void {
    for (let i = 0; i < n; i++) {
      this.tick(1);
      this.deliver();
    }
  }

  /** Node `id` campaigns and every message is delivered. */
  elect(id: NodeId): void {
    this.core(id).campaign();
    this.deliver();
  }

  /** Drops messages both ways between each node of `a` and each of `b`. */
  cut(a: NodeId[], b: NodeId[]): void {
    this.links.partition(a, b);
  }

  /** Isolates `id` from every other node. */
  isolate(id: NodeId): void {
    this.links.isolate(id, [...this.storages.keys()]);
  }

  /** Removes every partition. */
  heal(): void {
    this.links.heal();
  }

  /** Proposes `text` on node `id`; returns the index. */
  propose(id: NodeId, text: string): number {
    return this.core(id).propose(encoder.encode(text));
  }

  /** The texts of the normal entries node `id` applied. */
  appliedTexts(id: NodeId): string[] {
    return this.machines.get(id)?.texts ?? [];
  }

  /** Node `id` snapshots its state machine at its applied index. */
  compact(id: NodeId): number {
    const machine = this.machines.get(id)!;
    this.core(id).compact(
      machine.applied,
      encoder.encode(JSON.stringify(machine.texts)),
    );
    this.flush();
    return machine.applied;
  }

  /** The ids of running nodes that think they lead. */
  leaders(): NodeId[] {
    return [...this.cores]
      .filter(([, c]) => c.status().role === "leader")
      .map(([id]) => id);
  }

  #restore(id: NodeId, snapshot: Snapshot): void {
    this.machines.set(id, {
      applied: snapshot.metadata.index,
      texts: JSON.parse(decoder.decode(snapshot.data)),
    });
  }
}
