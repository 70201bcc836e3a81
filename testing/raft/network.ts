/**
 * The test network of Raft messages: which links are cut
 * ({@linkcode Links}), and the simulator's faulty delivery
 * ({@linkcode RaftTestNetwork}): every message gets a delivery tick, may be
 * lost or duplicated, and is dropped at delivery when its link is cut.
 * Random delays reorder messages; partitions may be symmetric or one-way.
 *
 * @module
 */
import type { Message, NodeId } from "../../raft/types.ts";
import type { Prng } from "./random.ts";

/**
 * Which one-way links between nodes are cut.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Links } from "@k8s-operator/k8s-operator/testing";
 * const links = new Links();
 * links.partition([0], [1, 2]);
 * assert.equal(links.canReach(0, 1), false);
 * assert.equal(links.canReach(1, 2), true);
 * links.heal();
 * ```
 */
export class Links {
  #blocked = new Set<string>();

  /** `true` unless the link `from → to` is cut. */
  canReach(from: NodeId, to: NodeId): boolean {
    return !this.#blocked.has(`${from}>${to}`);
  }

  /** Cuts the one-way link `from → to`. */
  cut(from: NodeId, to: NodeId): void {
    this.#blocked.add(`${from}>${to}`);
  }

  /** Cuts every link between two groups, both ways. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cut(x, y);
        this.cut(y, x);
      }
    }
  }

  /** Cuts `id` off from every other node of `all`, both ways. */
  isolate(id: NodeId, all: readonly NodeId[]): void {
    this.partition([id], all.filter((other) => other !== id));
  }

  /** Restores every link. */
  heal(): void {
    this.#blocked.clear();
  }
}

/**
 * How unreliable the network is.
 *
 * @example
 * ```ts
 * import type { NetworkFaults } from "@k8s-operator/k8s-operator/testing";
 * const lossy: NetworkFaults = { loss: 0.05, duplicate: 0.01, minDelay: 1, maxDelay: 4 };
 * ```
 */
export interface NetworkFaults {
  /** Probability that a message is lost. */
  loss: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
  /** Smallest delay in ticks (at least 1). */
  minDelay: number;
  /** Largest delay in ticks. */
  maxDelay: number;
}

interface InFlight {
  deliverAt: number;
  seq: number;
  message: Message;
}

/**
 * Copies a message so no two nodes ever share a mutable object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Message } from "@k8s-operator/k8s-operator/raft";
 * import { cloneMessage } from "./network.ts";
 * const message: Message = {
 *   type: "append", from: 1, to: 2, term: 1, logTerm: 0, index: 0, commit: 0,
 *   entries: [{ term: 1, index: 1, type: "normal", data: new Uint8Array([7]) }],
 *   reject: false, rejectHint: 0, snapshot: null,
 * };
 * const copy = cloneMessage(message);
 * copy.entries[0].data[0] ^= 1;
 * assert.equal(message.entries[0].data[0], 7); // the original is untouched
 * ```
 */
export function cloneMessage(m: Message): Message {
  return {
    ...m,
    entries: m.entries.map((e) => ({ ...e, data: e.data.slice() })),
    snapshot: m.snapshot === null ? null : {
      metadata: {
        ...m.snapshot.metadata,
        conf: {
          voters: [...m.snapshot.metadata.conf.voters],
          learners: [...m.snapshot.metadata.conf.learners],
          incarnations: { ...m.snapshot.metadata.conf.incarnations },
        },
      },
      data: m.snapshot.data.slice(),
    },
  };
}

/**
 * Counters of what the network did.
 *
 * @example
 * ```ts
 * import type { NetworkStats, RaftTestNetwork } from "@k8s-operator/k8s-operator/testing";
 * const summary = (network: RaftTestNetwork) => {
 *   const { sent, delivered, lost, cut, duplicated }: NetworkStats = network.stats;
 *   return `${delivered}/${sent} delivered, ${lost} lost, ${cut} cut, ${duplicated} duplicated`;
 * };
 * ```
 */
export interface NetworkStats {
  /** Messages handed to the network. */
  sent: number;
  /** Messages handed to a node. */
  delivered: number;
  /** Messages lost at random. */
  lost: number;
  /** Messages dropped by a cut link. */
  cut: number;
  /** Extra copies delivered. */
  duplicated: number;
}

/**
 * Messages in flight between simulated nodes, delivered by tick with the
 * configured faults; the simulator's network.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Prng, RaftTestNetwork } from "@k8s-operator/k8s-operator/testing";
 * const network = new RaftTestNetwork(new Prng(1), { loss: 0.1, duplicate: 0, minDelay: 1, maxDelay: 3 });
 * network.links.partition([0], [1, 2]);
 * // network.send(message, now) when a node sends; network.due(now) each tick.
 * assert.equal(network.inFlight, 0);
 * ```
 */
export class RaftTestNetwork {
  /** The faults applied to messages sent from now on. */
  faults: NetworkFaults;
  /** What the network did so far. */
  readonly stats: NetworkStats = {
    sent: 0,
    delivered: 0,
    lost: 0,
    cut: 0,
    duplicated: 0,
  };
  /** The links: a message is dropped at delivery when its link is cut. */
  readonly links: Links = new Links();
  #prng: Prng;
  #queue: InFlight[] = [];
  #seq = 0;
  #longest = 0;

  /** A network whose random choices come from `prng`. */
  constructor(prng: Prng, faults: NetworkFaults) {
    this.#prng = prng;
    this.faults = faults;
  }

  /** Queues a message sent at tick `now`. */
  send(message: Message, now: number): void {
    this.stats.sent++;
    if (this.#prng.chance(this.faults.loss)) {
      this.stats.lost++;
      return;
    }
    this.#enqueue(cloneMessage(message), now);
    if (this.#prng.chance(this.faults.duplicate)) {
      this.stats.duplicated++;
      this.#enqueue(cloneMessage(message), now);
    }
  }

  #enqueue(message: Message, now: number): void {
    const { minDelay, maxDelay } = this.faults;
    const delay = this.#prng.range(Math.max(1, minDelay), maxDelay);
    this.#longest = Math.max(this.#longest, delay);
    this.#queue.push({ deliverAt: now + delay, seq: this.#seq++, message });
  }

  /** Removes and returns the messages due at `now`, oldest first; cut links drop theirs. */
  due(now: number): Message[] {
    const ready: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const item of this.#queue) {
      (item.deliverAt <= now ? ready : rest).push(item);
    }
    this.#queue = rest;
    ready.sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq);
    const out: Message[] = [];
    for (const { message } of ready) {
      if (this.links.canReach(message.from, message.to)) {
        this.stats.delivered++;
        out.push(message);
      } else {
        this.stats.cut++;
      }
    }
    return out;
  }

  /** The longest delay any message got so far, in ticks. */
  get longestDelay(): number {
    return this.#longest;
  }

  /** The number of messages in flight. */
  get inFlight(): number {
    return this.#queue.length;
  }
}
