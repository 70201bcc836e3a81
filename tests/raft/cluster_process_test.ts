/**
 * Raft with real processes: 3 and 5 OS processes on loopback, killed,
 * stopped, restarted and terminated. Nothing sleeps: every wait is for an
 * event, with a deadline.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  EVENT_TIMEOUT_MS,
  ProcessCluster,
} from "../../testing/raft/processes.ts";
import type { NodeEvent } from "../../testing/raft/processes.ts";

type Interval = { id: number; start: number; end: number };

function assertNoOverlap(intervals: Interval[]): void {
  for (const a of intervals) {
    for (const b of intervals) {
      if (a === b) continue;
      assert.ok(
        a.end < b.start || b.end < a.start,
        `guard intervals overlap: node ${a.id} [${a.start}, ${a.end}] and node ${b.id} [${b.start}, ${b.end}]`,
      );
    }
  }
}

function openIntervals(c: ProcessCluster): Interval[] {
  return c.guardIntervals().filter((i) => i.end === Infinity);
}

/**
 * Waits until exactly one guard says leader (a guard event after event
 * number `since`, when given) and returns that node; fails at once if two
 * guards are ever open together.
 */
async function soleLeader(c: ProcessCluster, since?: number): Promise<number> {
  if (since !== undefined) await c.waitForLeader(since);
  while (true) {
    const open = openIntervals(c);
    assert.ok(
      open.length <= 1,
      `more than one guard says leader: ${JSON.stringify(open)}`,
    );
    if (open.length === 1) return open[0].id;
    await c.waitFor((e) => e.event === "guard", { since: c.events.length });
  }
}

/**
 * Runs a command on the current leader, again on whoever leads next when a
 * node answers NotLeaderError (a lease can lapse on a starved machine).
 */
async function onLeader(
  c: ProcessCluster,
  cmd: Record<string, unknown>,
  timeoutMs = 30_000,
): Promise<NodeEvent> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    const leader = await soleLeader(c);
    const r = await c.procs.get(leader)!.command(cmd, timeoutMs);
    if (r.error !== "NotLeaderError" || performance.now() > deadline) return r;
    await c.waitFor((e) => e.event === "guard" && e.leader === true, {
      since: c.events.length,
    });
  }
}

function termOf(e: NodeEvent): number {
  return e.term as number;
}

describe("three Raft processes on loopback", () => {
  let c: ProcessCluster;
  before(async () => {
    c = await ProcessCluster.create({ voters: [0, 1, 2] });
  });
  after(async () => {
    await c.close();
  });

  it("start all at once from empty storage with exactly one leader", async () => {
    for (const id of [0, 1, 2]) c.start(id);
    await soleLeader(c);
    assert.equal(
      (await onLeader(c, { op: "put", key: "boot", value: "ok" })).ok,
      true,
    );
    assertNoOverlap(c.guardIntervals());
  });

  it("keep committed writes across repeated kill -9 of the leader", async () => {
    const written: string[] = [];
    for (let round = 0; round < 3; round++) {
      const since = c.events.length;
      const key = `k${round}`;
      const r = await onLeader(c, { op: "put", key, value: `v${round}` });
      assert.equal(r.ok, true);
      const leader = r.id;
      written.push(key);
      await c.kill(leader);
      const next = await soleLeader(c, since);
      assert.notEqual(next, leader);
      c.start(leader);
      await c.procs.get(leader)!.waitFor((e) =>
        e.event === "role" && e.leader !== null
      );
    }
    for (const [i, key] of written.entries()) {
      const r = await onLeader(c, { op: "get", key });
      assert.equal(r.value, `v${i}`);
    }
    assertNoOverlap(c.guardIntervals());
  });

  it("never let two guards say leader at once when the leader is SIGSTOPped and resumed", async () => {
    const old = await soleLeader(c);
    const since = c.events.length;
    const p = c.procs.get(old)!;
    const stoppedStart = openIntervals(c)[0].start;
    // Lines the process wrote just before it stopped may still be on their
    // way (on a starved machine its lease can lapse right then), so the
    // waits below look at everything it wrote from the stop on.
    const sinceStop = p.events.length;
    p.signal("SIGSTOP");
    const next = await c.waitFor(
      (e) => e.event === "guard" && e.leader === true && e.id !== old,
      { since },
    );
    p.signal("SIGCONT");
    await p.waitFor(
      (e) =>
        e.event === "guard" && e.leader === false && e.start === stoppedStart,
      EVENT_TIMEOUT_MS,
      sinceStop,
    );
    await p.waitFor(
      (e) => e.event === "role" && e.role === "follower",
      EVENT_TIMEOUT_MS,
      sinceStop,
    );
    const intervals = c.guardIntervals();
    const stopped = intervals.find((i) =>
      i.id === old && i.start === stoppedStart
    )!;
    assert.ok(
      stopped.end < (next.start as number),
      `the stopped leader's guard [${stopped.start}, ${stopped.end}] ended before the new one began at ${next.start}`,
    );
    assertNoOverlap(intervals);
  });

  it("rejoin a restarted node from its files without a new election", async () => {
    const leader = await soleLeader(c);
    const term = termOf(
      await c.procs.get(leader)!.command({ op: "status" }).then((r) =>
        r.status as NodeEvent
      ),
    );
    const follower = [0, 1, 2].find((id) => id !== leader)!;
    await c.kill(follower);
    const p = c.start(follower);
    const joined = await p.waitFor((e) =>
      e.event === "role" && e.leader !== null
    );
    assert.equal(joined.role, "follower");
    assert.ok((joined.term as number) >= term);
    // It resumed from its files (its term is not 0) and followed the leader
    // it found without ever campaigning, so it started no election. (With
    // one node down, a starved machine can still cost the leader its
    // quorum; that election is not the restarted node's.)
    const listening = await p.waitFor((e) => e.event === "listening");
    assert.ok((listening.term as number) > 0, "it loaded its term from disk");
    // A pre-vote is no election: it moves no term and deposes no one. On a
    // starved machine the leader's first heartbeat can come after the
    // restarted node's election timeout, so a pre-vote may be seen; a
    // candidacy (a new term) may not.
    const own = p.events.filter((e) => e.event === "role");
    assert.ok(
      own.every((e) => e.role === "follower" || e.role === "preCandidate"),
      `the restarted node never campaigned: ${JSON.stringify(own)}`,
    );
  });

  it("hand leadership over on SIGTERM before the leader exits", async () => {
    const leader = await soleLeader(c);
    const p = c.procs.get(leader)!;
    const since = c.events.length;
    p.signal("SIGTERM");
    const stopped = await p.waitFor((e) => e.event === "stopped");
    assert.equal(stopped.wasLeader, true);
    const next = await c.waitFor(
      (e) => e.event === "guard" && e.leader === true && e.id !== leader,
      { since },
    );
    // The old leader heard from a new one before it stopped. (Comparing the
    // new leader's own role event with "stopped" is no proof either way: it
    // prints that event only after writing its first entry, which a loaded
    // machine can delay past the old leader's exit.)
    assert.equal(
      typeof stopped.handedTo,
      "number",
      "a new leader was elected before the old one stopped",
    );
    assert.notEqual(stopped.handedTo, leader);
    await c.waitFor(
      (e) =>
        e.event === "role" && e.role === "leader" && e.id === stopped.handedTo,
      { since },
    );
    assert.equal(await p.exited, 0);
    c.procs.delete(leader);
    assertNoOverlap(c.guardIntervals());
    c.start(leader);
    await c.procs.get(leader)!.waitFor((e) =>
      e.event === "role" && e.leader === next.id
    );
  });

  it("restart each node in turn with exactly one leader every time", async () => {
    for (const id of [0, 1, 2]) {
      await soleLeader(c);
      await c.kill(id);
      const p = c.start(id);
      await p.waitFor((e) => e.event === "role" && e.leader !== null);
      await soleLeader(c);
    }
    assertNoOverlap(c.guardIntervals());
  });
});

describe("three Raft processes on files, one of which loses its volume", () => {
  it("keep a committed write when a member that helped commit it loses its volume while the leader is down", async () => {
    const c = await ProcessCluster.create({ voters: [0, 1, 2] });
    try {
      for (const id of [0, 1, 2]) c.start(id);
      const leader = await soleLeader(c);
      const [behind, wiped] = [0, 1, 2].filter((id) => id !== leader);
      // `behind` is stopped: the write is committed by the leader and `wiped`.
      c.procs.get(behind)!.signal("SIGSTOP");
      const put = await c.procs.get(leader)!.command({
        op: "put",
        key: "k",
        value: "committed",
      });
      assert.equal(put.ok, true, JSON.stringify(put));
      // `wiped` loses its volume; the leader dies; `behind` resumes.
      await c.kill(wiped);
      await c.wipe(wiped);
      await c.kill(leader);
      const since = c.events.length;
      c.procs.get(behind)!.signal("SIGCONT");
      c.start(wiped);
      // Without the leader's files nobody may lead: `behind` lacks the write
      // and `wiped`, a new member, counts for nothing. Watch for as long as
      // several elections would take.
      const early = await c.waitFor(
        (e) => e.event === "guard" && e.leader === true,
        { since, timeoutMs: 3000 },
      ).catch(() => null);
      assert.equal(
        early,
        null,
        `${JSON.stringify(early)} led without the write`,
      );
      c.start(leader);
      const got = await onLeader(c, { op: "get", key: "k" });
      assert.equal(got.value, "committed", JSON.stringify(got));
      assertNoOverlap(c.guardIntervals());
    } finally {
      await c.close();
    }
  });
});

describe("five Raft processes on loopback", () => {
  it("grow from 3 to 5 voters through the leader, fail over, and shrink back to 3", async () => {
    const c = await ProcessCluster.create({ voters: [0, 1, 2] });
    try {
      for (const id of [0, 1, 2]) c.start(id);
      let leader = await soleLeader(c);
      // New pods know the same initial membership and are not part of it:
      // they wait to be added and never lead on their own.
      c.start(3);
      c.start(4);
      await c.procs.get(3)!.waitFor((e) => e.event === "listening");
      await c.procs.get(4)!.waitFor((e) => e.event === "listening");
      assert.ok(
        !c.events.some((e) =>
          e.id >= 3 && e.event === "role" && e.role !== "follower"
        ),
        "a pod outside the membership never campaigns",
      );
      const grown = await onLeader(c, {
        op: "members",
        voters: [0, 1, 2, 3, 4],
      });
      const conf = grown.conf as { voters: number[]; learners: number[] };
      // Learners are promoted in the order they catch up.
      assert.deepEqual(
        { voters: [...conf.voters].sort(), learners: conf.learners },
        { voters: [0, 1, 2, 3, 4], learners: [] },
        JSON.stringify(grown),
      );
      leader = (await onLeader(c, { op: "put", key: "five", value: "yes" })).id;
      const since = c.events.length;
      await c.kill(leader);
      leader = await soleLeader(c, since);
      assert.equal(
        (await onLeader(c, { op: "get", key: "five" })).value,
        "yes",
      );
      c.start([0, 1, 2, 3, 4].find((id) => !c.procs.has(id))!);
      const shrunk = await onLeader(c, { op: "members", voters: [0, 1, 2] });
      assert.ok(
        shrunk.error === undefined,
        `shrinking failed: ${JSON.stringify(shrunk)}`,
      );
      const final = await c.waitFor(
        (e) =>
          e.event === "guard" && e.leader === true && (e.id as number) <= 2,
        { since },
      );
      const status = (await c.procs.get(final.id)!.command({ op: "status" }))
        .status as {
          conf: { voters: number[] };
        };
      assert.deepEqual(status.conf.voters, [0, 1, 2]);
      assertNoOverlap(c.guardIntervals());
    } finally {
      await c.close();
    }
  });
});
