/**
 * Unit tests of `raft/_conf.ts` alone, after etcd-io/raft's
 * `confchange/testdata/simple_*.txt`: the shape check of a change, which
 * single-server changes apply to a membership and what they make of it, and
 * the invariants every sequence of changes keeps (seeded random sequences,
 * as `confchange/quick_test.go` does).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  applyConfChange,
  checkConfChange,
  confChangeProblem,
  copyConf,
  incarnationOf,
  isIncarnation,
  isNodeId,
  sortedIncarnations,
} from "../../raft/_conf.ts";
import { ConfChangeError } from "../../raft/errors.ts";
import type { ConfChange, ConfState } from "../../raft/types.ts";
import { below, seeded } from "../../testing/raft/random.ts";

/** Voters 1 and 2, learner 3, each with incarnation 10 + id. */
const base = (): ConfState => ({
  voters: [1, 2],
  learners: [3],
  incarnations: { 1: 11, 2: 12, 3: 13 },
});

/** `voters=(…) learners=(…) inc=(id:n …)`, as etcd's confchange scripts print it. */
function show(conf: ConfState): string {
  const inc = sortedIncarnations(conf).map(([id, n]) => `${id}:${n}`);
  return `voters=(${conf.voters.join(" ")}) learners=(${
    conf.learners.join(" ")
  }) inc=(${inc.join(" ")})`;
}

describe("conf", () => {
  describe("isNodeId and isIncarnation", () => {
    const cases: [unknown, boolean, boolean][] = [
      [0, true, false],
      [1, true, true],
      [Number.MAX_SAFE_INTEGER, true, true],
      [Number.MAX_SAFE_INTEGER + 1, false, false],
      [-1, false, false],
      [1.5, false, false],
      [NaN, false, false],
      ["1", false, false],
      [null, false, false],
    ];
    for (const [value, nodeId, incarnation] of cases) {
      it(`${String(value)}: node id ${nodeId}, incarnation ${incarnation}`, () => {
        assert.equal(isNodeId(value), nodeId);
        assert.equal(isIncarnation(value), incarnation);
      });
    }
  });

  describe("checkConfChange", () => {
    const refused: [string, unknown, RegExp][] = [
      [
        "null",
        null,
        /Expected a conf change object \{type, nodeId\}, found null/,
      ],
      ["an array", [], /found an array/],
      ["a string", "addVoter", /found string/],
      [
        "an unknown type",
        { type: "demote", nodeId: 1 },
        /Expected a conf change type of addLearner, promote, addVoter, remove, rejoin, found "demote"/,
      ],
      ["no type", { nodeId: 1 }, /type of .*, found nothing/],
      [
        "a negative node id",
        { type: "remove", nodeId: -1 },
        /node id to be a non-negative safe integer, found -1/,
      ],
      ["a fractional node id", { type: "remove", nodeId: 1.5 }, /found 1.5/],
      ["a string node id", { type: "remove", nodeId: "1" }, /found "1"/],
      ["no node id", { type: "remove" }, /node id .* found nothing/],
      [
        "incarnation 0",
        { type: "addVoter", nodeId: 1, incarnation: 0 },
        /incarnation to be a positive safe integer, found 0/,
      ],
      ["a string incarnation", {
        type: "addVoter",
        nodeId: 1,
        incarnation: "7",
      }, /found "7"/],
      [
        "a rejoin without incarnation",
        { type: "rejoin", nodeId: 4 },
        /Expected a rejoin of node 4 to name its new incarnation, found none/,
      ],
    ];
    for (const [name, value, message] of refused) {
      it(`refuses ${name}`, () => {
        assert.throws(
          () => checkConfChange(value),
          (e: unknown) =>
            e instanceof ConfChangeError && message.test(e.message),
        );
      });
    }

    it("returns a fresh change with only the fields it knows", () => {
      const input = { type: "rejoin", nodeId: 4, incarnation: 9, extra: true };
      const change = checkConfChange(input);
      assert.deepEqual(change, { type: "rejoin", nodeId: 4, incarnation: 9 });
      assert.notEqual(change, input);
    });

    it("leaves the incarnation out when none was given", () => {
      assert.deepEqual(
        Object.keys(checkConfChange({ type: "remove", nodeId: 0 })),
        ["type", "nodeId"],
      );
    });
  });

  describe("confChangeProblem and applyConfChange (voters 1 2, learner 3)", () => {
    // [change, problem (null when it applies), membership after]
    const cases: [ConfChange, RegExp | null, string][] = [
      [
        { type: "addLearner", nodeId: 4 },
        null,
        "voters=(1 2) learners=(3 4) inc=(1:11 2:12 3:13)",
      ],
      [
        { type: "addLearner", nodeId: 1 },
        /Expected node 1 not to be a member, found it a voter/,
        "",
      ],
      [
        { type: "addLearner", nodeId: 3 },
        /Expected node 3 not to be a member, found it a learner/,
        "",
      ],
      [
        { type: "addVoter", nodeId: 4, incarnation: 14 },
        null,
        "voters=(1 2 4) learners=(3) inc=(1:11 2:12 3:13 4:14)",
      ],
      [
        { type: "addVoter", nodeId: 4 },
        /Expected the addVoter of node 4 to name its incarnation, found none/,
        "",
      ],
      [
        { type: "addVoter", nodeId: 2, incarnation: 12 },
        /Expected node 2 not to be a voter, found it one/,
        "",
      ],
      [
        { type: "promote", nodeId: 3, incarnation: 23 },
        null,
        "voters=(1 2 3) learners=() inc=(1:11 2:12 3:23)",
      ],
      [
        { type: "promote", nodeId: 3 },
        /Expected the promote of node 3 to name its incarnation, found none/,
        "",
      ],
      [
        { type: "promote", nodeId: 1, incarnation: 11 },
        /Expected node 1 to be a learner to promote, found it a voter/,
        "",
      ],
      [
        { type: "promote", nodeId: 4, incarnation: 14 },
        /Expected node 4 to be a learner to promote, found it not a member/,
        "",
      ],
      [
        { type: "remove", nodeId: 1 },
        null,
        "voters=(2) learners=(3) inc=(2:12 3:13)",
      ],
      [
        { type: "remove", nodeId: 3 },
        null,
        "voters=(1 2) learners=() inc=(1:11 2:12)",
      ],
      [
        { type: "remove", nodeId: 4 },
        /Expected node 4 to be a member to remove, found it absent/,
        "",
      ],
      [
        { type: "rejoin", nodeId: 2, incarnation: 22 },
        null,
        "voters=(1) learners=(3 2) inc=(1:11 2:22 3:13)",
      ],
      [
        { type: "rejoin", nodeId: 3, incarnation: 33 },
        null,
        "voters=(1 2) learners=(3) inc=(1:11 2:12 3:33)",
      ],
      [
        { type: "rejoin", nodeId: 4, incarnation: 14 },
        /Expected node 4 to be a member to rejoin, found it absent/,
        "",
      ],
      [
        { type: "rejoin", nodeId: 2 },
        /Expected the rejoin of node 2 to name its incarnation, found none/,
        "",
      ],
    ];
    for (const [change, problem, after] of cases) {
      const name = `${change.type} ${change.nodeId}${
        change.incarnation === undefined ? "" : `@${change.incarnation}`
      }`;
      it(`${name}: ${problem === null ? after : "refused"}`, () => {
        const conf = base();
        const found = confChangeProblem(conf, change);
        if (problem === null) {
          assert.equal(found, null);
          assert.equal(show(applyConfChange(conf, change)), after);
        } else {
          assert.match(found ?? "", problem);
          assert.equal(
            applyConfChange(conf, change),
            conf,
            "a change that does not apply returns the membership itself",
          );
        }
        assert.deepEqual(conf, base(), "the membership given is not changed");
      });
    }

    const last: ConfState = { voters: [5], learners: [6], incarnations: {} };
    for (const type of ["remove", "rejoin"] as const) {
      it(`${type} of the last voter is refused`, () => {
        const change: ConfChange = { type, nodeId: 5, incarnation: 50 };
        assert.match(
          confChangeProblem(last, change) ?? "",
          /Expected at least one voter to remain, found node 5 the last one/,
        );
        assert.equal(applyConfChange(last, change), last);
      });
    }

    it("a removed learner may leave the last voter alone", () => {
      assert.equal(
        show(applyConfChange(last, { type: "remove", nodeId: 6 })),
        "voters=(5) learners=() inc=()",
      );
    });

    it("a member added again after its removal starts with no incarnation", () => {
      let conf = applyConfChange(base(), { type: "remove", nodeId: 3 });
      conf = applyConfChange(conf, { type: "addLearner", nodeId: 3 });
      assert.equal(incarnationOf(conf, 3), 0);
      assert.equal(show(conf), "voters=(1 2) learners=(3) inc=(1:11 2:12)");
    });
  });

  describe("copyConf, sortedIncarnations, incarnationOf", () => {
    it("copies deeply: changing the copy leaves the original", () => {
      const conf = base();
      const copy = copyConf(conf);
      copy.voters.push(9);
      copy.learners.pop();
      copy.incarnations![1] = 99;
      assert.deepEqual(conf, base());
    });

    it("has no incarnations when the original has none (format 1)", () => {
      const copy = copyConf({ voters: [1], learners: [] });
      assert.equal("incarnations" in copy, false);
      assert.deepEqual(sortedIncarnations(copy), []);
      assert.equal(incarnationOf(copy, 1), 0);
    });

    it("lists incarnations by numeric node id", () => {
      const conf: ConfState = {
        voters: [10, 2, 33],
        learners: [],
        incarnations: { 33: 3, 10: 1, 2: 2 },
      };
      assert.deepEqual(sortedIncarnations(conf), [[2, 2], [10, 1], [33, 3]]);
      assert.equal(incarnationOf(conf, 10), 1);
      assert.equal(incarnationOf(conf, 4), 0);
    });
  });

  it("every sequence of changes keeps the membership well formed (3000 seeded changes)", () => {
    const random = seeded(4242);
    const types: ConfChange["type"][] = [
      "addLearner",
      "promote",
      "addVoter",
      "remove",
      "rejoin",
    ];
    let conf: ConfState = { voters: [1], learners: [], incarnations: { 1: 1 } };
    let applied = 0;
    for (let step = 0; step < 3000; step++) {
      const change: ConfChange = {
        type: types[below(random, types.length)],
        nodeId: below(random, 6),
      };
      if (below(random, 5) > 0) change.incarnation = 1 + below(random, 1000);
      const before = copyConf(conf);
      const problem = confChangeProblem(conf, change);
      const next = applyConfChange(conf, change);
      const where = `step ${step}: ${JSON.stringify(change)} on ${
        show(before)
      }`;
      assert.deepEqual(conf, before, `${where}: the input is not changed`);
      if (problem !== null) {
        assert.equal(next, conf, `${where}: refused means unchanged`);
        continue;
      }
      applied++;
      const members = [...next.voters, ...next.learners];
      assert.equal(
        new Set(members).size,
        members.length,
        `${where}: no member twice`,
      );
      assert.ok(next.voters.length >= 1, `${where}: a voter remains`);
      for (const [id] of sortedIncarnations(next)) {
        assert.ok(members.includes(id), `${where}: incarnation of a member`);
      }
      for (const id of next.voters) {
        assert.ok(
          incarnationOf(next, id) > 0,
          `${where}: a voter has an incarnation`,
        );
      }
      const id = change.nodeId;
      switch (change.type) {
        case "addLearner":
          assert.ok(next.learners.includes(id));
          assert.equal(incarnationOf(next, id), 0);
          break;
        case "rejoin":
          assert.ok(next.learners.includes(id) && !next.voters.includes(id));
          assert.equal(incarnationOf(next, id), change.incarnation);
          break;
        case "addVoter":
        case "promote":
          assert.ok(next.voters.includes(id) && !next.learners.includes(id));
          assert.equal(incarnationOf(next, id), change.incarnation);
          break;
        case "remove":
          assert.ok(!members.includes(id));
          break;
      }
      const others = (c: ConfState) =>
        show({
          voters: c.voters.filter((v) => v !== id),
          learners: c.learners.filter((v) => v !== id),
          incarnations: Object.fromEntries(
            sortedIncarnations(c).filter(([m]) => m !== id),
          ),
        });
      assert.equal(
        others(next),
        others(before),
        `${where}: only ${id} changes`,
      );
      conf = next;
    }
    assert.ok(
      applied > 300,
      `enough changes applied to mean something: ${applied}`,
    );
  });
});
