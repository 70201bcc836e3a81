/**
 * The records of the fault process tests (`_sharded_writes_main.ts`): the
 * grant intervals each replica reports, the writes each replica reports,
 * and the writes the API server received; and the checks on them.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * How far apart two processes' readings of the system clock may be, each
 * read with `testing/raft/wall_clock.ts` (`performance.now()` anchored to
 * `Date.now()` as it turns over a millisecond: within about 1 ms; a
 * process's `performance.timeOrigin` alone can be off by 5 ms and more
 * under load). Only the matching of a write the API server received to the
 * attempt that sent it allows for it.
 */
export const CLOCK_SKEW_MS = 2;

/** A span of time on the system clock (ms). */
export interface Interval {
  start: number;
  end: number;
  /** Ended by a release: when its grant would have run out. */
  until?: number;
}

/** A write a replica tried. */
export interface ReplicaWrite {
  node: number;
  key: string;
  v: string;
  shard: number;
  /** Before the client was called (the fence check comes after). */
  t1: number;
  /** After the answer or the error. */
  t2: number;
  /** It succeeded. */
  ok: boolean;
  /** The fence refused to send it. */
  fenced?: boolean;
}

/** A write the API server received: `PATCH …/configmaps/out-<name>`. */
export interface ServerWrite {
  node: number;
  key: string;
  v: string;
  /** When the server's handler saw it. */
  at: number;
}

const WRITE =
  /\/namespaces\/default\/configmaps\/out-([^?/]+)\?.*fieldManager=r(\d+)-v([^&]*)/;

/**
 * The write of `out-<name>` a PATCH to `path` is (its field manager
 * `r<node>-v<v>` names writer and version, `_records.ts`), received `at`;
 * `null` for any other request.
 */
export function serverWriteOf(path: string, at: number): ServerWrite | null {
  const m = WRITE.exec(path);
  if (m === null) return null;
  return {
    node: Number(m[2]),
    key: `default/${m[1]}`,
    v: decodeURIComponent(m[3]),
    at,
  };
}

/** A replica's grant records, as `_sharded_writes_main.ts` writes them. */
type GrantLine =
  | { at: number; held: [number, number][] }
  | { at: number; released: number[] };

async function lines<T>(path: string): Promise<T[]> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** Every write the replicas `nodes` reported. */
export async function readWrites(
  dir: string,
  nodes: readonly number[],
): Promise<ReplicaWrite[]> {
  const all = await Promise.all(
    nodes.map((n) => lines<ReplicaWrite>(join(dir, `${n}.writes.jsonl`))),
  );
  return all.flat();
}

/** A replica's releases: shard → when (ascending). */
export type Releases = Map<number, number[]>;

/** The grant intervals of one replica, per shard, and its releases. */
export interface ReplicaGrants {
  intervals: Map<number, Interval[]>;
  releases: Releases;
}

/**
 * Replica `node`'s grant intervals per shard: a grant renewed before it
 * ended extends the interval; a release ends it at once.
 */
export async function readGrants(
  dir: string,
  node: number,
): Promise<ReplicaGrants> {
  const records = await lines<GrantLine>(join(dir, `${node}.grants.jsonl`));
  const intervals = new Map<number, Interval[]>();
  const releases: Releases = new Map();
  const open = new Map<number, Interval>();
  for (const r of records) {
    if ("released" in r) {
      for (const shard of r.released) {
        const cur = open.get(shard);
        if (cur !== undefined && r.at < cur.end) {
          cur.until = cur.end;
          cur.end = r.at;
        }
        open.delete(shard);
        releases.set(shard, [...releases.get(shard) ?? [], r.at]);
      }
      continue;
    }
    for (const [shard, until] of r.held) {
      const cur = open.get(shard);
      if (cur !== undefined && r.at < cur.end) {
        cur.end = Math.max(cur.end, until);
        continue;
      }
      const next = { start: r.at, end: until };
      open.set(shard, next);
      intervals.set(shard, [...intervals.get(shard) ?? [], next]);
    }
  }
  return { intervals, releases };
}

/** Every replica's grants, by node. */
export async function readAllGrants(
  dir: string,
  nodes: readonly number[],
): Promise<Map<number, ReplicaGrants>> {
  return new Map(
    await Promise.all(
      nodes.map(async (n) => [n, await readGrants(dir, n)] as const),
    ),
  );
}

/** Throws when two replicas' grant intervals of one shard overlap. */
export function assertGrantsDisjoint(
  grants: ReadonlyMap<number, ReplicaGrants>,
): void {
  const byShard = new Map<number, (Interval & { node: number })[]>();
  for (const [node, g] of grants) {
    for (const [shard, list] of g.intervals) {
      const all = byShard.get(shard) ?? [];
      for (const i of list) all.push({ ...i, node });
      byShard.set(shard, all);
    }
  }
  for (const [shard, list] of byShard) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1], list[i]];
      if (a.node === b.node) continue;
      assert.ok(
        a.end <= b.start,
        `shard ${shard}: node ${a.node}'s grant [${a.start}, ${a.end}] overlaps node ${b.node}'s [${b.start}, ${b.end}]`,
      );
    }
  }
}

/**
 * Throws unless every write the API server received was sent under a
 * grant of its writer for the object's shard. It is matched to its
 * writer's attempts of the same object and version that began (`t1`)
 * before it arrived and did not succeed before it arrived (one that did
 * was another request): its fence check came after the earliest such
 * `t1` and before it arrived, and one of the writer's grant intervals of
 * the shard must meet that window. A write with no such attempt (its
 * writer was killed before it recorded it) is allowed only of `killed`,
 * and must come after the start of one of the writer's grants of the
 * shard. With the grants disjoint (`assertGrantsDisjoint`), no object is
 * written by two replicas in overlapping grant intervals. The server's
 * and the writer's clock readings are compared allowing
 * {@linkcode CLOCK_SKEW_MS}.
 */
export function assertWritesFenced(
  server: readonly ServerWrite[],
  options: {
    replica: readonly ReplicaWrite[];
    grants: ReadonlyMap<number, ReplicaGrants>;
    shardOf: (key: string) => number;
    killed?: readonly number[];
  },
): void {
  for (const w of server) {
    const shard = options.shardOf(w.key);
    const held = options.grants.get(w.node)?.intervals.get(shard) ?? [];
    const attempts = options.replica.filter((r) =>
      r.node === w.node && r.key === w.key && r.v === w.v &&
      r.t1 <= w.at + CLOCK_SKEW_MS && !(r.ok && r.t2 + CLOCK_SKEW_MS < w.at) &&
      !r.fenced
    );
    const what = `${w.key} v${w.v} by node ${w.node} at ${w.at}`;
    if (attempts.length === 0) {
      assert.ok(
        options.killed?.includes(w.node),
        `${what}: the API server received it, its writer recorded no attempt that could have sent it`,
      );
      assert.ok(
        held.some((i) => i.start <= w.at + CLOCK_SKEW_MS),
        `${what}: its writer never held shard ${shard} before`,
      );
      continue;
    }
    const t1 = Math.min(...attempts.map((a) => a.t1));
    for (const a of attempts) assert.equal(a.shard, shard, `${what}: shard`);
    assert.ok(
      held.some((i) => i.start <= w.at + CLOCK_SKEW_MS && t1 < i.end),
      `${what}: sent in [${t1}, ${w.at}], when its writer held no grant of shard ${shard} (held: ${
        JSON.stringify(held)
      })`,
    );
  }
}

/**
 * The writes the API server received that their writer did not record (a
 * replica records a write after the answer; those of `killed` replicas may
 * have died with them): none may remain once the records are complete.
 */
export function unrecordedWrites(
  server: readonly ServerWrite[],
  options: { replica: readonly ReplicaWrite[]; killed?: readonly number[] },
): ServerWrite[] {
  return server.filter((w) =>
    !(options.killed ?? []).includes(w.node) &&
    !options.replica.some((r) =>
      r.node === w.node && r.key === w.key && r.v === w.v &&
      r.t1 <= w.at + CLOCK_SKEW_MS &&
      // A request the client gave up on (its signal aborted) may still
      // reach the server after the client recorded the error.
      (!r.ok || r.t2 + CLOCK_SKEW_MS >= w.at)
    )
  );
}

/**
 * For each shard `node` held at the moment it was cut off (`cutAt`: a
 * network cut, SIGSTOP, kill -9): how long after `cutAt` another
 * replica's grant of it started, 0 when another replica already held it
 * then (`Infinity`: none yet). When `node`'s grants had all run out before
 * `cutAt` (its renewals stalled on a loaded machine between the test's
 * choice of the moment and the fault), the shards of its last grant count
 * as the ones it held: they are the shards the fault must not leave
 * without a holder, and a grant of them to another replica before `cutAt`
 * was a takeover, of 0 ms after it. Counting only the shards held at
 * `cutAt` would find none and wait forever.
 */
export function takenOverAtCut(
  grants: ReadonlyMap<number, ReplicaGrants>,
  node: number,
  cutAt: number,
): Map<number, number> {
  const mine = [...grants.get(node)?.intervals ?? []].flatMap((
    [shard, list],
  ) => list.filter((i) => i.start <= cutAt).map((i) => ({ shard, ...i })));
  const lastEnd = Math.max(...mine.map((i) => i.end));
  // Held at the cut; or else ended with its last grant (one grant message
  // gives every shard it grants the same end).
  const since = lastEnd > cutAt ? cutAt : lastEnd - 1;
  const out = new Map<number, number>();
  for (const { shard } of mine.filter((i) => i.end > since)) {
    let first = Infinity;
    for (const [other, g] of grants) {
      if (other === node) continue;
      for (const i of g.intervals.get(shard) ?? []) {
        if (i.end > cutAt) {
          first = Math.min(first, Math.max(0, i.start - cutAt));
        }
      }
    }
    out.set(shard, first);
  }
  return out;
}

/**
 * Handovers of `node`'s shards released after `since`: per shard, from
 * the release to the next start of another replica's grant of it
 * (`Infinity`: none yet).
 */
export function handovers(
  grants: ReadonlyMap<number, ReplicaGrants>,
  node: number,
  since: number,
): Map<number, number> {
  const out = new Map<number, number>();
  for (const [shard, times] of grants.get(node)?.releases ?? []) {
    const released = times.find((t) => t >= since);
    if (released === undefined) continue;
    const held = (grants.get(node)?.intervals.get(shard) ?? []).some((i) =>
      i.start <= released && released <= i.end
    );
    if (!held) continue;
    let first = Infinity;
    for (const [other, g] of grants) {
      if (other === node) continue;
      for (const i of g.intervals.get(shard) ?? []) {
        if (i.start >= released) first = Math.min(first, i.start - released);
      }
    }
    out.set(shard, first);
  }
  return out;
}

/** `p`-th percentile (nearest rank) of finite values, `NaN` for none. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}
