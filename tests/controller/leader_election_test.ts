import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import {
  InvalidLeadershipUpdateError,
  LeaderElection,
  leaderOnly,
  type LeadershipState,
  LeadershipTimeoutError,
} from "../../controller/mod.ts";
import { NotLeaderError, RaftError } from "../../raft/errors.ts";
import type { Role } from "../../raft/types.ts";

describe("LeaderElection without a lease", () => {
  it("starts as a follower in term 0 that is not leader", () => {
    const guard = new LeaderElection(4).guard();
    assert.equal(guard.isLeader(), false);
    assert.equal(guard.currentRole(), "follower");
    assert.equal(guard.term, 0);
    assert.equal(guard.nodeId, 4);
    assert.equal(guard.signal.aborted, true);
    assert.ok(guard.signal.reason instanceof NotLeaderError);
  });

  it("check() throws the raft NotLeaderError when not leader", () => {
    const election = new LeaderElection(1);
    election.setRole("candidate", 3);
    const guard = election.guard();
    assert.throws(() => guard.check(), (error: unknown) => {
      assert.ok(error instanceof NotLeaderError);
      assert.ok(error instanceof RaftError);
      assert.equal(error.leader, null);
      assert.match(error.message, /node 1 .*candidate in term 3/);
      return true;
    });
  });

  it("leads after setRole('leader') and check() returns the term as fencing token", () => {
    const election = new LeaderElection(0);
    const guard = election.guard();
    election.setRole("leader", 7);
    assert.equal(guard.isLeader(), true);
    assert.equal(guard.currentRole(), "leader");
    assert.equal(guard.term, 7);
    assert.equal(guard.check(), 7);
    assert.equal(guard.signal.aborted, false);
    assert.equal(election.guard(), guard);
  });

  it("names the known leader in NotLeaderError so callers can redirect", () => {
    const election = new LeaderElection(1);
    const guard = election.guard();
    assert.equal(guard.currentLeader(), null);
    election.setRole("follower", 3, { leader: 2 });
    assert.equal(guard.currentLeader(), 2);
    assert.throws(() => guard.check(), (error: unknown) => {
      assert.ok(error instanceof NotLeaderError);
      assert.equal(error.leader, 2);
      assert.match(error.message, /follower in term 3 with node 2 leading/);
      return true;
    });
    election.setRole("leader", 4);
    assert.equal(guard.currentLeader(), 1, "a leader knows itself");
    const signal = guard.signal;
    election.setRole("follower", 5, { leader: 0 });
    assert.equal((signal.reason as NotLeaderError).leader, 0);
    election.setRole("candidate", 6);
    assert.equal(guard.currentLeader(), null, "a new term forgets the leader");
    assert.throws(
      () => guard.check(),
      (e: unknown) => e instanceof NotLeaderError && e.leader === null,
    );
  });

  it("aborts the signal with NotLeaderError the moment leadership ends", () => {
    const election = new LeaderElection(0);
    const guard = election.guard();
    election.setRole("leader", 1);
    const signal = guard.signal;
    let abortedDuringSetRole = false;
    signal.addEventListener("abort", () => {
      abortedDuringSetRole = true;
    });
    election.setRole("follower", 2);
    assert.equal(abortedDuringSetRole, true);
    assert.ok(signal.reason instanceof NotLeaderError);
    assert.match(signal.reason.message, /follower in term 2/);
    assert.equal(guard.isLeader(), false);
  });

  it("hands out a fresh signal for each leadership term", () => {
    const election = new LeaderElection(0);
    const guard = election.guard();
    election.setRole("leader", 1);
    const first = guard.signal;
    assert.equal(guard.signal, first);
    election.setRole("follower", 2);
    election.setRole("leader", 3);
    const second = guard.signal;
    assert.notEqual(second, first);
    assert.equal(first.aborted, true);
    assert.equal(second.aborted, false);
  });

  it("ends the old leadership when a leader jumps to a new term", () => {
    const election = new LeaderElection(0);
    const guard = election.guard();
    election.setRole("leader", 1);
    const first = guard.signal;
    election.setRole("leader", 2);
    assert.equal(first.aborted, true);
    assert.match(first.reason.message, /still lead term 1, found term 2/);
    assert.equal(guard.signal.aborted, false);
    assert.equal(guard.check(), 2);
  });

  it("ends leadership when the leader steps down within its term", () => {
    const election = new LeaderElection(0);
    election.setRole("leader", 5);
    const signal = election.guard().signal;
    election.setRole("follower", 5);
    assert.equal(signal.aborted, true);
    assert.equal(election.guard().isLeader(), false);
    assert.equal(election.guard().term, 5);
  });

  it("rejects invalid updates with a clear error and keeps its state", () => {
    const election = new LeaderElection(0);
    election.setRole("leader", 4);
    const signal = election.guard().signal;
    const cases: Array<[unknown, unknown, RegExp]> = [
      ["king", 5, /Expected a role of .* found "king"/],
      ["leader", -1, /non-negative integer, found -1/],
      ["leader", 4.5, /non-negative integer, found 4.5/],
      ["follower", Number.NaN, /found NaN/],
      ["follower", 3, /Expected a term of at least 4, found 3/],
    ];
    for (const [role, term, message] of cases) {
      assert.throws(
        () => election.setRole(role as Role, term as number),
        (error: unknown) => {
          assert.ok(error instanceof InvalidLeadershipUpdateError);
          assert.match(error.message, message);
          return true;
        },
      );
    }
    assert.deepEqual(election.state(), {
      nodeId: 0,
      role: "leader",
      term: 4,
      isLeader: true,
      leader: 0,
    });
    assert.equal(signal.aborted, false);
  });

  it("rejects a malformed leader, or a leader role naming another node, and keeps its state", () => {
    const election = new LeaderElection(0);
    election.setRole("follower", 4, { leader: 2 });
    const cases: Array<[Role, unknown, RegExp]> = [
      [
        "follower",
        -1,
        /leader to be a non-negative integer node id or null, found -1/,
      ],
      ["follower", 1.5, /found 1.5/],
      ["leader", 2, /leader role to name this node 0 as leader, found 2/],
    ];
    for (const [role, leader, message] of cases) {
      assert.throws(
        () => election.setRole(role, 5, { leader: leader as number }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidLeadershipUpdateError);
          assert.match(error.message, message);
          return true;
        },
      );
    }
    assert.deepEqual(election.state(), {
      nodeId: 0,
      role: "follower",
      term: 4,
      isLeader: false,
      leader: 2,
    });
  });

  it("rejects a node id that is not a non-negative integer", () => {
    assert.throws(
      () => new LeaderElection(-2),
      /Expected the node id to be a non-negative integer, found -2/,
    );
  });
});

describe("LeaderElection.subscribe", () => {
  it("reports every change of role, term or leadership, and nothing else", () => {
    const election = new LeaderElection(2);
    const seen: LeadershipState[] = [];
    election.subscribe((state) => seen.push(state));
    election.setRole("preCandidate", 0);
    election.setRole("candidate", 1);
    election.setRole("candidate", 1);
    election.setRole("leader", 1);
    election.setRole("follower", 2);
    assert.deepEqual(seen.map((s) => [s.role, s.term, s.isLeader]), [
      ["preCandidate", 0, false],
      ["candidate", 1, false],
      ["leader", 1, true],
      ["follower", 2, false],
    ]);
    assert.ok(seen.every((s) => s.nodeId === 2));
  });

  it("reports a follower learning its leader within a term", () => {
    const election = new LeaderElection(2);
    const seen: LeadershipState[] = [];
    election.subscribe((state) => seen.push(state));
    election.setRole("follower", 3);
    election.setRole("follower", 3, { leader: 0 });
    election.setRole("follower", 3, { leader: 0 });
    assert.deepEqual(seen.map((s) => [s.role, s.term, s.leader]), [
      ["follower", 3, null],
      ["follower", 3, 0],
    ]);
  });

  it("stops calling a listener once it unsubscribed", () => {
    const election = new LeaderElection(0);
    let calls = 0;
    const off = election.subscribe(() => calls++);
    election.setRole("leader", 1);
    off();
    election.setRole("follower", 2);
    assert.equal(calls, 1);
  });

  it("keeps notifying the others when one listener throws", () => {
    const errors: unknown[] = [];
    const election = new LeaderElection(0, {
      onListenerError: (error) => errors.push(error),
    });
    const boom = new Error("listener failed");
    election.subscribe(() => {
      throw boom;
    });
    const seen: boolean[] = [];
    election.subscribe((s) => seen.push(s.isLeader));
    election.setRole("leader", 1);
    assert.deepEqual(seen, [true]);
    assert.deepEqual(errors, [boom]);
    assert.equal(election.guard().isLeader(), true);
  });
});

describe("LeaderGuard.waitForLeadership", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
  afterEach(() => mock.timers.reset());

  it("resolves at once with the term when already leader", async () => {
    const election = new LeaderElection(0);
    election.setRole("leader", 9);
    assert.equal(await election.guard().waitForLeadership(), 9);
  });

  it("resolves with the term when leadership comes later", async () => {
    const election = new LeaderElection(0);
    const waiting = election.guard().waitForLeadership({ timeout: 1000 });
    mock.timers.tick(500);
    election.setRole("leader", 3);
    assert.equal(await waiting, 3);
    mock.timers.tick(1000);
  });

  it("rejects with LeadershipTimeoutError when the timeout passes first", async () => {
    const election = new LeaderElection(6);
    election.setRole("follower", 2);
    const waiting = election.guard().waitForLeadership({ timeout: 250 });
    mock.timers.tick(249);
    election.setRole("candidate", 3);
    mock.timers.tick(1);
    await assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof LeadershipTimeoutError);
      assert.match(
        error.message,
        /node 6 to become leader within 250 ms, found it candidate in term 3/,
      );
      return true;
    });
    election.setRole("leader", 3);
  });

  it("rejects with the signal's reason when aborted", async () => {
    const election = new LeaderElection(0);
    const controller = new AbortController();
    const waiting = election.guard().waitForLeadership({
      signal: controller.signal,
    });
    const reason = new Error("shutting down");
    controller.abort(reason);
    await assert.rejects(waiting, (error) => error === reason);
    await assert.rejects(
      election.guard().waitForLeadership({ signal: controller.signal }),
      (error) => error === reason,
    );
  });

  it("rejects a negative or non-finite timeout", async () => {
    const guard = new LeaderElection(0).guard();
    await assert.rejects(
      guard.waitForLeadership({ timeout: -1 }),
      /Expected the timeout to be a non-negative number of milliseconds, found -1/,
    );
    await assert.rejects(
      guard.waitForLeadership({ timeout: Infinity }),
      RangeError,
    );
  });
});

describe("LeaderElection with a leader lease", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"] }));
  afterEach(() => mock.timers.reset());

  const leased = () =>
    new LeaderElection(0, { requireLease: true, now: () => Date.now() });

  it("does not lead as leader until a lease is granted", () => {
    const election = leased();
    election.setRole("leader", 1);
    assert.equal(election.guard().isLeader(), false);
    assert.throws(() => election.guard().check(), /without a valid lease/);
    election.renewLease(1000);
    assert.equal(election.guard().isLeader(), true);
    election.setRole("follower", 1);
  });

  it("aborts the signal the moment the lease runs out, role unchanged", () => {
    const election = leased();
    const seen: boolean[] = [];
    election.subscribe((s) => seen.push(s.isLeader));
    election.setRole("leader", 1);
    election.renewLease(1000);
    const signal = election.guard().signal;
    mock.timers.tick(999);
    assert.equal(signal.aborted, false);
    mock.timers.tick(1);
    assert.equal(signal.aborted, true);
    assert.ok(signal.reason instanceof NotLeaderError);
    assert.deepEqual(seen, [false, true, false]);
    assert.equal(election.guard().currentRole(), "leader");
    assert.equal(election.guard().isLeader(), false);
  });

  it("keeps leading while the lease is renewed in time", () => {
    const election = leased();
    election.setRole("leader", 2);
    election.renewLease(1000);
    const signal = election.guard().signal;
    for (let i = 0; i < 5; i++) {
      mock.timers.tick(600);
      election.renewLease(1000);
    }
    assert.equal(signal.aborted, false);
    assert.equal(election.guard().isLeader(), true);
    mock.timers.tick(1000);
    assert.equal(signal.aborted, true);
  });

  it("is not leader once the lease time passed, even before its timer ran", () => {
    let clock = 0;
    const election = new LeaderElection(0, {
      requireLease: true,
      now: () => clock,
    });
    election.setRole("leader", 1);
    election.renewLease(100);
    const signal = election.guard().signal;
    clock = 100;
    assert.equal(election.guard().isLeader(), false);
    assert.equal(signal.aborted, true);
    election.setRole("follower", 1);
  });

  it("gives a fresh signal when the lease is regained in the same term", () => {
    const election = leased();
    election.setRole("leader", 4);
    election.renewLease(100);
    const first = election.guard().signal;
    mock.timers.tick(100);
    election.renewLease(100);
    const second = election.guard().signal;
    assert.equal(first.aborted, true);
    assert.equal(second.aborted, false);
    assert.equal(election.guard().check(), 4);
    election.setRole("follower", 5);
    assert.equal(second.aborted, true);
  });

  it("ignores a lease renewal when not leader", () => {
    const election = leased();
    election.setRole("follower", 1);
    election.renewLease(1000);
    assert.equal(election.guard().isLeader(), false);
    election.setRole("leader", 2);
    assert.equal(election.guard().isLeader(), false);
  });

  it("rejects a negative lease duration", () => {
    const election = leased();
    assert.throws(
      () => election.renewLease(-5),
      InvalidLeadershipUpdateError,
    );
  });

  it("counts the lease from the clock reading it was measured at, so a pause before the call does not lengthen it", () => {
    const election = leased();
    election.setRole("leader", 1);
    election.renewLease(1000);
    const signal = election.guard().signal;
    const asOf = Date.now();
    mock.timers.tick(2000); // stopped between the reading and the call
    election.renewLease(200, { asOf });
    assert.equal(election.guard().isLeader(), false);
    assert.equal(signal.aborted, true);
    election.setRole("follower", 1);
  });

  it("counts a reading ahead of its clock as now, and ends the lease on time", () => {
    const election = leased();
    election.setRole("leader", 1);
    election.renewLease(200, { asOf: Date.now() + 5000 });
    mock.timers.tick(199);
    assert.equal(election.guard().isLeader(), true);
    const signal = election.guard().signal;
    mock.timers.tick(1); // the lease timer fires: nobody has to ask
    assert.equal(signal.aborted, true);
    election.setRole("follower", 1);
  });

  it("rejects a clock reading that is not a finite number, keeping the lease", () => {
    const election = leased();
    election.setRole("leader", 1);
    election.renewLease(500);
    for (const asOf of [NaN, Infinity, -Infinity]) {
      assert.throws(
        () => election.renewLease(100, { asOf }),
        /Expected the lease's clock reading to be a finite number of milliseconds, found/,
      );
    }
    mock.timers.tick(499);
    assert.equal(election.guard().isLeader(), true);
    election.setRole("follower", 1);
  });

  it("resolves waitForLeadership when the lease is granted, not at setRole", async () => {
    const election = leased();
    let resolvedTerm: number | null = null;
    const waiting = election.guard().waitForLeadership().then((t) => {
      resolvedTerm = t;
    });
    election.setRole("leader", 8);
    await Promise.resolve();
    assert.equal(resolvedTerm, null);
    election.renewLease(500);
    await waiting;
    assert.equal(resolvedTerm, 8);
    election.setRole("follower", 8);
  });
});

describe("leaderOnly", () => {
  it("throws NotLeaderError and does not call the function when not leader", () => {
    const election = new LeaderElection(0);
    let calls = 0;
    const wrapped = leaderOnly(election.guard(), () => calls++);
    assert.throws(() => wrapped(), NotLeaderError);
    assert.equal(calls, 0);
  });

  it("passes the leadership's signal, its term and the arguments", () => {
    const election = new LeaderElection(0);
    election.setRole("leader", 6);
    const wrapped = leaderOnly(
      election.guard(),
      (ctx, a: number, b: string) => ({ ctx, a, b }),
    );
    const result = wrapped(1, "x");
    assert.equal(result.ctx.signal, election.guard().signal);
    assert.equal(result.ctx.term, 6);
    assert.equal(result.a, 1);
    assert.equal(result.b, "x");
  });

  it("cancels work in flight when leadership is lost", async () => {
    const election = new LeaderElection(0);
    election.setRole("leader", 1);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const work = leaderOnly(election.guard(), async ({ signal }) => {
      await gate;
      signal.throwIfAborted();
      return "done";
    });
    const running = work();
    election.setRole("follower", 2);
    release();
    await assert.rejects(running, NotLeaderError);
  });
});
