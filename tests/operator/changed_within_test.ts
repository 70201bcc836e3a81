/**
 * The Operator's `changedWithinMs` for its controllers: the longest a
 * takeover can come after the previous leader or owner stopped, on its Raft
 * and sharding timing, plus 5 s.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { changedWithinMs } from "../../operator/_changed_within.ts";
import { grantTiming } from "../../sharding/grants.ts";

describe("the Operator's changedWithinMs", () => {
  const none = { memberTimeoutMs: undefined, tickMs: undefined };

  it("leader-only: an election timeout at its longest and two heartbeats, plus 5 s", () => {
    const defaults = { ...none, grants: null, electionTicks: undefined };
    assert.equal(changedWithinMs(defaults), (2 * 6 + 2) * 50 + 5_000);
    assert.equal(
      changedWithinMs({ ...defaults, tickMs: 100, electionTicks: 10 }),
      (2 * 10 + 2) * 100 + 5_000,
    );
  });

  it("sharded: the same, then the new leader's wait and the longer of the member timeout and the grant's hold", () => {
    const grants = grantTiming({});
    const term = (2 * 6 + 2) * 50;
    const sharded = { ...none, grants, electionTicks: null };
    assert.equal(
      changedWithinMs(sharded),
      Math.ceil(term + 2 * grants.holdMs) + 5_000,
    );
    assert.equal(
      changedWithinMs({ ...sharded, memberTimeoutMs: 3_000 }),
      Math.ceil(term + grants.holdMs + 3_000) + 5_000,
    );
    const slow = grantTiming({ grantMs: 2_000 });
    assert.equal(
      changedWithinMs({ ...sharded, grants: slow }),
      Math.ceil(term + 2 * slow.holdMs) + 5_000,
    );
  });
});
