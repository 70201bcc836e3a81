/**
 * Real `RaftNode`s in one process, each with a `ShardRuntime`, on fake time
 * (`mock.timers` drives the timers, `clock` moves with them). Every batch a
 * node sends is encoded and decoded with the transport's codec, so the
 * shard bytes travel as they do on the wire. At every step of
 * {@linkcode ShardCluster.advance} the cluster checks that no shard is held
 * by two processes (stopped ones included: a dead process's grant runs on
 * in its holder's count, which is what the others must wait out).
 */
import { mock } from "node:test";
import type { NodeId } from "../../common/leadership.ts";
import type { Logger } from "../../common/log.ts";
import { type ShardingOptions, ShardRuntime } from "../../operator/_shards.ts";
import { decodeMessages, encodeMessages } from "../../raft/_codec.ts";
import { KeyValueStore } from "../../raft/kv.ts";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import { RaftNode } from "../../raft/node.ts";
import type { Message } from "../../raft/types.ts";
import { Links } from "../../testing/raft/network.ts";
import { seeded } from "../../testing/raft/random.ts";

/** A durable storage in memory (as if it were on disk). */
class DurableMemory extends MemoryStorage {
  override readonly durable: boolean = true;
}

/** One replica: its node, its runtime, whether it runs. */
export interface ShardMember {
  id: NodeId;
  node: RaftNode;
  runtime: ShardRuntime;
  store: KeyValueStore;
  running: boolean;
}

/** Lets promise chains (the nodes' loops) run to rest. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Collects log lines (for tests that check what is logged). */
export class LogLines implements Logger {
  readonly lines: { level: string; message: string; fields: object }[] = [];
  debug(message: string, fields: object = {}): void {
    this.lines.push({ level: "debug", message, fields });
  }
  info(message: string, fields: object = {}): void {
    this.lines.push({ level: "info", message, fields });
  }
  warn(message: string, fields: object = {}): void {
    this.lines.push({ level: "warn", message, fields });
  }
  error(message: string, fields: object = {}): void {
    this.lines.push({ level: "error", message, fields });
  }
}

/** Options of {@linkcode ShardCluster}. */
export interface ClusterOptions extends ShardingOptions {
  /** The initial voters (default `[0, 1, 2]`). */
  voters?: NodeId[];
  /** Where every runtime logs. */
  logger?: Logger;
  /**
   * Real timers and `performance.now` instead of `mock.timers` (for tests
   * that talk to a real API server); then wait with
   * {@linkcode ShardCluster.waitFor}.
   */
  realTime?: boolean;
}

/** Replicas with sharding on fake time; see the module comment. */
export class ShardCluster {
  /** The replicas, by id. */
  readonly members: Map<NodeId, ShardMember> = new Map();
  /** Cut links drop their messages. */
  readonly links: Links = new Links();
  /** The fake clock, ms. */
  now = 1000;
  /** Every change of who holds each shard: `[time, shard, holder or -1]`. */
  readonly changes: [number, number, NodeId][] = [];
  readonly clock: () => number;
  readonly #options: ClusterOptions & { voters: NodeId[] };
  readonly #holders = new Map<number, NodeId>();

  constructor(options: ClusterOptions = {}) {
    this.#options = { ...options, voters: options.voters ?? [0, 1, 2] };
    this.clock = options.realTime
      ? () => this.now = performance.now()
      : () => this.now;
  }

  /** Starts every voter. */
  async start(): Promise<void> {
    for (const id of this.#options.voters) await this.add(id);
  }

  /** Starts replica `id`. */
  async add(id: NodeId): Promise<ShardMember> {
    const runtime = new ShardRuntime({
      ...this.#options,
      id,
      clock: this.clock,
      session: 1000 + id + 100 * this.members.size,
      logger: this.#options.logger,
    });
    const store = new KeyValueStore();
    const node = await RaftNode.start({
      id,
      storage: new DurableMemory(),
      bootstrap: { voters: [...this.#options.voters], learners: [] },
      stateMachine: runtime.stateMachine(store),
      send: (messages) => {
        const bytes = encodeMessages(runtime.outgoing(messages));
        queueMicrotask(() => this.#deliver(decodeMessages(bytes)));
      },
      clock: this.clock,
      random: seeded(7000 + id),
    });
    runtime.attach(node);
    const member = { id, node, runtime, store, running: true };
    this.members.set(id, member);
    return member;
  }

  #deliver(messages: Message[]): void {
    for (const m of messages) {
      if (!this.links.canReach(m.from, m.to)) continue;
      const to = this.members.get(m.to);
      if (to === undefined || !to.running) continue;
      to.node.receive(to.runtime.incoming([m]));
    }
  }

  /** kill -9: the process stops at once, its holder keeps counting its grants. */
  async kill(id: NodeId): Promise<void> {
    const m = this.members.get(id)!;
    m.running = false;
    m.runtime.detach();
    const stopped = m.node.stop({ transfer: false });
    if (!this.#options.realTime) mock.timers.tick(1);
    await stopped;
  }

  /** The running member that leads under a lease, or `undefined`. */
  leader(): ShardMember | undefined {
    return [...this.members.values()].find((m) =>
      m.running && m.node.isLeader()
    );
  }

  /** Who holds `shard` now (every process, stopped ones included). */
  holdersOf(shard: number): NodeId[] {
    return [...this.members.values()].filter((m) =>
      m.runtime.holder.holds(shard, this.now)
    ).map((m) => m.id);
  }

  /** Throws when a shard is held by two processes at this instant; records changes. */
  check(): void {
    const shards = this.#options.shards ?? 256;
    for (let shard = 0; shard < shards; shard++) {
      const holders = this.holdersOf(shard);
      if (holders.length > 1) {
        throw new Error(
          `Expected at most one holder of shard ${shard} at ${this.now}, found ${holders}`,
        );
      }
      const holder = holders[0] ?? -1;
      if ((this.#holders.get(shard) ?? -1) !== holder) {
        this.#holders.set(shard, holder);
        this.changes.push([this.now, shard, holder]);
      }
    }
  }

  /** Moves fake time forward in steps of `step` ms, checking at every step. */
  async advance(ms: number, step = 5): Promise<void> {
    for (let t = 0; t < ms; t += step) {
      this.now += step;
      mock.timers.tick(step);
      await settle();
      this.check();
    }
  }

  /** Advances until `done()` holds; throws after `limitMs`. Returns the time it took. */
  async until(
    done: () => boolean,
    options: { limitMs: number; step?: number },
  ): Promise<number> {
    const start = this.now;
    while (!done()) {
      if (this.now - start > options.limitMs) {
        throw new Error(
          `Expected the condition within ${options.limitMs} ms of fake time, found it false`,
        );
      }
      await this.advance(options.step ?? 5, options.step ?? 5);
    }
    return this.now - start;
  }

  /**
   * Real time: checks at most every 5 ms until `done()` holds (the check
   * runs at every poll); throws after `limitMs`.
   */
  async waitFor(
    done: () => boolean,
    options: { limitMs: number },
  ): Promise<void> {
    const start = performance.now();
    while (true) {
      this.clock();
      this.check();
      if (done()) return;
      if (performance.now() - start > options.limitMs) {
        throw new Error(
          `Expected the condition within ${options.limitMs} ms, found it false`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * `true` when the replicas `members` applied the same assignment, planned
   * over them, and each shard is held by its owner (and no one else).
   */
  settled(members: readonly NodeId[]): boolean {
    const running = members.map((id) => this.members.get(id)!);
    const a = running[0]?.runtime.assignment;
    if (a == null) return false;
    const want = [...members].sort((x, y) => x - y);
    if (a.members.join() !== want.join()) return false;
    if (running.some((m) => m.runtime.assignment?.epoch !== a.epoch)) {
      return false;
    }
    return a.owners.every((owner, shard) =>
      owner !== null && this.holdersOf(shard).join() === String(owner)
    );
  }

  /** Stops every running node. */
  async stopAll(): Promise<void> {
    for (const m of this.members.values()) {
      if (m.running) await this.kill(m.id);
    }
  }
}
