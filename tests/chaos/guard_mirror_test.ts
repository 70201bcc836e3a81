import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LeaderElection, type Role } from "../../controller/mod.ts";
import { below, seeded } from "../../testing/raft/random.ts";
import { GuardMirror, GuardRecorder } from "./_guard_mirror.ts";
import { checkOneLeader, type GuardInterval } from "./_invariants.ts";

const ROLES: Role[] = ["follower", "preCandidate", "candidate", "leader"];

describe("GuardMirror", () => {
  it("agrees with the guard after every report and clock step (seeded)", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const random = seeded(seed);
      let clock = 0;
      const election = new LeaderElection(0, {
        requireLease: true,
        now: () => clock,
      });
      const mirror = new GuardMirror(election, { now: () => clock });
      let term = 0;
      for (let step = 0; step < 300; step++) {
        const roll = below(random, 10);
        if (roll < 3) {
          term += below(random, 3) === 0 ? 1 : 0;
          const role = ROLES[below(random, 4)];
          election.setRole(role, term);
        } else if (roll < 7) {
          const ms = below(random, 4) === 0 ? 0 : below(random, 300);
          // Measured at an earlier reading (a pause in between), or later.
          const asOf = clock + below(random, 400) - 300;
          election.renewLease(
            ms,
            below(random, 2) === 0 ? undefined : { asOf },
          );
        } else {
          // Never exactly on a lease's end: the two reads of the clock may
          // differ by a tick there.
          clock += 1 + below(random, 120) + 0.5;
        }
        const seen = mirror.sample();
        assert.equal(
          seen.leading,
          election.guard().isLeader(),
          `seed ${seed} step ${step}`,
        );
        assert.equal(seen.term, election.guard().term);
        assert.equal(seen.role, election.guard().currentRole());
      }
      election.setRole("follower", term); // clears the lease timer
    }
  });

  it("does not end leadership itself when the lease has run out, where isLeader() does", () => {
    let clock = 0;
    const election = new LeaderElection(0, {
      requireLease: true,
      now: () => clock,
    });
    const mirror = new GuardMirror(election, { now: () => clock });
    election.setRole("leader", 1);
    election.renewLease(100);
    const signal = election.guard().signal;
    assert.equal(signal.aborted, false);
    clock = 150; // the lease timer has not fired yet: nobody noticed
    assert.equal(mirror.sample().leading, false);
    assert.equal(signal.aborted, false, "the mirror fenced nothing");
    assert.equal(election.guard().isLeader(), false);
    assert.equal(signal.aborted, true, "isLeader() fenced the term");
  });

  it("reads the lease left, negative once it ran out", () => {
    let clock = 1_000;
    const election = new LeaderElection(0, {
      requireLease: true,
      now: () => clock,
    });
    const mirror = new GuardMirror(election, { now: () => clock });
    election.setRole("leader", 1);
    assert.equal(mirror.sample().leaseLeftMs, -Infinity);
    election.renewLease(200);
    clock += 50;
    assert.deepEqual(mirror.sample(), {
      at: 1_050,
      leading: true,
      term: 1,
      role: "leader",
      leaseLeftMs: 150,
    });
    clock += 180;
    const late = mirror.sample();
    assert.equal(late.leading, false);
    assert.equal(late.leaseLeftMs, -30);
    assert.equal(election.guard().signal.aborted, true);
    election.setRole("follower", 1);
  });

  it("counts a lease from the reading the node measured it at, as the guard does", () => {
    let clock = 1_000;
    const election = new LeaderElection(0, {
      requireLease: true,
      now: () => clock,
    });
    const mirror = new GuardMirror(election, { now: () => clock });
    election.setRole("leader", 1);
    const asOf = clock;
    clock += 2_000; // stopped between the node's reading and this call
    election.renewLease(150, { asOf });
    assert.equal(mirror.sample().leading, false);
    assert.equal(election.guard().isLeader(), false);
    election.setRole("follower", 1);
  });
});

describe("GuardRecorder", () => {
  it("stamps a sample with the instant it was judged at, so a stop right after it does not stretch the interval", () => {
    // Replica 0 leads term 5 under a 200 ms lease from t = 0; it is stopped
    // for 1957 ms right after the mirror read the clock at t = 70 (as in
    // seed 20261213); replica 1 leads term 6 from t = 514.
    let clock = 0;
    let stopAfterRead = false;
    const read = () => {
      const value = clock;
      if (stopAfterRead) {
        stopAfterRead = false;
        clock += 1_957;
      }
      return value;
    };
    const election = new LeaderElection(0, { requireLease: true, now: read });
    const mirror = new GuardMirror(election, { now: read });
    const events: Array<Record<string, unknown>> = [];
    const recorder = new GuardRecorder({
      mirror: () => mirror.sample(),
      now: read,
      wall: (at) => at,
      emit: (event) => events.push(event),
    });
    election.setRole("leader", 5);
    election.renewLease(200);
    for (; clock < 70; clock += 10) recorder.sample();
    stopAfterRead = true;
    recorder.sample(); // judged at 70; the process stops here
    assert.equal(clock, 2_027);
    recorder.sample(); // the probe after the resume
    election.setRole("follower", 6);
    const ends = events.filter((e) => e.leading === false);
    assert.deepEqual(ends, [
      { event: "guard", leading: false, start: 0, end: 70, term: 5 },
    ]);
    const intervals: GuardInterval[] = [
      { replica: 0, term: 5, start: 0, end: Number(ends[0].end) },
      { replica: 1, term: 6, start: 514, end: 2_300 },
    ];
    assert.deepEqual(checkOneLeader(intervals), []);
    // Had the guard truly led until the resume (a lease lengthened by the
    // stop), the checker still flags it.
    assert.equal(
      checkOneLeader([{ ...intervals[0], end: 2_027 }, intervals[1]]).length,
      1,
    );
  });
});
