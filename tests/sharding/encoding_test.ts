/**
 * The versioned encodings: assignment entries, renewal requests and grants
 * round-trip; every malformed input gets a ShardFormatError that says what
 * was expected and what was found, never another error.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  decodeAssignment,
  decodeGrant,
  decodeRenewalRequest,
  encodeAssignment,
  encodeGrant,
  encodeRenewalRequest,
  type GrantMessage,
  isAssignmentEntry,
  planAssignment,
  type RenewalRequest,
  ShardFormatError,
} from "../../sharding/mod.ts";
import { Prng } from "../../testing/raft/random.ts";

const text = (s: string) => new TextEncoder().encode(s);
const json = (o: unknown) => text(JSON.stringify(o));

const GOOD = {
  kind: "shardAssignment",
  v: 1,
  epoch: 3,
  shards: 4,
  members: [0, 2],
  owners: [0, 1, -1, 1],
};

describe("assignment entries", () => {
  it("round-trip, members and unowned shards included", () => {
    for (const n of [0, 1, 3, 5]) {
      const a = planAssignment({
        shardCount: 256,
        members: Array.from({ length: n }, (_, i) => i * 7),
      });
      assert.deepEqual(decodeAssignment(encodeAssignment(a)), a);
    }
    assert.deepEqual(decodeAssignment(json(GOOD)), {
      epoch: 3,
      shardCount: 4,
      members: [0, 2],
      owners: [0, 2, null, 2],
    });
  });

  it("write the kind and version first, as readable JSON", () => {
    const data = encodeAssignment(
      planAssignment({ shardCount: 2, members: [5] }),
    );
    assert.equal(
      new TextDecoder().decode(data),
      '{"kind":"shardAssignment","v":1,"epoch":1,"shards":2,"members":[5],"owners":[0,0]}',
    );
  });

  it("are told apart from other log entries", () => {
    assert.ok(isAssignmentEntry(json(GOOD)));
    assert.ok(isAssignmentEntry(json({ ...GOOD, v: 9 })), "any version");
    assert.ok(!isAssignmentEntry(json({ op: "put", key: "a", value: "1" })));
    assert.ok(!isAssignmentEntry(new Uint8Array([0xff, 0xfe])));
    assert.ok(!isAssignmentEntry(json([1, 2])));
    assert.ok(!isAssignmentEntry(new Uint8Array()));
  });

  it("refuse every malformed entry with a message naming what was expected and found", () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array([0xc3, 0x28]), /UTF-8 JSON, found malformed bytes/],
      [text("[1]"), /a JSON object, found an array/],
      [text("7"), /a JSON object, found 7/],
      [
        json({ ...GOOD, kind: "other" }),
        /kind "shardAssignment", found kind "other"/,
      ],
      [json({ ...GOOD, v: 2 }), /format version 1, found version 2/],
      [
        json({ ...GOOD, v: undefined }),
        /format version 1, found version undefined/,
      ],
      [json({ ...GOOD, epoch: 0 }), /epoch to be a positive integer, found 0/],
      [
        json({ ...GOOD, epoch: "3" }),
        /epoch to be a positive integer, found "3"/,
      ],
      [
        json({ ...GOOD, shards: 0 }),
        /shard count to be an integer from 1 to 65536, found 0/,
      ],
      [json({ ...GOOD, shards: 65_537 }), /found 65537/],
      [json({ ...GOOD, members: {} }), /members to be an array, found \{\}/],
      [
        json({ ...GOOD, members: [0, -2] }),
        /member 1 of the assignment to be a non-negative integer, found -2/,
      ],
      [
        json({ ...GOOD, members: [2, 0] }),
        /strictly ascending, found 0 after 2/,
      ],
      [
        json({ ...GOOD, members: [2, 2] }),
        /strictly ascending, found 2 after 2/,
      ],
      [
        json({ ...GOOD, owners: [0, 1, -1] }),
        /owners to be an array of 4 entries, found 3 entries/,
      ],
      [
        json({ ...GOOD, owners: [0, 1, 2, 1] }),
        /owner of shard 2 to be -1 or a member index below 2, found 2/,
      ],
      [
        json({ ...GOOD, owners: [0, 1, null, 1] }),
        /owner of shard 2 .* found null/,
      ],
      [json({ ...GOOD, owners: [0, 1, -2, 1] }), /found -2/],
      [
        new Uint8Array((1 << 20) + 1),
        /at most 1048576 bytes of assignment, found 1048577/,
      ],
    ];
    for (const [data, message] of cases) {
      assert.throws(() => decodeAssignment(data), (e: unknown) => {
        assert.ok(e instanceof ShardFormatError, `${e}`);
        assert.match(e.message, message);
        return true;
      });
    }
    assert.throws(
      () => decodeAssignment("x" as unknown as Uint8Array),
      /Uint8Array, found string/,
    );
  });

  it("refuse to encode an owner that is not a member", () => {
    assert.throws(
      () =>
        encodeAssignment({
          epoch: 1,
          shardCount: 2,
          members: [0],
          owners: [0, 3],
        }),
      /owner to be a member of the assignment, found 3 \(members 0\)/,
    );
  });
});

const REQUEST: RenewalRequest = {
  from: 4,
  session: 0xffffffff,
  seq: 2 ** 40,
  leaving: true,
  released: [0, 1, 255, 65_535],
};
const GRANT: GrantMessage = {
  to: 4,
  term: 12,
  session: 7,
  seq: 300,
  epoch: 9,
  shardCount: 256,
  grantMs: 500,
  granted: [0, 17, 18, 255],
  release: [3],
};

describe("renewal requests and grants", () => {
  it("round-trip", () => {
    assert.deepEqual(
      decodeRenewalRequest(encodeRenewalRequest(REQUEST)),
      REQUEST,
    );
    const plain = { ...REQUEST, leaving: false, released: [] };
    assert.deepEqual(decodeRenewalRequest(encodeRenewalRequest(plain)), plain);
    assert.deepEqual(decodeGrant(encodeGrant(GRANT)), GRANT);
    const all = { ...GRANT, granted: Array.from({ length: 256 }, (_, i) => i) };
    assert.deepEqual(decodeGrant(encodeGrant(all)), all);
  });

  it("are small: a grant of every one of 256 shards is under 300 bytes", () => {
    const all = { ...GRANT, granted: Array.from({ length: 256 }, (_, i) => i) };
    assert.ok(
      encodeGrant(all).length < 300,
      `${encodeGrant(all).length} bytes`,
    );
    assert.equal(
      encodeRenewalRequest({ ...REQUEST, seq: 1, session: 1, released: [] })
        .length,
      7,
    );
  });

  it("start with the format version and the message type", () => {
    assert.deepEqual([...encodeRenewalRequest(REQUEST).slice(0, 2)], [1, 1]);
    assert.deepEqual([...encodeGrant(GRANT).slice(0, 2)], [1, 2]);
  });

  it("refuse to encode shards out of order", () => {
    assert.throws(
      () => encodeGrant({ ...GRANT, granted: [3, 3] }),
      /strictly ascending shard numbers to encode, found 3 after 3/,
    );
    assert.throws(
      () => encodeRenewalRequest({ ...REQUEST, seq: -1 }),
      ShardFormatError,
    );
  });

  it("refuse a wrong version, a wrong type, trailing and missing bytes", () => {
    const request = encodeRenewalRequest(REQUEST);
    const grant = encodeGrant(GRANT);
    const cases: [() => unknown, RegExp][] = [
      [
        () => decodeRenewalRequest(Uint8Array.of(2, ...request.slice(1))),
        /renewal request format version 1, found version 2/,
      ],
      [
        () => decodeRenewalRequest(grant),
        /message type 1 \(renewal request\), found type 2/,
      ],
      [() => decodeGrant(request), /message type 2 \(grant\), found type 1/],
      [
        () => decodeGrant(Uint8Array.of(...grant, 0)),
        /grant to end after \d+ bytes, found 1 more/,
      ],
      [
        () => decodeGrant(new Uint8Array()),
        /grant's format version at byte 0, found the end of 0 bytes/,
      ],
    ];
    for (const [f, message] of cases) assert.throws(f, message);
    for (let cut = 0; cut < grant.length; cut++) {
      assert.throws(
        () => decodeGrant(grant.slice(0, cut)),
        ShardFormatError,
        `cut at ${cut}`,
      );
    }
    for (let cut = 0; cut < request.length; cut++) {
      assert.throws(
        () => decodeRenewalRequest(request.slice(0, cut)),
        ShardFormatError,
      );
    }
  });

  it("refuse padded or oversized numbers, bad flags, and shards past the count", () => {
    // version, type, from = 0x80 0x00 (a padded zero)
    assert.throws(
      () => decodeRenewalRequest(Uint8Array.of(1, 1, 0x80, 0x00)),
      /minimal varint/,
    );
    assert.throws(
      () =>
        decodeRenewalRequest(
          Uint8Array.of(1, 1, ...new Array(9).fill(0xff), 1),
        ),
      /fit a safe integer/,
    );
    assert.throws(
      () => decodeRenewalRequest(Uint8Array.of(1, 1, 0, 0, 1, 2, 0)),
      /flags to be 0 or 1, found 2/,
    );
    assert.throws(
      () =>
        decodeRenewalRequest(
          Uint8Array.of(1, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 1, 0, 0),
        ),
      /session to be a 32-bit number, found 4294967296/,
    );
    const twoShards = encodeGrant({
      ...GRANT,
      shardCount: 2,
      granted: [],
      release: [],
    });
    const bad = Uint8Array.of(...twoShards.slice(0, -2), 1, 2, 0);
    assert.throws(
      () => decodeGrant(bad),
      /granted shards to name shards below 2, found 2/,
    );
    const tooMany = Uint8Array.of(...twoShards.slice(0, -2), 3, 0, 0, 0, 0);
    assert.throws(
      () => decodeGrant(tooMany),
      /at most 2 shards in the grant's granted shards, found 3/,
    );
    const noTime = encodeGrant({ ...GRANT, grantMs: 0 });
    assert.throws(
      () => decodeGrant(noTime),
      /duration to be at least 1 ms, found 0/,
    );
    const noShards = encodeGrant({
      ...GRANT,
      shardCount: 0,
      granted: [],
      release: [],
    });
    assert.throws(
      () => decodeGrant(noShards),
      /shard count from 1 to 65536, found 0/,
    );
  });

  it("throw only ShardFormatError on 20,000 random and mutated inputs", () => {
    const prng = new Prng(7);
    const seeds = [
      encodeGrant(GRANT),
      encodeRenewalRequest(REQUEST),
      encodeAssignment(planAssignment({ shardCount: 8, members: [1, 2] })),
    ];
    for (let k = 0; k < 20_000; k++) {
      let data: Uint8Array;
      if (prng.chance(0.3)) {
        data = Uint8Array.from({ length: prng.int(24) }, () => prng.int(256));
      } else {
        data = prng.pick(seeds).slice();
        for (let m = prng.range(1, 3); m > 0; m--) {
          data[prng.int(data.length)] = prng.int(256);
        }
      }
      for (
        const decode of [decodeGrant, decodeRenewalRequest, decodeAssignment]
      ) {
        try {
          decode(data);
        } catch (error) {
          assert.ok(
            error instanceof ShardFormatError,
            `input ${data}: ${error}`,
          );
        }
      }
    }
  });
});
