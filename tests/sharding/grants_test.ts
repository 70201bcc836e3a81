/**
 * The grant state machines, driven with injected clocks: the holder counts
 * from the send of its request, the leader from the receipt and longer by
 * the drift bound, so the holder's grant always ends first in real time; a
 * shard moves only after a release reached the leader or the leader's count
 * ran out; a new leader grants nothing for `holdMs`; no grant without the
 * lease; releases are carried until acknowledged and never undone by a stale
 * message.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type Assignment,
  decodeGrant,
  encodeGrant,
  GrantHolder,
  GrantIssuer,
  type GrantMessage,
  grantTiming,
  type RenewalRequest,
  ShardConfigError,
} from "../../sharding/mod.ts";
import { Prng } from "../../testing/raft/random.ts";

const T = grantTiming(); // grantMs 500, drift 0.01, granularity 1
const HOLD = T.holdMs;

function assignment(owners: (number | null)[], epoch = 1): Assignment {
  const members = [...new Set(owners.filter((o) => o !== null))].sort((a, b) =>
    a - b
  ) as number[];
  return { epoch, shardCount: owners.length, members, owners };
}

function grant(partial: Partial<GrantMessage>): GrantMessage {
  return {
    to: 1,
    term: 1,
    session: 11,
    seq: 1,
    epoch: 1,
    shardCount: 4,
    grantMs: 500,
    granted: [],
    release: [],
    ...partial,
  };
}

/** An issuer past its new-leader wait at time 0 (it took office at -HOLD). */
function issuer(owners: (number | null)[]): GrantIssuer {
  const i = new GrantIssuer({
    term: 1,
    leaderSince: -HOLD,
    shardCount: owners.length,
  });
  i.setAssignment(assignment(owners));
  return i;
}

const on = (now: number) => ({ now, lease: true });

describe("grantTiming", () => {
  it("derives the leader's count from the drift and granularity bounds", () => {
    assert.equal(T.grantMs, 500);
    assert.equal(T.holdMs, (500 + 1) * 1.01 / 0.99 + 1);
    const fine = grantTiming({
      grantMs: 200,
      drift: 0,
      clockGranularityMs: 0.001,
    });
    assert.equal(fine.holdMs, 200.002);
  });

  it("refuses options out of range", () => {
    for (
      const bad of [
        { grantMs: 0 },
        { grantMs: 0.5 },
        { grantMs: Infinity },
        { drift: -0.1 },
        { drift: 0.5 },
        { clockGranularityMs: -1 },
        { clockGranularityMs: 0 },
      ]
    ) {
      assert.throws(
        () => grantTiming(bad),
        ShardConfigError,
        JSON.stringify(bad),
      );
    }
  });
});

describe("GrantHolder", () => {
  it("holds a grant from the send of the request, not from its arrival", () => {
    const h = new GrantHolder({ id: 1, session: 11, shardCount: 4 });
    const r = h.request(1000);
    const out = h.onGrant(grant({ seq: r.seq, granted: [2] }), 1400);
    assert.deepEqual(out.acquired, [2]);
    assert.ok(h.holds(2, 1499.9));
    assert.ok(!h.holds(2, 1500));
    assert.equal(h.validUntil(2, 1499), 1500);
    assert.equal(h.validUntil(2, 1500), null);
  });

  it("takes the shorter of the grant's and its own duration", () => {
    const h = new GrantHolder({ id: 1, session: 11, shardCount: 4 });
    h.onGrant(grant({ seq: h.request(0).seq, granted: [0], grantMs: 300 }), 10);
    assert.equal(h.validUntil(0, 10), 300);
    h.onGrant(
      grant({ seq: h.request(100).seq, granted: [0], grantMs: 9000 }),
      110,
    );
    assert.equal(h.validUntil(0, 110), 600);
  });

  it("gains nothing from a grant that arrives after it would have ended", () => {
    const h = new GrantHolder({ id: 1, session: 11, shardCount: 4 });
    const r = h.request(0);
    const out = h.onGrant(grant({ seq: r.seq, granted: [1] }), 500);
    assert.deepEqual(out.acquired, []);
    assert.ok(!h.holds(1, 500));
  });

  it("ignores grants for another node, session, shard count or unknown request", () => {
    const h = new GrantHolder({ id: 1, session: 11, shardCount: 4 });
    const r = h.request(0);
    for (
      const g of [
        grant({ seq: r.seq, granted: [0], to: 2 }),
        grant({ seq: r.seq, granted: [0], session: 12 }),
        grant({ seq: r.seq + 1, granted: [0] }),
        grant({ seq: r.seq, granted: [0], shardCount: 8 }),
        grant({ seq: r.seq, granted: [7, -1, 1.5] }),
      ]
    ) {
      assert.deepEqual(h.onGrant(g, 10).acquired, []);
    }
    assert.deepEqual(h.held(10), []);
  });

  it("forgets requests older than grantMs, so their late grants count for nothing", () => {
    const h = new GrantHolder({ id: 1, session: 11, shardCount: 4 });
    const old = h.request(0);
    h.request(600); // prunes the first
    assert.deepEqual(
      h.onGrant(grant({ seq: old.seq, granted: [0] }), 601).acquired,
      [],
    );
  });

  it("never lets an older grant shorten a newer one (answers reordered)", () => {
    const h = new GrantHolder({ id: 1, session: 11, shardCount: 4 });
    const first = h.request(0);
    const second = h.request(100);
    h.onGrant(grant({ seq: second.seq, granted: [3] }), 150);
    assert.equal(h.validUntil(3, 150), 600);
    const out = h.onGrant(grant({ seq: first.seq, granted: [3] }), 160);
    assert.deepEqual(out.acquired, []);
    assert.equal(h.validUntil(3, 160), 600);
  });

  it("stops at release, carries the release until acknowledged, and ignores grants of requests sent before it", () => {
    const h = new GrantHolder({ id: 1, session: 11, shardCount: 4 });
    const before = h.request(0);
    h.onGrant(grant({ seq: before.seq, granted: [0, 1] }), 5);
    const inFlight = h.request(50); // sent before the release
    h.release([0]);
    assert.ok(!h.holds(0, 60));
    assert.ok(h.holds(1, 60));
    // The answer to the request sent before the release: shard 0 stays released.
    const late = h.onGrant(grant({ seq: inFlight.seq, granted: [0, 1] }), 70);
    assert.deepEqual(late.acquired, []);
    assert.ok(!h.holds(0, 70));
    assert.deepEqual(late.acknowledged, [], "that request did not carry it");
    const carrying = h.request(80);
    assert.deepEqual(carrying.released, [0]);
    const again = h.request(90); // the first carrier was lost
    assert.deepEqual(again.released, [0]);
    const ack = h.onGrant(grant({ seq: again.seq, granted: [1] }), 95);
    assert.deepEqual(ack.acknowledged, [0]);
    assert.deepEqual(h.pendingReleases(), []);
    assert.deepEqual(h.request(100).released, []);
    // A grant for a request sent after the release brings it back.
    const next = h.request(110);
    assert.deepEqual(
      h.onGrant(grant({ seq: next.seq, granted: [0] }), 115).acquired,
      [0],
    );
  });

  it("lists as to release only the shards it still holds", () => {
    const h = new GrantHolder({ id: 1, session: 11, shardCount: 4 });
    h.onGrant(grant({ seq: h.request(0).seq, granted: [0, 1] }), 1);
    const out = h.onGrant(
      grant({ seq: h.request(10).seq, release: [1, 2] }),
      11,
    );
    assert.deepEqual(out.toRelease, [1]);
  });

  it("leaves: releases everything it held, marks requests leaving, accepts nothing more", () => {
    const h = new GrantHolder({ id: 1, session: 11, shardCount: 4 });
    const r = h.request(0);
    h.onGrant(grant({ seq: r.seq, granted: [0, 3] }), 1);
    const pending = h.request(5);
    assert.deepEqual(h.leave(), [0, 3]);
    assert.ok(h.leaving);
    assert.deepEqual(h.held(6), []);
    const next = h.request(10);
    assert.deepEqual(next, {
      from: 1,
      session: 11,
      seq: 3,
      leaving: true,
      released: [0, 3],
    });
    assert.deepEqual(
      h.onGrant(grant({ seq: pending.seq, granted: [1] }), 11).acquired,
      [],
    );
    assert.deepEqual(
      h.onGrant(grant({ seq: next.seq, granted: [1] }), 12).acquired,
      [],
    );
  });

  it("stands aside: releases everything, asks for nothing and takes nothing in until it rejoins", () => {
    const h = new GrantHolder({ id: 1, session: 11, shardCount: 4 });
    const r = h.request(0);
    h.onGrant(grant({ seq: r.seq, granted: [0, 3] }), 1);
    const pending = h.request(5);
    assert.deepEqual(h.standAside(), [0, 3]);
    assert.ok(h.aside);
    assert.ok(!h.leaving, "it has not left");
    assert.deepEqual(h.held(6), []);
    const next = h.request(10);
    assert.deepEqual(next, {
      from: 1,
      session: 11,
      seq: 3,
      leaving: true,
      released: [0, 3],
    });
    assert.deepEqual(
      h.onGrant(grant({ seq: next.seq, granted: [1] }), 12).acquired,
      [],
      "nothing taken in while aside",
    );
    h.rejoin();
    assert.ok(!h.aside);
    // A late answer to a request sent before it stood aside does not give
    // back what it released.
    assert.deepEqual(
      h.onGrant(grant({ seq: pending.seq, granted: [0, 1, 3] }), 13).acquired,
      [1],
    );
    const again = h.request(20);
    assert.equal(again.leaving, false);
    assert.deepEqual(
      h.onGrant(grant({ seq: again.seq, granted: [0, 3] }), 21).acquired,
      [0, 3],
    );
  });

  it("a holder that left stays leaving after rejoin", () => {
    const h = new GrantHolder({ id: 1, session: 11, shardCount: 4 });
    h.standAside();
    h.leave();
    h.rejoin();
    assert.equal(h.request(0).leaving, true);
  });

  it("encodes every grant an issuer makes (whole milliseconds)", () => {
    const i = issuer([1, 1]);
    const g = i.onRequest(req(1, 1), on(0))!;
    assert.deepEqual(decodeGrant(encodeGrant(g)), g);
  });

  it("refuses a session that is not a 32-bit number", () => {
    assert.throws(
      () => new GrantHolder({ id: 1, session: -1, shardCount: 4 }),
      ShardConfigError,
    );
    assert.throws(
      () => new GrantHolder({ id: 1, session: 2 ** 32, shardCount: 4 }),
      ShardConfigError,
    );
  });
});

const req = (
  from: number,
  seq: number,
  extra: Partial<RenewalRequest> = {},
): RenewalRequest => ({
  from,
  session: 10 + from,
  seq,
  leaving: false,
  released: [],
  ...extra,
});

describe("GrantIssuer", () => {
  it("grants nothing before leaderSince + holdMs, everything assigned from then on", () => {
    const i = new GrantIssuer({ term: 3, leaderSince: 1000, shardCount: 4 });
    i.setAssignment(assignment([1, 1, 2, 2]));
    assert.ok(!i.waited(1000 + HOLD - 0.001));
    assert.deepEqual(
      i.onRequest(req(1, 1), on(1000 + HOLD - 0.001))?.granted,
      [],
    );
    assert.ok(i.waited(1000 + HOLD));
    const g = i.onRequest(req(1, 2), on(1000 + HOLD))!;
    assert.deepEqual(g.granted, [0, 1]);
    assert.equal(g.term, 3);
    assert.equal(g.epoch, 1);
    assert.equal(g.grantMs, 500);
  });

  it("grants nothing without the lease", () => {
    const i = issuer([1, 1, 2, 2]);
    assert.deepEqual(
      i.onRequest(req(1, 1), { now: 0, lease: false })?.granted,
      [],
    );
    assert.deepEqual(i.onRequest(req(1, 2), { now: 1, lease: true })?.granted, [
      0,
      1,
    ]);
  });

  it("grants nothing before an assignment is applied", () => {
    const i = new GrantIssuer({ term: 1, leaderSince: -HOLD, shardCount: 4 });
    const g = i.onRequest(req(1, 1), on(0))!;
    assert.deepEqual(g.granted, []);
    assert.equal(g.epoch, 0);
  });

  it("moves a shard only when the old holder's count has run out", () => {
    const i = issuer([1, 1, 2, 2]);
    i.onRequest(req(1, 1), on(100)); // 1 holds 0 and 1 until 100 + HOLD
    i.setAssignment(assignment([1, 2, 2, 2], 2));
    const asked = i.onRequest(req(1, 2), on(200))!;
    assert.deepEqual(asked.granted, [0], "1 keeps shard 0, not 1");
    assert.deepEqual(asked.release, [1], "1 is asked to release 1");
    assert.deepEqual(i.moving(200), [1]);
    // Shard 1 was last renewed at 100 (request 2 did not renew it).
    assert.deepEqual(i.onRequest(req(2, 1), on(100 + HOLD - 0.001))?.granted, [
      2,
      3,
    ]);
    assert.deepEqual(i.onRequest(req(2, 2), on(100 + HOLD))?.granted, [
      1,
      2,
      3,
    ]);
    assert.equal(i.holderOf(1, 100 + HOLD)?.node, 2);
    assert.deepEqual(i.moving(100 + HOLD), []);
  });

  it("moves a shard at once when the old holder's release arrives", () => {
    const i = issuer([1, 1, 2, 2]);
    i.onRequest(req(1, 1), on(0));
    i.setAssignment(assignment([1, 2, 2, 2], 2));
    assert.deepEqual(i.onRequest(req(2, 1), on(10))?.granted, [2, 3]);
    const ack = i.onRequest(req(1, 2, { released: [1] }), on(20))!;
    assert.deepEqual(ack.release, []);
    assert.equal(i.holderOf(1, 20), null);
    assert.deepEqual(i.onRequest(req(2, 2), on(21))?.granted, [1, 2, 3]);
  });

  it("does not grant back a shard released in the same request", () => {
    const i = issuer([1, 1]);
    i.onRequest(req(1, 1), on(0));
    assert.deepEqual(
      i.onRequest(req(1, 2, { released: [0] }), on(5))?.granted,
      [1],
    );
    assert.equal(i.holderOf(0, 5), null);
  });

  it("drops a stale or repeated request, so it never undoes a release", () => {
    const i = issuer([1, 1]);
    assert.deepEqual(
      i.onRequest(req(1, 2, { released: [0] }), on(0))?.granted,
      [1],
    );
    assert.equal(i.onRequest(req(1, 1), on(1)), null, "older than the release");
    assert.equal(i.onRequest(req(1, 2), on(2)), null, "a duplicate");
    assert.equal(i.holderOf(0, 3), null);
  });

  it("ignores a release of a shard someone else holds", () => {
    const i = issuer([1, 2]);
    i.onRequest(req(2, 1), on(0));
    i.onRequest(req(1, 1, { released: [1] }), on(1));
    assert.equal(i.holderOf(1, 2)?.node, 2);
  });

  it("makes a restarted replica (a new session) wait out its old session's grants", () => {
    const i = issuer([1, 1]);
    i.onRequest(req(1, 1), on(0));
    const restarted = { ...req(1, 1), session: 99 };
    assert.deepEqual(i.onRequest(restarted, on(100))?.granted, []);
    assert.deepEqual(i.onRequest({ ...restarted, seq: 2 }, on(HOLD))?.granted, [
      0,
      1,
    ]);
    assert.equal(i.holderOf(0, HOLD)?.session, 99);
  });

  it("forgets a session silent for twice holdMs once a new one of its node appears", () => {
    const i = issuer([1, 1]);
    i.onRequest(req(1, 5), on(0));
    assert.equal(
      i.onRequest(req(1, 4), on(10)),
      null,
      "stale while remembered",
    );
    i.onRequest({ ...req(1, 1), session: 99 }, on(2 * HOLD + 1));
    // The old session is forgotten: its request is a new one again, and its
    // expired records let it be granted (it is the assigned node).
    const again = i.onRequest(req(1, 4), on(2 * HOLD + 2));
    assert.notEqual(again, null);
    assert.deepEqual(again!.granted, [], "the new session holds them now");
    assert.equal(i.holderOf(0, 2 * HOLD + 2)?.session, 99);
  });

  it("grants nothing to a leaving replica and frees what it released", () => {
    const i = issuer([1, 2]);
    i.onRequest(req(1, 1), on(0));
    i.onRequest(req(2, 1), on(0));
    const g = i.onRequest(req(1, 2, { leaving: true, released: [0] }), on(10))!;
    assert.deepEqual(g.granted, []);
    assert.equal(i.holderOf(0, 10), null);
    assert.deepEqual(i.liveMembers({ now: 11, candidates: [1, 2] }), [2]);
    // The same node restarted (a new session, not leaving) is live again.
    i.onRequest({ ...req(1, 1), session: 5 }, on(20));
    assert.deepEqual(i.liveMembers({ now: 21, candidates: [1, 2] }), [1, 2]);
  });

  it("plans a replica that stood aside in again once its requests stop saying leaving", () => {
    const i = issuer([1, 2]);
    i.onRequest(req(1, 1), on(0));
    i.onRequest(req(2, 1), on(0));
    i.onRequest(req(1, 2, { leaving: true, released: [0] }), on(10));
    assert.deepEqual(i.liveMembers({ now: 11, candidates: [1, 2] }), [2]);
    const back = i.onRequest(req(1, 3), on(20))!;
    assert.deepEqual(i.liveMembers({ now: 21, candidates: [1, 2] }), [1, 2]);
    assert.deepEqual(back.granted, [0], "its shard, freed by the release");
  });

  it("counts every candidate as heard when it took office, then drops the silent", () => {
    const i = new GrantIssuer({ term: 1, leaderSince: 1000, shardCount: 4 });
    const live = (now: number) => i.liveMembers({ now, candidates: [0, 1, 2] });
    assert.deepEqual(live(1000), [0, 1, 2]);
    i.onRequest(req(1, 1), on(1300));
    assert.deepEqual(live(1499), [0, 1, 2]);
    assert.deepEqual(live(1500), [1]);
    assert.deepEqual(live(1799), [1]);
    assert.deepEqual(live(1800), []);
    assert.deepEqual(
      i.liveMembers({ now: 1800, candidates: [1], memberTimeoutMs: 600 }),
      [1],
    );
  });

  it("counts only the assignment's members as heard when it took office: a voter its predecessor dropped must be heard again", () => {
    // Voter 1 died; the previous leader dropped it (the assignment is over
    // 0 and 2). A new leader must not plan shards onto it for its first
    // memberTimeoutMs, only to take them back when the grace runs out.
    const i = new GrantIssuer({ term: 2, leaderSince: 1000, shardCount: 4 });
    i.setAssignment(assignment([0, 2, 0, 2]));
    const live = (now: number) => i.liveMembers({ now, candidates: [0, 1, 2] });
    assert.deepEqual(live(1000), [0, 2]);
    assert.deepEqual(live(1499), [0, 2]);
    // A live voter outside the assignment (a rejoiner) counts once heard.
    i.onRequest(req(1, 1), on(1200));
    assert.deepEqual(live(1200), [0, 1, 2]);
    assert.deepEqual(live(1500), [1]);
  });

  it("refuses an assignment of another shard count and ignores an older epoch", () => {
    const i = issuer([1, 2]);
    assert.throws(
      () => i.setAssignment(assignment([1, 2, 3])),
      /assignment of 2 shards, found 3/,
    );
    i.setAssignment(assignment([2, 2], 5));
    i.setAssignment(assignment([1, 1], 4));
    assert.equal(i.assignment?.epoch, 5);
  });
});

/** A clock at `rate` of real time from `offset`, read in steps of `g` ms. */
function clock(offset: number, rate: number, g: number) {
  const exact = (t: number) => offset + rate * t;
  return {
    read: (t: number) => Math.floor(exact(t) / g) * g,
    /**
     * The first real time at which the reading is at least `v` (to within
     * a thousandth of a step: the formula, then stepped past rounding).
     */
    whenReads(v: number): number {
      let t = (Math.ceil(v / g) * g - offset) / rate;
      while (Math.floor(exact(t) / g) * g < v) t += g / rate / 1000;
      return t;
    },
  };
}

/** Holds the grant a little longer than the drift allowance permits. */
class NoDriftAllowance extends GrantIssuer {
  protected override holdMs(): number {
    return this.timing.grantMs;
  }
}

/** Starts its grants from the arrival of the grant (the wrong end). */
class CountsFromReceipt extends GrantHolder {
  protected override validFrom(_sentAt: number, receivedAt: number): number {
    return receivedAt;
  }
}

interface Draw {
  holderReal: number;
  leaderReal: number;
}

/**
 * One random schedule: a holder and a leader with clocks drifting within
 * the bound; the holder sends at a random time, the request arrives after a
 * random delay, the grant after another. Returns when, in real time, the
 * holder's grant ends and the leader's count of it ends.
 */
function draw(
  prng: Prng,
  make: { holder?: typeof GrantHolder; issuer?: typeof GrantIssuer } = {},
): Draw | null {
  const drift = prng.pick([0, 0.001, 0.01, 0.05]);
  const g = prng.pick([1, 0.001, 5]);
  const timing = grantTiming({
    grantMs: prng.pick([50, 500, 1000]),
    drift,
    clockGranularityMs: g,
  });
  const rate = () =>
    prng.chance(0.5)
      ? prng.pick([1 - drift, 1 + drift])
      : 1 - drift + 2 * drift * prng.next();
  const hc = clock(prng.next() * 1e6, rate(), g);
  const lc = clock(prng.next() * 1e6, rate(), g);
  const Holder = make.holder ?? GrantHolder;
  const Issuer = make.issuer ?? GrantIssuer;
  const holder = new Holder({ id: 1, session: 1, shardCount: 1, timing });
  const t0 = prng.next() * 1000;
  const issuer = new Issuer({
    term: 1,
    leaderSince: lc.read(t0) - 1e7,
    shardCount: 1,
    timing,
  });
  issuer.setAssignment({ epoch: 1, shardCount: 1, members: [1], owners: [1] });
  const sendAt = t0 + prng.next() * 100;
  const request = holder.request(hc.read(sendAt));
  const receiveAt = sendAt +
    prng.pick([0, 0, 0.0001, prng.next() * 5, prng.next() * 400]);
  const answer = issuer.onRequest(request, {
    now: lc.read(receiveAt),
    lease: true,
  })!;
  const back = receiveAt + prng.pick([0, prng.next() * 5, prng.next() * 400]);
  holder.onGrant(answer, hc.read(back));
  const until = holder.validUntil(0, hc.read(back));
  if (until === null) return null; // arrived after it would have ended
  const record = issuer.holderOf(0, lc.read(receiveAt))!;
  return {
    holderReal: hc.whenReads(until),
    leaderReal: lc.whenReads(record.expiresAt),
  };
}

describe("the timing argument, on drifting clocks", () => {
  it("a holder's grant ends in real time no later than the leader's count, in 100,000 schedules", () => {
    const prng = new Prng(1);
    let checked = 0;
    for (let k = 0; k < 100_000; k++) {
      const d = draw(prng);
      if (d === null) continue;
      checked++;
      assert.ok(
        d.holderReal <= d.leaderReal,
        `schedule ${k}: holder until ${d.holderReal}, leader until ${d.leaderReal}`,
      );
    }
    assert.ok(checked > 80_000, `${checked} schedules with a grant`);
  });

  it("fails without the drift allowance (the leader counting grantMs)", () => {
    const prng = new Prng(1);
    let broken = 0;
    for (let k = 0; k < 100_000; k++) {
      const d = draw(prng, { issuer: NoDriftAllowance });
      if (d !== null && d.holderReal > d.leaderReal) broken++;
    }
    assert.ok(broken > 100, `${broken} schedules overlap`);
  });

  it("fails when the holder counts from the grant's arrival", () => {
    const prng = new Prng(1);
    let broken = 0;
    for (let k = 0; k < 100_000; k++) {
      const d = draw(prng, { holder: CountsFromReceipt });
      if (d !== null && d.holderReal > d.leaderReal) broken++;
    }
    assert.ok(broken > 1000, `${broken} schedules overlap`);
  });

  it("a new leader's first grant comes after every grant of the old leader has ended", () => {
    const prng = new Prng(2);
    for (let k = 0; k < 20_000; k++) {
      const drift = prng.pick([0, 0.01, 0.05]);
      const g = prng.pick([0.001, 1, 5]);
      const timing = grantTiming({
        grantMs: 500,
        drift,
        clockGranularityMs: g,
      });
      const rate = () => prng.pick([1 - drift, 1 + drift, 1]);
      const hc = clock(prng.next() * 1e6, rate(), g);
      const oldc = clock(prng.next() * 1e6, rate(), g);
      const newc = clock(prng.next() * 1e6, rate(), g);
      const holder = new GrantHolder({
        id: 1,
        session: 1,
        shardCount: 1,
        timing,
      });
      const old = new GrantIssuer({
        term: 1,
        leaderSince: -1e9,
        shardCount: 1,
        timing,
      });
      old.setAssignment({ epoch: 1, shardCount: 1, members: [1], owners: [1] });
      const sendAt = 1000 + prng.next() * 100;
      const issuedAt = sendAt + prng.next() * 50;
      const receivedAt = issuedAt + prng.next() * 50;
      const request = holder.request(hc.read(sendAt));
      holder.onGrant(
        old.onRequest(request, { now: oldc.read(issuedAt), lease: true })!,
        hc.read(receivedAt),
      );
      const until = holder.validUntil(0, hc.read(receivedAt));
      if (until === null) continue;
      // The new leader is elected after the old one's last grant (the lease).
      const electedAt = issuedAt + prng.pick([0, 0.0001, prng.next() * 300]);
      const fresh = new GrantIssuer({
        term: 2,
        leaderSince: newc.read(electedAt),
        shardCount: 1,
        timing,
      });
      fresh.setAssignment({
        epoch: 2,
        shardCount: 1,
        members: [2],
        owners: [2],
      });
      const firstGrant = newc.whenReads(fresh.leaderSince + timing.holdMs);
      assert.ok(hc.whenReads(until) <= firstGrant, `schedule ${k}`);
      const r2 = { from: 2, session: 2, seq: 1, leaving: false, released: [] };
      assert.deepEqual(
        fresh.onRequest(r2, { now: newc.read(firstGrant), lease: true })
          ?.granted,
        [0],
      );
    }
  });
});
