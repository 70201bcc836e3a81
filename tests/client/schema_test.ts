/**
 * `client/schema.ts`, case by case: each behaviour below is one a real
 * kube-apiserver 1.32 showed on the differential corpus
 * (`tests/crd/corpus/`), written out so that a regression names the rule
 * it breaks.
 *
 * @module
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  admitObject,
  admitValue,
  type JSONSchemaProps,
  schemaProblems,
  validateValue,
} from "../../client/schema.ts";

function object(properties: Record<string, JSONSchemaProps>, extra = {}) {
  return { type: "object", properties, ...extra } as JSONSchemaProps;
}

function paths(schema: JSONSchemaProps, value: unknown): string[] {
  return validateValue(schema, value).map((p) => p.path);
}

describe("admission: pruning, nulls and defaults in the server's order", () => {
  it("drops null on a non-nullable field, or replaces it with the default", () => {
    const schema = object({
      replicas: { type: "integer", default: 1 },
      name: { type: "string" },
      owner: { type: "string", nullable: true },
    });
    assert.deepEqual(
      admitValue(schema, { replicas: null, name: null, owner: null }).value,
      { replicas: 1, owner: null },
    );
  });

  it("drops null on an int-or-string field, so a required one is missing", () => {
    const schema = object({ port: { "x-kubernetes-int-or-string": true } }, {
      required: ["port"],
    });
    assert.deepEqual(validateValue(schema, { port: null }), [{
      path: "port",
      reason: "FieldValueRequired",
      message: "is required",
    }]);
  });

  it("prunes everything nested under additionalProperties: true, keeps it under preserve-unknown-fields", () => {
    const open = object({
      bag: { type: "object", additionalProperties: true },
    });
    assert.deepEqual(
      admitValue(open, { bag: { b: { c: "d" }, l: [1, { x: 1 }], n: null } })
        .value,
      { bag: { b: {}, l: [1, {}], n: null } },
    );
    const preserved = object({
      bag: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
    });
    assert.deepEqual(
      admitValue(preserved, { bag: { b: { c: "d" } } }).value,
      { bag: { b: { c: "d" } } },
    );
  });

  it("applies defaults inside a default it just filled in", () => {
    const schema = object({
      conf: object({ level: { type: "integer", default: 3 } }, { default: {} }),
    });
    assert.deepEqual(admitValue(schema, {}).value, { conf: { level: 3 } });
    assert.deepEqual(admitValue(schema, { conf: null }).value, {
      conf: { level: 3 },
    });
  });

  it("never applies default: null, so a required field stays missing", () => {
    const schema = object({
      value: { type: "string", nullable: true, default: null },
    }, { required: ["value"] });
    assert.deepEqual(paths(schema, {}), ["value"]);
    assert.deepEqual(paths(schema, { value: null }), []);
  });

  it("finds duplicates in map lists after defaulting the keys", () => {
    const schema = object({
      ports: {
        type: "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["protocol", "port"],
        items: object({
          protocol: { type: "string", default: "TCP" },
          port: { type: "integer" },
        }, { required: ["port"] }),
      },
    });
    assert.deepEqual(
      paths(schema, { ports: [{ port: 80 }, { protocol: "TCP", port: 80 }] }),
      ["ports[1]"],
    );
  });

  it("reports unknown fields only when asked (fieldValidation=Strict)", () => {
    const schema = object({ a: { type: "string" } });
    assert.deepEqual(admitValue(schema, { a: "x", b: 1 }).problems, []);
    assert.deepEqual(admitValue(schema, { a: "x", b: 1 }).pruned, ["b"]);
    assert.deepEqual(paths(schema, { a: "x", b: 1 }), ["b"]);
  });
});

describe("validation with the server's numbers", () => {
  it("takes an integer only when its JSON digits fit an int64", () => {
    const schema = object({ n: { type: "integer" } });
    assert.deepEqual(paths(schema, { n: 2e18 }), []);
    assert.deepEqual(paths(schema, { n: 1e20 }), ["n"]);
    assert.deepEqual(
      paths(schema, { n: -(2 ** 63) }),
      ["n"],
      "sent as -9223372036854776000",
    );
    assert.deepEqual(paths(schema, { n: 2.5 }), ["n"]);
    assert.deepEqual(
      paths(schema, { n: 3.0000000001 }),
      [],
      "within the relative epsilon of an integer",
    );
  });

  it("checks multipleOf with a relative epsilon on floats and truncated factors on integers", () => {
    const step = object({ s: { type: "number", multipleOf: 0.1 } });
    assert.deepEqual(paths(step, { s: 0.3 }), []);
    assert.deepEqual(paths(step, { s: 12345678.9 }), []);
    assert.deepEqual(paths(step, { s: 0.35 }), ["s"]);
    assert.deepEqual(
      paths(step, { s: 3 }),
      ["s"],
      "an integer against a factor that truncates to 0",
    );
    const twoAndHalf = object({ s: { type: "number", multipleOf: 2.5 } });
    assert.deepEqual(paths(twoAndHalf, { s: 7.5 }), []);
    assert.deepEqual(paths(twoAndHalf, { s: 5 }), ["s"], "5 % int64(2.5) != 0");
  });

  it("compares an integer with truncated bounds of a number field", () => {
    const schema = object({
      under: { type: "number", maximum: 1.5, exclusiveMaximum: true },
      over: { type: "number", minimum: 0.5 },
    });
    assert.deepEqual(paths(schema, { under: 1 }), ["under"]);
    assert.deepEqual(paths(schema, { under: 1.2 }), []);
    assert.deepEqual(paths(schema, { over: 0 }), []);
    assert.deepEqual(paths(schema, { over: 0.25 }), ["over"]);
  });

  it("matches enums after converting the value to each enum value's type", () => {
    const schema = object({
      level: { type: "number", enum: [1, 2] },
      letter: { "x-kubernetes-int-or-string": true, enum: ["a", 66] },
    });
    assert.deepEqual(paths(schema, { level: 1.5 }), []);
    assert.deepEqual(
      paths(schema, { letter: 97 }),
      [],
      'int64 97 converts to the string "a"',
    );
    assert.deepEqual(paths(schema, { letter: "B" }), ["letter"]);
  });

  it("never accepts null for a field with an enum, even a nullable one", () => {
    const schema = object({
      mode: { type: "string", nullable: true, enum: ["a", null] },
    });
    assert.deepEqual(paths(schema, { mode: null }), ["mode"]);
  });
});

describe("validation of strings", () => {
  it("runs patterns as RE2 (Go's regexp), not as JavaScript", () => {
    const schema = object({
      gap: { type: "string", pattern: "^\\s+$" },
      word: { type: "string", pattern: "(?i)^abc$" },
    });
    assert.deepEqual(paths(schema, { gap: " \t" }), []);
    assert.deepEqual(paths(schema, { gap: "\u00a0" }), ["gap"]);
    assert.deepEqual(paths(schema, { word: "ABC" }), []);
  });

  it("counts length in code points", () => {
    const schema = object({ s: { type: "string", maxLength: 3 } });
    assert.deepEqual(paths(schema, { s: "😀😀😀" }), []);
    assert.deepEqual(paths(schema, { s: "e\u0301e\u0301" }), ["s"]);
  });

  it("checks the formats the server checks, and no others", () => {
    const schema = object({
      at: { type: "string", format: "date-time" },
      ip: { type: "string", format: "ipv4" },
      custom: { type: "string", format: "int32" },
    });
    assert.deepEqual(paths(schema, { at: "2024-01-02T03:04:05Z" }), []);
    assert.deepEqual(paths(schema, { at: "2024-01-02T03:04:05" }), ["at"]);
    assert.deepEqual(paths(schema, { at: "2024-02-30T03:04:05Z" }), ["at"]);
    assert.deepEqual(
      paths(schema, { ip: "010.0.0.1" }),
      [],
      "leading zeros parse sloppily",
    );
    assert.deepEqual(paths(schema, { ip: "::1" }), ["ip"]);
    assert.deepEqual(paths(schema, { custom: "anything" }), []);
  });
});

describe("admitObject: a whole custom object", () => {
  const root = object({
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { type: "object" },
    spec: object({ a: { type: "string" } }),
    status: object({ ready: { type: "boolean" } }),
  }, { required: ["spec"] });
  const base = { apiVersion: "x.io/v1", kind: "X", spec: {} };

  it("checks metadata as the server does: DNS-1123 names and namespaces, label syntax, annotation size", () => {
    const problems = (metadata: unknown) =>
      admitObject(root, { ...base, metadata }, { namespaced: true }).problems
        .map((p) => p.path);
    assert.deepEqual(problems({ name: "a", namespace: "1crdfuzz" }), []);
    assert.deepEqual(problems({ name: "1abc" }), []);
    assert.deepEqual(problems({ name: "Sample" }), ["metadata.name"]);
    assert.deepEqual(problems({ generateName: "gen-" }), []);
    assert.deepEqual(problems({}), ["metadata.name"]);
    assert.deepEqual(problems({ name: "a", labels: { app: "bad value!" } }), [
      "metadata.labels",
    ]);
    assert.deepEqual(
      problems({ name: "a", annotations: { a: "x".repeat(262144) } }),
      ["metadata.annotations"],
    );
    assert.deepEqual(
      problems({ name: "a", annotations: { a: "x".repeat(262143) } }),
      [],
    );
  });

  it("drops unknown and empty metadata fields, and status when asked", () => {
    const { value } = admitObject(root, {
      ...base,
      metadata: { name: "a", bogus: 1, labels: null },
      status: { ready: "no" },
    }, { namespaced: true, dropStatus: true });
    assert.deepEqual(value, { ...base, metadata: { name: "a" } });
  });

  it("keeps deletionGracePeriodSeconds 0 (a pointer in Go) while dropping a zero generation", () => {
    const { value } = admitObject(root, {
      ...base,
      metadata: {
        name: "a",
        deletionTimestamp: "2025-01-01T00:00:00Z",
        deletionGracePeriodSeconds: 0,
        generation: 0,
      },
    }, { namespaced: true });
    assert.deepEqual(value, {
      ...base,
      metadata: {
        name: "a",
        deletionTimestamp: "2025-01-01T00:00:00Z",
        deletionGracePeriodSeconds: 0,
      },
    });
  });

  it("requires apiVersion and kind of an embedded resource", () => {
    const embedded = object({
      spec: object({
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          "x-kubernetes-preserve-unknown-fields": true,
        },
      }),
    });
    assert.deepEqual(
      admitObject(embedded, {
        ...base,
        metadata: { name: "a" },
        spec: { template: { apiVersion: "v1", metadata: { bogus: 1 } } },
      }, { namespaced: true }).problems.map((p) => p.path),
      ["spec.template.kind"],
    );
  });
});

describe("schemaProblems: what the server refuses in a CRD schema", () => {
  it("refuses a default that is invalid before nested defaults apply", () => {
    const problems = schemaProblems(object({
      conf: object({ level: { type: "integer", default: 3 } }, {
        default: {},
        required: ["level"],
      }),
    }));
    assert.deepEqual(problems.map((p) => p.path), ["spec.conf.level"]);
  });

  it("refuses defaults with unknown fields, or that break their format", () => {
    const problems = schemaProblems(object({
      conf: object({ a: { type: "string" } }, { default: { a: "x", b: "y" } }),
      when: { type: "string", format: "date-time", default: "yesterday" },
    }));
    assert.deepEqual(problems.map((p) => p.path), ["spec.conf", "spec.when"]);
  });

  it("checks patterns as RE2: refuses \\u and repeats over 1000, accepts (?i) and [[:alpha:]]", () => {
    const pattern = (p: string) =>
      schemaProblems(object({ s: { type: "string", pattern: p } })).length;
    assert.equal(pattern("^caf\\u00e9$"), 1);
    assert.equal(pattern("^a{1,2000}$"), 1);
    assert.equal(pattern("(?=a)"), 1);
    assert.equal(pattern("(?i)^abc$"), 0);
    assert.equal(pattern("^[[:alpha:]]+$"), 0);
    assert.equal(pattern("\\Aabc\\z"), 0);
    assert.equal(pattern("^a\\-b$"), 0);
  });

  it("refuses set lists of granular objects and map lists keyed by an object", () => {
    const set = schemaProblems(object({
      items: {
        type: "array",
        "x-kubernetes-list-type": "set",
        items: object({ a: { type: "string" } }),
      },
    }));
    assert.deepEqual(set.map((p) => p.path), ["spec.items[*]"]);
    const atomic = schemaProblems(object({
      items: {
        type: "array",
        "x-kubernetes-list-type": "set",
        items: object({ a: { type: "string" } }, {
          "x-kubernetes-map-type": "atomic",
        }),
      },
    }));
    assert.deepEqual(atomic, []);
    const map = schemaProblems(object({
      items: {
        type: "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["ref"],
        items: object({ ref: object({ a: { type: "string" } }) }, {
          required: ["ref"],
        }),
      },
    }));
    assert.deepEqual(map.map((p) => p.path), ["spec.items"]);
  });

  it("ignores keywords JSONSchemaProps lacks only when told to (the server drops them)", () => {
    const schema = object({ a: { type: "string", examples: ["x"] } });
    assert.equal(schemaProblems(schema).length, 1);
    assert.equal(
      schemaProblems(schema, { refuseUnknownKeywords: false }).length,
      0,
    );
  });
});
