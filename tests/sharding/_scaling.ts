/**
 * The scaling tests' common parts (`scaling_sharded_test.ts`, replicas in
 * this process; `scaling_process_deno_test.ts`, replicas as processes):
 * the StatefulSet the leader follows, and the checks on the records of
 * `_records.ts` and `_grants.ts`: every object converged, every shard on
 * the members that should hold it, and the shard moves of a scaling (who
 * held each shard when, which releases a leader took in, and for each
 * shard that passed to another replica whether it was handed over, the
 * leader having taken in the old holder's release before granting it
 * anew, or waited out).
 */
import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ResourceType } from "../../mod.ts";
import type { KubeClient } from "../../controller/mod.ts";
import { GrantIssuer } from "../../sharding/mod.ts";
import type { Replicas } from "../../testing/mod.ts";
import { configMaps } from "../controller/_server.ts";
import {
  assertGrantsDisjoint,
  type Interval,
  percentile,
  readAllGrants,
  type ReplicaGrants,
} from "./_grants.ts";
import type { Data, RecordOptions } from "./_records.ts";

/** The StatefulSets of `apps/v1`. */
export const statefulSets: ResourceType = {
  group: "apps",
  version: "v1",
  plural: "statefulsets",
  kind: "StatefulSet",
  namespaced: true,
};

/**
 * Creates the StatefulSet `name` in `default` with `replicas` (the
 * operator's own, which its leader follows), `podManagementPolicy:
 * Parallel` as `deploy/statefulset.yaml` has it.
 */
export async function createStatefulSet(
  client: KubeClient,
  options: { name: string; replicas: number },
): Promise<void> {
  const labels = { app: options.name };
  await client.create(statefulSets, {
    metadata: { name: options.name, namespace: "default" },
    spec: {
      replicas: options.replicas,
      serviceName: options.name,
      podManagementPolicy: "Parallel",
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: "operator", image: "operator:test" }] },
      },
    },
  } as never);
}

/** Sets the `spec.replicas` of the StatefulSet `name` in `default`. */
export async function scaleStatefulSet(
  client: KubeClient,
  options: { name: string; replicas: number },
): Promise<void> {
  await client.patch(statefulSets, options.name, {
    spec: { replicas: options.replicas },
  }, { namespace: "default" });
}

/** Who held each of `shards` shards at `at` (`-1`: no one). */
function holdersAt(
  grants: ReadonlyMap<number, ReplicaGrants>,
  options: { at: number; shards: number },
): number[] {
  const out = Array.from({ length: options.shards }, () => -1);
  for (const [node, g] of grants) {
    for (const [shard, list] of g.intervals) {
      if (list.some((i) => i.start <= options.at && options.at < i.end)) {
        out[shard] = node;
      }
    }
  }
  return out;
}

/**
 * Wraps `GrantIssuer.onRequest` so that every release a leader of this
 * process took in is recorded to `<name>.taken.jsonl` (`at`, `from`,
 * `released`); returns the undo. The runtime's issuers are instances of
 * this very class (one module).
 */
export function recordReleasesTakenIn(
  options: RecordOptions & { name: string },
): () => void {
  const { dir, wall, name } = options;
  const onRequest = GrantIssuer.prototype.onRequest;
  GrantIssuer.prototype.onRequest = function (request, o) {
    if (request.released.length > 0) {
      const line = {
        at: wall(o.now),
        from: request.from,
        released: request.released,
      };
      appendFileSync(
        join(dir, `${name}.taken.jsonl`),
        JSON.stringify(line) + "\n",
      );
    }
    return onRequest.call(this, request, o);
  };
  return () => {
    GrantIssuer.prototype.onRequest = onRequest;
  };
}

/** A release a leader took in: when, and from whom. */
interface TakenIn {
  at: number;
  from: number;
}

/** The releases leaders took in (every `*.taken.jsonl` of `dir`), by shard. */
async function readReleasesTakenIn(
  dir: string,
): Promise<Map<number, TakenIn[]>> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".taken.jsonl"));
  const out = new Map<number, TakenIn[]>();
  for (const file of files) {
    const text = await readFile(join(dir, file), "utf8");
    for (const line of text.split("\n").filter((l) => l !== "")) {
      const r = JSON.parse(line) as TakenIn & { released: number[] };
      for (const shard of r.released) {
        out.set(shard, [...out.get(shard) ?? [], { at: r.at, from: r.from }]);
      }
    }
  }
  return out;
}

/**
 * Whether some instant in `[from, to]` saw no replica hold any shard: a
 * renewal outage of the whole cluster, as when the leader stalls past the
 * grants' ends, or a new leader waits out every grant its predecessors
 * could have issued. The set of holders only shrinks at an interval's end,
 * so those instants are the ones to look at.
 */
function outage(
  grants: ReadonlyMap<number, ReplicaGrants>,
  options: { from: number; to: number; shards: number },
): boolean {
  const { from, to, shards } = options;
  const ends = [from];
  for (const g of grants.values()) {
    for (const list of g.intervals.values()) {
      for (const i of list) if (from <= i.end && i.end <= to) ends.push(i.end);
    }
  }
  return ends.some((at) =>
    holdersAt(grants, { at, shards }).every((h) => h === -1)
  );
}

/**
 * How long a replica's event loop must have run no timer for the test to
 * count it as stalled: two heartbeat intervals.
 */
const STALL_MS = 100;

/** The stalls replica `node` recorded (`recordStalls` of `_records.ts`). */
async function readStalls(dir: string, node: number): Promise<Interval[]> {
  const text = await readFile(join(dir, `${node}.stalls.jsonl`), "utf8")
    .catch(() => "");
  return text.split("\n").filter((l) => l !== "").map((l) => {
    const r = JSON.parse(l) as { from: number; to: number };
    return { start: r.from, end: r.to };
  });
}

/**
 * Whether, at some instant in `[from, to]`, the replica of `grants` held
 * no shard at all (no grant of it was renewed: not one shard's release
 * going astray) while its event loop was stalled for {@linkcode STALL_MS}
 * or more (it could not act: not a replica the leader stopped asking, as
 * one removed from the membership is, whose loop runs on). The instants
 * at which a replica comes to hold nothing are `from` and its intervals'
 * ends.
 */
function stalledBare(
  grants: ReplicaGrants | undefined,
  options: { stalls: readonly Interval[]; from: number; to: number },
): boolean {
  const held = [...grants?.intervals.values() ?? []].flat();
  return options.stalls.some((s) => {
    const lo = Math.max(s.start, options.from);
    const hi = Math.min(s.end, options.to);
    if (s.end - s.start < STALL_MS || lo > hi) return false;
    const at = [
      lo,
      ...held.map((i) => i.end).filter((e) => lo <= e && e <= hi),
    ];
    return at.some((x) => !held.some((i) => i.start <= x && x < i.end));
  });
}

/** A grant of a shard that passed to another replica. */
interface Move {
  shard: number;
  from: number;
  to: number;
  /** When the new grant began. */
  at: number;
  /** From the end of the old grant to the start of the new one. */
  gapMs: number;
  /** A leader took in the old holder's release before the new grant began. */
  handedOver: boolean;
  /** Not handed over, and the old grant lapsed in a whole-cluster outage. */
  inOutage: boolean;
  /**
   * Not handed over, nor in an outage, and the old holder was bare and
   * stalled (see {@linkcode stalledBare}) before the new grant.
   */
  inStall: boolean;
}

/**
 * Every grant of a shard that passed to another replica and began in
 * `[since, until]`, with the time the shard had no holder in between,
 * whether it was handed over (judged from the records, not from how long
 * the messages took) and, if not, whether the old grant lapsed in a
 * renewal outage of the whole cluster (see {@linkcode outage}) or while
 * its holder could not act (see {@linkcode stalledBare}), rather than
 * while it and the others were renewed.
 */
function moves(
  grants: ReadonlyMap<number, ReplicaGrants>,
  options: {
    releases: ReadonlyMap<number, TakenIn[]>;
    stalls: ReadonlyMap<number, Interval[]>;
    since: number;
    until: number;
    shards: number;
  },
): Move[] {
  const byShard = new Map<number, (Interval & { node: number })[]>();
  for (const [node, g] of grants) {
    for (const [shard, list] of g.intervals) {
      byShard.set(shard, [
        ...byShard.get(shard) ?? [],
        ...list.map((i) => ({ ...i, node })),
      ]);
    }
  }
  const { releases, stalls, since, until, shards } = options;
  const out = [];
  for (const [shard, list] of byShard) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1], list[i]];
      if (a.node === b.node || b.start < since || b.start > until) continue;
      const handedOver = (releases.get(shard) ?? []).some((r) =>
        r.from === a.node && a.start <= r.at && r.at <= b.start
      );
      const inOutage = !handedOver &&
        outage(grants, { from: a.end, to: b.start, shards });
      out.push({
        shard,
        from: a.node,
        to: b.node,
        at: b.start,
        gapMs: b.start - a.end,
        handedOver,
        inOutage,
        inStall: !handedOver && !inOutage &&
          stalledBare(grants.get(a.node), {
            stalls: stalls.get(a.node) ?? [],
            from: a.end,
            to: b.start,
          }),
      });
    }
  }
  return out;
}

/**
 * The round trips of a failover: a move in an outage or a stall
 * (`inOutage`, `inStall`) whose shard's next move gives it back to the
 * replica it passed from, both moves of each. Such a pair is the failover
 * of the stall and the return from it (a member unheard past
 * `memberTimeoutMs` is planned out, and in again once heard): it leaves
 * the shard where it was, and is no move of the scaling.
 */
function roundTrips(found: readonly Move[]): Set<Move> {
  const out = new Set<Move>();
  const byTime = [...found].sort((a, b) => a.at - b.at);
  for (const [i, m] of byTime.entries()) {
    if (!m.inOutage && !m.inStall) continue;
    const next = byTime.slice(i + 1).find((n) => n.shard === m.shard);
    if (next?.to === m.from) {
      out.add(m);
      out.add(next);
    }
  }
  return out;
}

/**
 * Reads the records in `dir` of the replicas `nodes`, asserts first that
 * no two replicas' grants of a shard overlap (`assertGrantsDisjoint`), and
 * checks the grants of a shard that passed to another replica and began in
 * `[since, until]`, one direction of a scaling 3 → 5 or 5 → 3, named
 * `what`: prints how many (against the ideal, 2 of every 5 shards) and
 * how long each shard had no holder, and asserts that at most 1.3 × the
 * ideal moved and that each was handed over, or else lapsed in an outage
 * of the whole cluster, or while its old holder was stalled and held
 * nothing: no handover is possible then (the grant ran out, released or
 * not, with no renewal to carry the release), and the shards pass on the
 * failover path. A shard waited out while its holder ran and the others'
 * grants were renewed is what a lost release looks like, and fails. Once
 * such a stall is proven in the window, its holder may have been dropped
 * as unheard (`memberTimeoutMs`) and its shards moved away and back: the
 * 1.3 × bound then counts only the moves to or from `scaling` (the
 * ordinals that join or leave), less the round trips of the failover (a
 * shard that passed away from its holder in the stall or outage and whose
 * next move gave it back: a joining pod starved past `memberTimeoutMs` is
 * planned out and in again, see {@linkcode roundTrips}), and the others
 * are printed.
 */
async function checkMoves(
  what: string,
  options: {
    dir: string;
    nodes: readonly number[];
    scaling: readonly number[];
    shards: number;
    since: number;
    until: number;
  },
): Promise<void> {
  const { dir, nodes, scaling, shards, since, until } = options;
  const grants = await readAllGrants(dir, nodes);
  // Safety first: a move that overlaps its old grant fails as the overlap
  // it is, not as a move that was not handed over.
  assertGrantsDisjoint(grants);
  const found = moves(grants, {
    releases: await readReleasesTakenIn(dir),
    stalls: new Map(
      await Promise.all(
        nodes.map(async (n) => [n, await readStalls(dir, n)] as const),
      ),
    ),
    since,
    until,
    shards,
  });
  const ideal = shards * 2 / 5;
  const gaps = found.map((m) => m.gapMs);
  console.log(
    `${what}: ${found.length} shards moved (ideal ${ideal}), unowned between holders p50 ${
      Math.round(percentile(gaps, 0.5))
    } ms, max ${Math.round(Math.max(...gaps))} ms`,
  );
  const lapsed = found.filter((m) => m.inOutage).length;
  const stalled = found.filter((m) => m.inStall).length;
  const trips = roundTrips(found);
  const counted = lapsed + stalled === 0
    ? found
    : found.filter((m) =>
      (scaling.includes(m.from) || scaling.includes(m.to)) && !trips.has(m)
    );
  if (lapsed + stalled > 0) {
    console.log(
      `${what}: ${lapsed} moved after every grant lapsed (an outage of the whole cluster), ${stalled} after their holder stalled bare; ${trips.size} moves in round trips back to such a holder; ${
        found.length - counted.length
      } moves not counted (the round trips, and the moves among the members that stay)`,
    );
  }
  assert.ok(
    counted.length <= 1.3 * ideal,
    `${what}: at most ${1.3 * ideal} shards moved, found ${counted.length}: ${
      JSON.stringify(counted)
    }`,
  );
  assert.ok(
    found.every((m) => m.handedOver || m.inOutage || m.inStall),
    `${what}: every moved shard handed over, not waited out while its holder ran and the others were renewed, found ${
      JSON.stringify(
        found.filter((m) => !m.handedOver && !m.inOutage && !m.inStall),
      )
    }`,
  );
}

/** What {@linkcode ScalingRecords} reads and waits with. */
export interface ScalingOptions {
  /** The replicas (their `waitFor`). */
  replicas: Replicas;
  /** The test's client. */
  client: KubeClient;
  /** Where the replicas record. */
  dir: string;
  /** The clock of the records. */
  wall: () => number;
  /** Every replica that may run. */
  nodes: readonly number[];
  /** The ordinals that join and leave. */
  scaling: readonly number[];
  /** The objects `site-0..objects-1`. */
  objects: number;
  /** The shard count. */
  shards: number;
}

/** The waits and checks of a scaling test, on its records. */
export class ScalingRecords {
  readonly #o: ScalingOptions;

  constructor(options: ScalingOptions) {
    this.#o = options;
  }

  /** Waits until every `out-site-N` says `v`. */
  async converged(v: string): Promise<void> {
    const { replicas, client, objects } = this.#o;
    await replicas.waitFor(`every object written at v${v}`, async () => {
      const list = await client.list<Data>(configMaps, {
        namespace: "default",
      });
      return list.items.filter((o) =>
        o.metadata.name?.startsWith("out-") && o.data?.v === v
      ).length === objects;
    });
  }

  /**
   * Waits until each shard is held by one of `members`, each holding its
   * share; returns when.
   */
  async settledOn(members: readonly number[]): Promise<number> {
    const { replicas, dir, wall, nodes, shards } = this.#o;
    const share = Math.floor(shards / members.length);
    return await replicas.waitFor(
      `every shard held by one of ${members}, each holding ${share} or more`,
      async () => {
        const now = wall();
        const holders = holdersAt(await readAllGrants(dir, nodes), {
          at: now,
          shards,
        });
        const counts = members.map((m) =>
          holders.filter((h) => h === m).length
        );
        return holders.every((h) => members.includes(h)) &&
          counts.every((c) => c >= share) && now;
      },
    );
  }

  /** See {@linkcode checkMoves}: one direction of the scaling. */
  checkMoves(
    what: string,
    window: { since: number; until: number },
  ): Promise<void> {
    const { dir, nodes, scaling, shards } = this.#o;
    return checkMoves(what, { dir, nodes, scaling, shards, ...window });
  }
}
