/**
 * The differential suite: every scenario of `differential/scenarios/` runs
 * on the in-process `TestApiServer` and on a real kube-apiserver 1.32
 * (with its controller manager) at once, and what a client saw on each is
 * compared step by step. A difference fails its scenario unless the
 * divergence list (`differential/divergences.ts`, the module doc of
 * `testing/mod.ts`) explains it; a listed divergence that no longer
 * happens fails too, so the list stays true. It runs where the switch
 * names envtest (`deno task test:envtest`); `deno task differential`
 * prints the figures and every difference.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import process from "node:process";
import { BUILTIN_KINDS, BUILTIN_TYPES } from "../../testing/_builtin_types.ts";
import { extract, fetchDocuments } from "../../scripts/builtin_types.ts";
import { skipUnlessEnvTest } from "../_control_plane.ts";
import { DIVERGENCES, REASONS } from "./differential/divergences.ts";
import { SCENARIOS } from "./differential/scenarios/mod.ts";
import { differences } from "./differential/compare.ts";
import { Normaliser } from "./differential/normalise.ts";
import {
  covers,
  type Judged,
  type Planes,
  report,
  runScenarios,
  startPlanes,
} from "./differential/suite.ts";

function flat(text: string): string {
  return text.replace(/\s*\n\s*\*?\s*/g, " ").replace(/\s+/g, " ");
}

describe("the differential machinery", () => {
  it("normalises only what no client can rely on: each uid to its own placeholder (an owner's too), times, resourceVersions", () => {
    const n = new Normaliser();
    const a = "11111111-2222-3333-4444-555555555555";
    const b = "66666666-7777-8888-9999-000000000000";
    const value = n.normalise({
      metadata: {
        uid: a,
        resourceVersion: "42",
        creationTimestamp: "2025-01-01T00:00:00Z",
        ownerReferences: [{ uid: b }, { uid: a }],
      },
      data: { when: "yesterday", n: "42" },
    });
    assert.deepEqual(value, {
      metadata: {
        uid: "<uid-1>",
        resourceVersion: "<rv>",
        creationTimestamp: "<time>",
        ownerReferences: [{ uid: "<uid-2>" }, { uid: "<uid-1>" }],
      },
      data: { when: "yesterday", n: "42" },
    });
  });

  it("finds every leaf difference, null against absent and extra list items included", () => {
    assert.deepEqual(
      differences({ a: null, l: [1, 2], o: { x: 1 } }, { l: [1], o: { x: 2 } }),
      [
        { path: ".a", fake: null, real: undefined },
        { path: ".l[1]", fake: 2, real: undefined },
        { path: ".o.x", fake: 1, real: 2 },
      ],
    );
    assert.deepEqual(
      differences({ a: [1, { b: "c" }] }, { a: [1, { b: "c" }] }),
      [],
    );
  });

  it("covers a difference by a listed path or a subtree of it, never a sibling that shares a prefix", () => {
    const listed = {
      scenario: "s",
      step: "list",
      path: ".body.items[1]",
      reason: "r",
    };
    const at = (path: string, step = "list") => ({
      path,
      step,
      fake: 1,
      real: 2,
    });
    assert.equal(covers(listed, "s", at(".body.items[1]")), true);
    assert.equal(covers(listed, "s", at(".body.items[1].metadata.name")), true);
    assert.equal(covers(listed, "s", at(".body.items[10]")), false);
    assert.equal(covers(listed, "s", at(".body.items[1]", "get")), false);
    assert.equal(covers(listed, "t", at(".body.items[1]")), false);
  });
});

describe("the divergence list of the differential suite", () => {
  it("names scenarios that exist, and the module doc of testing/mod.ts gives each reason", () => {
    const names = new Set(SCENARIOS.map((s) => s.name));
    for (const d of DIVERGENCES) {
      assert.ok(names.has(d.scenario), `unknown scenario ${d.scenario}`);
    }
    const doc = flat(
      readFileSync(new URL("../../testing/mod.ts", import.meta.url), "utf8"),
    );
    for (const reason of REASONS) {
      assert.ok(
        doc.includes(flat(reason)),
        `testing/mod.ts does not give the reason: ${reason}`,
      );
    }
  });
});

describe("TestApiServer against a real kube-apiserver 1.32 (differential)", {
  skip: skipUnlessEnvTest("the differential suite"),
}, () => {
  let planes: Planes | undefined;
  let results: Judged[] = [];
  before(async () => {
    planes = await startPlanes(process.env.KUBEBUILDER_ASSETS ?? "");
    results = await runScenarios(planes, SCENARIOS);
    console.log(report(results));
  });
  after(async () => {
    await planes?.stop();
  });

  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: differs only as the divergence list says`, () => {
      const result = results.find((r) => r.name === scenario.name);
      assert.ok(result, `the scenario ${scenario.name} did not run`);
      const where = (d: { step: string; path: string }) =>
        `[${d.step}] ${d.path || "(whole)"}`;
      assert.deepEqual(
        result.unlisted.map(where),
        [],
        `unlisted differences:\n${report([result])}`,
      );
      assert.deepEqual(
        result.stale.map(where),
        [],
        "listed divergences that did not happen",
      );
      assert.ok(result.steps > 0, "the scenario compared nothing");
    });
  }

  it("keeps the built-in types table what the server's OpenAPI says", async () => {
    const live = extract(await fetchDocuments(planes!.real));
    assert.deepEqual(BUILTIN_TYPES, live.types);
    assert.deepEqual(BUILTIN_KINDS, live.kinds);
  });
});
