import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  coverage,
  type DocSymbol,
  ownSymbols,
} from "../../scripts/doc_coverage.ts";

function symbol(
  name: string,
  jsDoc?: DocSymbol["declarations"][number]["jsDoc"],
  line = 1,
): DocSymbol {
  return {
    name,
    declarations: [{
      location: { filename: "file:///a.ts", line },
      kind: "function",
      jsDoc,
    }],
  };
}

describe("doc_coverage", () => {
  it("counts symbols with a description and with an @example", () => {
    const c = coverage([
      symbol("a", { doc: "Does a.", tags: [{ kind: "example" }] }, 1),
      symbol("b", { doc: "Does b." }, 2),
      symbol("c", { doc: "  ", tags: [{ kind: "example" }] }, 3),
      symbol("d", undefined, 4),
    ]);
    assert.equal(c.symbols, 4);
    assert.equal(c.documented, 2);
    assert.equal(c.withExample, 2);
    assert.deepEqual(c.undocumented, ["c", "d"]);
    assert.deepEqual(c.withoutExample, ["b", "d"]);
  });

  it("counts examples of run-time values apart from types", () => {
    const c = coverage([
      symbol("f", { doc: "F.", tags: [{ kind: "example" }] }, 1),
      symbol("g", { doc: "G." }, 2),
      {
        name: "T",
        declarations: [{
          location: { filename: "file:///a.ts", line: 3 },
          kind: "interface",
          jsDoc: { doc: "T.", tags: [{ kind: "example" }] },
        }],
      },
    ]);
    assert.equal(c.values, 2);
    assert.equal(c.valuesWithExample, 1);
    assert.equal(c.withExample, 2);
  });

  it("counts a symbol re-exported by several entry points once", () => {
    const a = symbol("a", { doc: "Does a." });
    assert.equal(coverage([a, a, { ...a }]).symbols, 1);
  });

  it("counts an overloaded symbol documented when one declaration is", () => {
    const c = coverage([{
      name: "f",
      declarations: [
        { location: { filename: "a.ts", line: 1 }, kind: "function" },
        {
          location: { filename: "a.ts", line: 2 },
          kind: "function",
          jsDoc: { doc: "F.", tags: [{ kind: "example" }] },
        },
      ],
    }]);
    assert.equal(c.documented, 1);
    assert.equal(c.withExample, 1);
  });

  it("counts documented members of classes and interfaces", () => {
    const c = coverage([{
      name: "K",
      declarations: [{
        location: { filename: "a.ts", line: 1 },
        kind: "class",
        jsDoc: { doc: "K." },
        def: {
          methods: [{ name: "m", jsDoc: { doc: "M." } }, { name: "n" }],
          properties: [{ name: "p", jsDoc: { doc: "P." } }],
          constructors: [{}],
        },
      }],
    }]);
    assert.equal(c.members, 4);
    assert.equal(c.documentedMembers, 2);
  });

  it("leaves out symbols re-exported from a dependency, keeping ours", () => {
    const ours = symbol("defineCustomResource");
    ours.declarations[0].location.filename = "file:///repo/crd/define.ts";
    const theirs = symbol("Static");
    theirs.declarations[0].location.filename =
      "file:///root/.cache/deno/npm/registry.npmjs.org/typebox/1.4.3/static.d.mts";
    const { own, foreign } = ownSymbols([ours, theirs], "file:///repo/");
    assert.deepEqual(own.map((s) => s.name), ["defineCustomResource"]);
    assert.deepEqual(foreign.map((s) => s.name), ["Static"]);
  });
});
