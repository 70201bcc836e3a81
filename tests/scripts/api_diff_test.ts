import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  diffApi,
  differingPaths,
  formatChanges,
  type Json,
  signatures,
} from "../../scripts/api_diff.ts";

function doc(symbols: Json[]): Json {
  return { version: 2, nodes: { "file:///mod.ts": { symbols } } };
}

function declaration(params: Json[], doc = "Docs.", line = 1): Json {
  return {
    kind: "function",
    location: { filename: "file:///a.ts", line },
    jsDoc: { doc },
    def: {
      params,
      returnType: {
        kind: "typeRef",
        value: {
          typeName: "Result",
          resolution: { kind: "import", specifier: `./v${line}/result.ts` },
        },
      },
    },
  };
}

function fn(name: string, params: Json[] = []): Json {
  return { name, declarations: [declaration(params)] };
}

describe("api_diff", () => {
  it("ignores documentation, source locations, import paths and re-export references", () => {
    const moved = {
      name: "f",
      declarations: [
        { kind: "reference", def: { target: { filename: "file:///b.ts" } } },
        declaration([], "Reworded.", 40),
      ],
    };
    assert.deepEqual(signatures(doc([fn("f")])), signatures(doc([moved])));
  });

  it("ignores the parameters of private members and async, not that a private constructor exists", () => {
    const klass = (params: Json[], isAsync: boolean, accessibility = "") =>
      doc([{
        name: "C",
        declarations: [{
          kind: "class",
          def: {
            constructors: [{ accessibility, name: "constructor", params }],
            methods: [{ name: "start", functionDef: { isAsync } }],
          },
        }],
      }]);
    assert.deepEqual(
      signatures(klass([{ name: "a" }], false, "private")),
      signatures(klass([{ name: "b" }], true, "private")),
    );
    assert.notDeepEqual(
      signatures(klass([], false, "private")),
      signatures(klass([], false, "public")),
    );
  });

  it("reports an added, a removed and a changed symbol with the path that differs", () => {
    const before = { ".": signatures(doc([fn("f"), fn("g")])) };
    const after = { ".": signatures(doc([fn("f", [{ name: "x" }]), fn("h")])) };
    const changes = diffApi(before, after);
    assert.deepEqual(changes.map((c) => `${c.change} ${c.symbol}`), [
      "changed f",
      "removed g",
      "added h",
    ]);
    assert.deepEqual(changes[0].paths, ["/0/def/params/0"]);
    assert.match(formatChanges(changes), /api: 1 added, 1 removed, 1 changed$/);
  });

  it("says unchanged when nothing differs, and lists a whole new entry point", () => {
    const api = { ".": signatures(doc([fn("f")])) };
    assert.equal(formatChanges(diffApi(api, api)), "api: unchanged");
    const more = { ...api, "./extra": { g: 1 } };
    assert.deepEqual(diffApi(api, more), [
      { entry: "./extra", symbol: "g", change: "added", paths: [] },
    ]);
  });

  it("finds differences in nested objects and arrays, at most the limit", () => {
    assert.deepEqual(differingPaths({ a: [1, 2] }, { a: [1, 3] }), ["/a/1"]);
    assert.deepEqual(differingPaths({ a: 1 }, { b: 1 }), ["/a", "/b"]);
    assert.deepEqual(differingPaths(1, "1"), ["/"]);
    const wide = Object.fromEntries([...Array(9).keys()].map((i) => [i, i]));
    assert.equal(differingPaths(wide, {}, 3).length, 3);
  });
});
