import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LeaderElection, type Role } from "../../controller/mod.ts";
import { below, seeded } from "../../testing/raft/random.ts";
import { GuardMirror } from "./_guard_mirror.ts";

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
          election.renewLease(below(random, 4) === 0 ? 0 : below(random, 300));
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
});
