import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RaftCore } from "../../raft/core.ts";
import type { Message } from "../../raft/types.ts";
import { memberState, testIncarnation } from "../../testing/raft/cores.ts";

function voteRequest(type: "vote" | "preVote"): Message {
  return {
    type,
    from: 2,
    to: 4,
    term: 1,
    logTerm: 0,
    index: 1,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    incarnation: testIncarnation(2),
    toIncarnation: testIncarnation(4),
  };
}

describe("a learner asked to vote (simulator finding F1, seed 3781)", () => {
  for (const type of ["vote", "preVote"] as const) {
    it(`grants a ${type} to an up-to-date candidate: it may be a voter in the candidate's configuration`, () => {
      const bootstrap = { voters: [1, 2, 3], learners: [4] };
      const learner = new RaftCore({
        id: 4,
        state: memberState(4, bootstrap),
        bootstrap,
        random: () => 0.5,
      });
      learner.step(voteRequest(type));
      const replies = learner.ready().messages;
      assert.equal(replies.length, 1);
      assert.equal(replies[0].type, `${type}Resp`);
      assert.equal(replies[0].reject, false);
    });
  }
});
