/**
 * The TypeScript type of a resource accepts nothing the real server refuses
 * on write, for types, nullability, enums and required/optional: each value
 * the type allows is admitted by the library unchanged (the library's
 * admission is checked against a real kube-apiserver by the differential
 * corpus, `corpus_test.ts`), and each `@ts-expect-error` line is a value
 * the server refuses (`deno check` fails if the type starts accepting it).
 * Values the type cannot express (patterns, ranges, integer-ness) are
 * checked at run time.
 *
 * @module
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import Type from "typebox";
import {
  defineCustomResource,
  type InferResource,
  IntOrString,
  Nullable,
  PreserveUnknownFields,
} from "../../crd/mod.ts";

const Kitchen = defineCustomResource({
  group: "types.k8s-operator.dev",
  version: "v1",
  kind: "Kitchen",
  scope: "Namespaced",
  spec: Type.Object({
    name: Type.String(),
    note: Type.Optional(Type.String()),
    mode: Type.Union([Type.Literal("a"), Type.Literal("b"), Type.Null()]),
    level: Type.Optional(
      Type.Union([Type.Literal(1), Type.Literal(2), Type.Null()], {
        default: 1,
      }),
    ),
    tier: Type.Optional(
      Type.Union([Type.Literal("free"), Type.Literal("pro")]),
    ),
    owner: Type.Optional(Nullable(Type.String())),
    ref: Type.Optional(
      Type.Union([Type.Object({ name: Type.String() }), Type.Null()]),
    ),
    port: IntOrString(),
    portUnion: Type.Optional(Type.Union([Type.Integer(), Type.String()])),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    bag: Type.Optional(Type.Object({}, { additionalProperties: true })),
    values: Type.Optional(PreserveUnknownFields()),
    replicas: Type.Integer({ default: 1 }),
    tags: Type.Optional(Type.Array(Type.String())),
  }),
  status: Type.Object({ ready: Type.Optional(Type.Boolean()) }),
});
type Kitchen = InferResource<typeof Kitchen>;
type Spec = Kitchen["spec"];

const minimal: Spec = {
  name: "k",
  mode: null,
  level: 2,
  port: 80,
  replicas: 1,
};

function admitted(spec: Spec): { problems: string[]; spec: unknown } {
  const result = Kitchen.admit(
    Kitchen.build({ metadata: { name: "k" }, spec }),
    { operation: "create" },
  );
  return {
    problems: result.problems.map((p) => `${p.path}: ${p.message}`),
    spec: result.object.spec,
  };
}

describe("the TypeScript type of a resource and the real server", () => {
  it("accepts null for a nullable enum, and the server stores it", () => {
    const spec: Spec = { ...minimal, mode: null, level: null };
    assert.deepEqual(admitted(spec), { problems: [], spec });
    // @ts-expect-error "c" is not one of the literals
    const other: Spec = { ...minimal, mode: "c" };
    assert.ok(admitted(other).problems.length > 0);
    assert.ok(
      admitted(other).problems.every((p) => p.startsWith("spec.mode: ")),
    );
  });

  it("accepts null for Nullable() and unions with Type.Null(), and the server stores it", () => {
    const spec: Spec = { ...minimal, owner: null, ref: null };
    assert.deepEqual(admitted(spec), { problems: [], spec });
  });

  it("refuses null for a field that is not nullable (the server would drop it)", () => {
    // @ts-expect-error note is optional, not nullable
    const note: Spec = { ...minimal, note: null };
    // @ts-expect-error tier is an enum without null
    const tier: Spec = { ...minimal, tier: null };
    // @ts-expect-error replicas is an integer
    const replicas: Spec = { ...minimal, replicas: null };
    assert.ok(note && tier && replicas);
  });

  it("requires what the server requires", () => {
    // @ts-expect-error name is required
    const noName: Spec = { mode: null, port: 80, replicas: 1 };
    // @ts-expect-error mode is required (it may be null, not absent)
    const noMode: Spec = { name: "k", port: 80, replicas: 1 };
    assert.deepEqual(admitted(noName).problems, ["spec.name: is required"]);
    assert.deepEqual(admitted(noMode).problems, ["spec.mode: is required"]);
  });

  it("allows an integer or a string for IntOrString and Union([Integer, String]), nothing else", () => {
    const spec: Spec = { ...minimal, port: "http", portUnion: 8080 };
    assert.deepEqual(admitted(spec), { problems: [], spec });
    // @ts-expect-error a boolean is neither
    const bool: Spec = { ...minimal, port: true };
    assert.ok(bool);
    assert.deepEqual(
      admitted({ ...minimal, port: 1.5 }).problems,
      ["spec.port: expected integer or string, found number"],
      "integer-ness is checked at run time",
    );
  });

  it("keeps nested data under an open object (additionalProperties: true) and PreserveUnknownFields", () => {
    const spec: Spec = {
      ...minimal,
      bag: { b: { c: "d" }, list: [1, { x: 1 }] },
      values: { a: { b: [1, { c: null }] } },
    };
    assert.deepEqual(admitted(spec), { problems: [], spec });
  });

  it("types map values and list items", () => {
    const spec: Spec = { ...minimal, labels: { a: "1" }, tags: ["x"] };
    assert.deepEqual(admitted(spec), { problems: [], spec });
    // @ts-expect-error label values are strings
    const labels: Spec = { ...minimal, labels: { a: 1 } };
    // @ts-expect-error tags are strings
    const tags: Spec = { ...minimal, tags: [1] };
    assert.ok(labels && tags);
  });

  it("checks at run time what the type cannot say: int64 range and integer-ness", () => {
    assert.deepEqual(admitted({ ...minimal, replicas: 1e20 }).problems, [
      "spec.replicas: expected integer, found 100000000000000000000, an integer beyond the int64 range (a float to the server)",
    ]);
    assert.deepEqual(admitted({ ...minimal, replicas: 2.5 }).problems, [
      "spec.replicas: expected integer, found number",
    ]);
  });
});
