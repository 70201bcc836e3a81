import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Type } from "typebox";
import {
  IntOrString,
  NonStructuralSchemaError,
  Nullable,
  PreserveUnknownFields,
  toStructuralSchema,
} from "../../crd/mod.ts";

function problemsOf(schema: unknown): { path: string; message: string }[] {
  try {
    toStructuralSchema(schema);
  } catch (error) {
    assert.ok(error instanceof NonStructuralSchemaError);
    return [...error.problems];
  }
  assert.fail("expected the schema to be refused");
}

function refuses(schema: unknown, path: string, rule: RegExp): void {
  const problems = problemsOf(schema);
  assert.ok(
    problems.some((p) => p.path === path && rule.test(p.message)),
    `expected a problem at ${path} matching ${rule}, found ${
      JSON.stringify(problems)
    }`,
  );
}

describe("toStructuralSchema rewrites TypeBox idioms exactly", () => {
  it("turns a union of string literals into a typed enum", () => {
    const schema = toStructuralSchema(
      Type.Object({ tier: Type.Union([Type.Literal("a"), Type.Literal("b")]) }),
    );
    assert.deepEqual(schema.properties?.tier, {
      type: "string",
      enum: ["a", "b"],
    });
  });

  it("turns a union with Type.Null() into nullable", () => {
    const schema = toStructuralSchema(
      Type.Object({ owner: Type.Union([Type.String(), Type.Null()]) }),
    );
    assert.deepEqual(schema.properties?.owner, {
      type: "string",
      nullable: true,
    });
  });

  it("turns Type.Record(Type.String(), X) into additionalProperties", () => {
    const schema = toStructuralSchema(
      Type.Object({ labels: Type.Record(Type.String(), Type.Integer()) }),
    );
    assert.deepEqual(schema.properties?.labels, {
      type: "object",
      additionalProperties: { type: "integer" },
    });
  });

  it("turns const into a one-value enum and infers the type of a bare enum", () => {
    const schema = toStructuralSchema(
      Type.Object({ mode: Type.Literal(3), level: Type.Enum([1, 2]) }),
    );
    assert.deepEqual(schema.properties?.mode, { type: "number", enum: [3] });
    assert.deepEqual(schema.properties?.level, {
      type: "integer",
      enum: [1, 2],
    });
  });

  it("turns numeric exclusive bounds into the OpenAPI v3.0 boolean form", () => {
    const schema = toStructuralSchema(
      Type.Object({ ratio: Type.Number({ exclusiveMinimum: 0 }) }),
    );
    assert.deepEqual(schema.properties?.ratio, {
      type: "number",
      minimum: 0,
      exclusiveMinimum: true,
    });
  });

  it("drops TypeBox's hidden markers and keeps the Kubernetes helpers", () => {
    const schema = toStructuralSchema(
      Type.Object({
        port: IntOrString({ description: "a port" }),
        values: PreserveUnknownFields(),
        note: Type.Optional(Nullable(Type.String())),
      }),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema);
    assert.equal(Object.getOwnPropertyNames(schema).includes("~kind"), false);
    assert.deepEqual(schema, {
      type: "object",
      required: ["port", "values"],
      properties: {
        port: { description: "a port", "x-kubernetes-int-or-string": true },
        values: {
          type: "object",
          "x-kubernetes-preserve-unknown-fields": true,
        },
        note: { type: "string", nullable: true },
      },
    });
  });

  it("keeps a nullable enum's values in allOf, since the server never accepts null for a field with an enum", () => {
    const schema = toStructuralSchema(
      Type.Object({
        mode: Type.Union([Type.Literal("a"), Type.Literal("b"), Type.Null()], {
          default: "a",
        }),
        owner: Nullable(Type.Union([Type.Literal(1), Type.Literal(2)])),
      }),
    );
    assert.deepEqual(schema.properties?.mode, {
      type: "string",
      default: "a",
      nullable: true,
      allOf: [{ enum: ["a", "b"] }],
    });
    assert.deepEqual(schema.properties?.owner, {
      type: "integer",
      nullable: true,
      allOf: [{ enum: [1, 2] }],
    });
  });

  it("turns additionalProperties: true into x-kubernetes-preserve-unknown-fields (the server prunes under the former)", () => {
    const schema = toStructuralSchema(
      Type.Object({
        bag: Type.Object({}, { additionalProperties: true }),
        conf: Type.Object({ a: Type.String() }, { additionalProperties: true }),
      }),
    );
    assert.deepEqual(schema.properties?.bag, {
      type: "object",
      "x-kubernetes-preserve-unknown-fields": true,
    });
    assert.deepEqual(schema.properties?.conf, {
      type: "object",
      required: ["a"],
      properties: { a: { type: "string" } },
      "x-kubernetes-preserve-unknown-fields": true,
    });
  });

  it("turns Type.Union([Type.Integer(), Type.String()]) into int-or-string", () => {
    const schema = toStructuralSchema(
      Type.Object({ port: Type.Union([Type.Integer(), Type.String()]) }),
    );
    assert.deepEqual(schema.properties?.port, {
      "x-kubernetes-int-or-string": true,
    });
  });

  it("adds no type inside not, anyOf, oneOf or allOf, and leaves out annotations the server drops", () => {
    const schema = toStructuralSchema(
      Type.Object({
        user: Type.String({ not: { enum: ["root"] }, examples: ["me"] }),
        id: Type.Optional(Type.String({ readOnly: true })),
        code: Type.String({ anyOf: [{ pattern: "^a" }, { pattern: "^b" }] }),
      }),
    );
    assert.deepEqual(schema.properties?.user, {
      type: "string",
      not: { enum: ["root"] },
    });
    assert.deepEqual(schema.properties?.id, { type: "string" });
    assert.deepEqual(schema.properties?.code, {
      type: "string",
      anyOf: [{ pattern: "^a" }, { pattern: "^b" }],
    });
  });

  it("accepts RE2 patterns JavaScript refuses", () => {
    for (
      const pattern of ["(?i)^abc$", "^[[:alpha:]]+$", "\\Aabc\\z", "^a\\-b$"]
    ) {
      const schema = toStructuralSchema(
        Type.Object({ word: Type.String({ pattern }) }),
      );
      assert.equal(schema.properties?.word.pattern, pattern);
    }
  });

  it("accepts value validations under junctors when the structure names the fields", () => {
    const schema = toStructuralSchema({
      type: "object",
      properties: { a: { type: "string" }, b: { type: "string" } },
      oneOf: [{ required: ["a"] }, { required: ["b"] }],
    });
    assert.equal(schema.oneOf?.length, 2);
  });

  it("accepts the int-or-string anyOf pattern", () => {
    const schema = toStructuralSchema({
      type: "object",
      properties: {
        port: {
          "x-kubernetes-int-or-string": true,
          anyOf: [{ type: "integer" }, { type: "string" }],
        },
      },
    });
    assert.ok(schema.properties?.port);
  });
});

describe("toStructuralSchema refuses what a real API server refuses", () => {
  it("refuses a default that is invalid before nested defaults apply", () => {
    refuses(
      Type.Object({
        conf: Type.Object({ level: Type.Integer({ default: 3 }) }, {
          default: {},
        }),
      }),
      "spec.conf.level",
      /default must be valid as written .*is required/,
    );
  });

  it("refuses defaults that break their format or carry unknown fields", () => {
    refuses(
      Type.Object({ when: Type.String({ format: "date-time", default: "x" }) }),
      "spec.when",
      /format datetime/,
    );
    refuses(
      Type.Object({
        conf: Type.Object({ a: Type.Optional(Type.String()) }, {
          default: { a: "x", b: "y" },
        }),
      }),
      "spec.conf",
      /must not have unknown fields/,
    );
  });

  it("refuses patterns Go's regexp refuses", () => {
    refuses(
      Type.Object({ word: Type.String({ pattern: "^caf\\u00e9$" }) }),
      "spec.word",
      /invalid escape sequence/,
    );
    refuses(
      Type.Object({ word: Type.String({ pattern: "^a{1,2000}$" }) }),
      "spec.word",
      /invalid repeat count/,
    );
  });

  it("refuses set lists of objects that are not atomic, and map lists keyed by an object", () => {
    refuses(
      Type.Object({
        items: Type.Array(Type.Object({ a: Type.String() }), {
          "x-kubernetes-list-type": "set",
        }),
      }),
      "spec.items[*]",
      /x-kubernetes-map-type atomic/,
    );
    refuses(
      Type.Object({
        items: Type.Array(
          Type.Object({ ref: Type.Object({ a: Type.String() }) }),
          {
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["ref"],
          },
        ),
      }),
      "spec.items",
      /must be a scalar/,
    );
  });
});

describe("toStructuralSchema refuses non-structural schemas", () => {
  it("refuses a field without a type, naming the path", () => {
    refuses(
      Type.Object({ anything: Type.Unknown() }),
      "spec.anything",
      /type must not be empty for specified object fields/,
    );
  });

  it("refuses array items without a type", () => {
    refuses(
      Type.Object({ list: Type.Array(Type.Any()) }),
      "spec.list[*]",
      /type must not be empty for specified array items/,
    );
  });

  it("refuses a union of object schemas", () => {
    refuses(
      Type.Object({
        source: Type.Union([
          Type.Object({ git: Type.String() }),
          Type.Object({ image: Type.String() }),
        ]),
      }),
      "spec.source.anyOf[0]",
      /type must be empty inside allOf, anyOf, oneOf or not/,
    );
  });

  it("refuses an unmerged intersection and names Type.Evaluate", () => {
    const a = Type.Object({ a: Type.String() });
    const b = Type.Object({ b: Type.Integer() });
    refuses(
      Type.Object({ both: Type.Intersect([a, b]) }),
      "spec.both.allOf[0]",
      /Type\.Evaluate\(Type\.Intersect/,
    );
    const merged = toStructuralSchema(
      Type.Object({ both: Type.Evaluate(Type.Intersect([a, b])) }),
    );
    assert.deepEqual(merged.properties?.both, {
      type: "object",
      required: ["a", "b"],
      properties: { a: { type: "string" }, b: { type: "integer" } },
    });
  });

  it("refuses $ref", () => {
    refuses(
      { type: "object", properties: { a: { $ref: "#/definitions/a" } } },
      "spec.a",
      /\$ref is not supported/,
    );
  });

  it("refuses additionalProperties together with properties", () => {
    refuses(
      Type.Object({ a: Type.String() }, {
        additionalProperties: Type.String(),
      }),
      "spec",
      /additionalProperties and properties are mutually exclusive/,
    );
  });

  it("refuses additionalProperties: false", () => {
    refuses(
      Type.Object({ a: Type.String() }, { additionalProperties: false }),
      "spec",
      /additionalProperties cannot be false/,
    );
  });

  it("refuses uniqueItems: true", () => {
    refuses(
      Type.Object({ tags: Type.Array(Type.String(), { uniqueItems: true }) }),
      "spec.tags",
      /uniqueItems cannot be set to true/,
    );
  });

  it("refuses tuples", () => {
    refuses(
      Type.Object({ pair: Type.Tuple([Type.String(), Type.Integer()]) }),
      "spec.pair",
      /items must be a schema object and not an array/,
    );
  });

  it("refuses patternProperties other than a plain record", () => {
    refuses(
      Type.Object({
        env: Type.Record(Type.String({ pattern: "^[A-Z]+$" }), Type.String()),
      }),
      "spec.env",
      /patternProperties is not supported/,
    );
  });

  it("refuses type null and arrays without items", () => {
    refuses(
      { type: "object", properties: { n: { type: "null" } } },
      "spec.n",
      /type cannot be null: use nullable/,
    );
    refuses(
      { type: "object", properties: { l: { type: "array" } } },
      "spec.l",
      /items must be specified for type array/,
    );
  });

  it("refuses int-or-string with a type, and preserve-unknown-fields false", () => {
    refuses(
      {
        type: "object",
        properties: {
          p: { type: "string", "x-kubernetes-int-or-string": true },
        },
      },
      "spec.p",
      /type must be empty if x-kubernetes-int-or-string is true/,
    );
    refuses(
      {
        type: "object",
        "x-kubernetes-preserve-unknown-fields": false,
      },
      "spec",
      /must be true or undefined/,
    );
  });

  it("refuses a map list whose keys are neither required nor defaulted", () => {
    refuses(
      {
        type: "object",
        properties: {
          ports: {
            type: "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            items: {
              type: "object",
              properties: { name: { type: "string" } },
            },
          },
        },
      },
      "spec.ports",
      /"name" must be required or have a default/,
    );
  });

  it("refuses fields named under a junctor but not outside it", () => {
    refuses(
      {
        type: "object",
        properties: { a: { type: "string" } },
        anyOf: [{ properties: { b: { minLength: 1 } } }],
      },
      "spec.anyOf[0].b",
      /field "b" must also be specified outside allOf, anyOf, oneOf or not/,
    );
  });

  it("refuses metadata inside a junctor", () => {
    refuses(
      {
        type: "object",
        properties: { metadata: { type: "object" } },
        allOf: [{ properties: { metadata: { required: ["name"] } } }],
      },
      "spec.allOf[0].metadata",
      /metadata must not be specified inside allOf/,
    );
  });

  it("refuses a default that does not match its schema", () => {
    refuses(
      Type.Object({ replicas: Type.Integer({ minimum: 1, default: 0 }) }),
      "spec.replicas",
      /default must be valid as written .*: expected a number of at least 1, found 0/,
    );
  });

  it("refuses patterns RE2 cannot run", () => {
    refuses(
      Type.Object({ name: Type.String({ pattern: "^(?!admin).*$" }) }),
      "spec.name",
      /pattern must be a valid RE2 regular expression .*invalid or unsupported Perl syntax/,
    );
  });

  it("refuses a spec that is not an object", () => {
    refuses(Type.String(), "spec", /type must be object for spec/);
  });

  it("lists every problem, not only the first", () => {
    const problems = problemsOf(
      Type.Object({ a: Type.Unknown(), b: Type.Array(Type.Unknown()) }),
    );
    assert.deepEqual(problems.map((p) => p.path), ["spec.a", "spec.b[*]"]);
  });

  it("names the kind and each path in the error message", () => {
    assert.throws(
      () => toStructuralSchema(Type.Object({ x: Type.Any() }), { kind: "Db" }),
      (error: unknown) =>
        error instanceof NonStructuralSchemaError &&
        /^Expected a structural schema for Db, found 1 problem: spec\.x: type must not be empty/
          .test(error.message),
    );
  });
});
