import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type JSONSchemaProps,
  validateValue,
  ValidationError,
} from "../../crd/mod.ts";

const ports: JSONSchemaProps = {
  type: "array",
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["name"],
  items: {
    type: "object",
    required: ["name", "port"],
    properties: {
      name: { type: "string", pattern: "^[a-z]+$" },
      port: { type: "integer", minimum: 1, maximum: 65535 },
    },
  },
};

const spec: JSONSchemaProps = {
  type: "object",
  required: ["domain", "replicas"],
  properties: {
    domain: { type: "string", minLength: 3, maxLength: 10 },
    replicas: { type: "integer", minimum: 1 },
    tier: { type: "string", enum: ["free", "pro"] },
    ratio: { type: "number", minimum: 0, exclusiveMinimum: true },
    ports,
    labels: { type: "object", additionalProperties: { type: "string" } },
    target: { "x-kubernetes-int-or-string": true },
    owner: { type: "string", nullable: true },
    extra: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
    tags: {
      type: "array",
      "x-kubernetes-list-type": "set",
      items: { type: "string" },
    },
    size: { type: "integer", default: 1 },
  },
};

function problems(value: unknown, schema: JSONSchemaProps = spec) {
  return validateValue(schema, value, { path: "spec" });
}

describe("validateValue", () => {
  it("accepts a valid value", () => {
    assert.deepEqual(
      problems({
        domain: "example",
        replicas: 2,
        tier: "pro",
        ratio: 0.5,
        ports: [{ name: "http", port: 80 }, { name: "https", port: 443 }],
        labels: { app: "web" },
        target: "50%",
        owner: null,
        extra: { anything: [1, { deep: true }] },
        tags: ["a", "b"],
      }),
      [],
    );
  });

  it("returns every field error with its path", () => {
    assert.deepEqual(
      problems({
        domain: "ab",
        replicas: "3",
        tier: "gold",
        ratio: 0,
        ports: [{ name: "http", port: 80 }, { name: "Bad", port: 70000 }],
        labels: { app: 1 },
        target: 1.5,
      }),
      [
        {
          path: "spec.domain",
          reason: "FieldValueInvalid",
          message: "expected at least 3 characters, found 2",
        },
        {
          path: "spec.replicas",
          reason: "FieldValueTypeInvalid",
          message: "expected integer, found string",
        },
        {
          path: "spec.tier",
          reason: "FieldValueNotSupported",
          message: 'expected one of "free", "pro", found "gold"',
        },
        {
          path: "spec.ratio",
          reason: "FieldValueInvalid",
          message: "expected a number greater than 0, found 0",
        },
        {
          path: "spec.ports[1].name",
          reason: "FieldValueInvalid",
          message: 'expected a string matching ^[a-z]+$ (RE2), found "Bad"',
        },
        {
          path: "spec.ports[1].port",
          reason: "FieldValueInvalid",
          message: "expected a number of at most 65535, found 70000",
        },
        {
          path: "spec.labels.app",
          reason: "FieldValueTypeInvalid",
          message: "expected string, found integer",
        },
        {
          path: "spec.target",
          reason: "FieldValueTypeInvalid",
          message: "expected integer or string, found number",
        },
      ],
    );
  });

  it("reports missing required fields, except those with a default", () => {
    const found = validateValue(
      { ...spec, required: ["domain", "size"] },
      {},
      { path: "spec" },
    );
    assert.deepEqual(found, [{
      path: "spec.domain",
      reason: "FieldValueRequired",
      message: "is required",
    }]);
  });

  it("reports unknown fields unless preserve-unknown-fields allows them", () => {
    assert.deepEqual(problems({ domain: "abc", replicas: 1, replica: 2 }), [
      {
        path: "spec.replica",
        reason: "FieldValueForbidden",
        message:
          "unknown field: the schema does not define it (the API server prunes it unless fieldValidation is Strict)",
      },
    ]);
    assert.deepEqual(
      validateValue(spec, { domain: "abc", replicas: 1, replica: 2 }, {
        rejectUnknownFields: false,
      }),
      [],
    );
  });

  it("counts string length in characters, not UTF-16 units", () => {
    assert.deepEqual(problems({ domain: "😀😀😀", replicas: 1 }), []);
    assert.equal(
      problems({ domain: "😀😀😀😀😀😀😀😀😀😀😀", replicas: 1 }).length,
      1,
    );
  });

  it("drops null on a field that is not nullable (as the server does), so a required one is missing", () => {
    assert.deepEqual(problems({ domain: null, replicas: 1, owner: null }), [
      {
        path: "spec.domain",
        reason: "FieldValueRequired",
        message: "is required",
      },
    ]);
    assert.deepEqual(problems({ domain: "abc", replicas: 1, tier: null }), []);
  });

  it("finds duplicates in set lists and map lists", () => {
    assert.deepEqual(
      problems({
        domain: "abc",
        replicas: 1,
        tags: ["a", "a"],
        ports: [{ name: "web", port: 1 }, { name: "web", port: 2 }],
      }).map((p) => p.path),
      ["spec.tags[1]", "spec.ports[1]"],
    );
  });

  it("applies allOf, anyOf, oneOf and not as value validations", () => {
    const schema: JSONSchemaProps = {
      type: "object",
      properties: { a: { type: "string" }, b: { type: "string" } },
      oneOf: [{ required: ["a"] }, { required: ["b"] }],
      not: { required: ["c"] },
    };
    assert.deepEqual(validateValue(schema, { a: "x" }), []);
    assert.deepEqual(validateValue(schema, { a: "x", b: "y" }), [{
      path: "",
      reason: "FieldValueInvalid",
      message:
        "expected a value matching exactly one of 2 oneOf schemas, found 2",
    }]);
    assert.deepEqual(validateValue(schema, {}), [{
      path: "",
      reason: "FieldValueInvalid",
      message:
        "expected a value matching exactly one of 2 oneOf schemas, found 0",
    }]);
  });

  it("rejects NaN and Infinity as numbers", () => {
    assert.deepEqual(
      problems({ domain: "abc", replicas: 1, ratio: Number.NaN }),
      [{
        path: "spec.ratio",
        reason: "FieldValueInvalid",
        message:
          "expected a finite number, found NaN (JSON would carry it as null)",
      }],
    );
  });
});

describe("ValidationError", () => {
  it("lists every field in its message and in fields", () => {
    const error = new ValidationError('Website "blog"', [
      { path: "spec.replicas", message: "expected integer, found string" },
      { path: "spec.domain", message: "is required" },
    ]);
    assert.equal(error.name, "ValidationError");
    assert.equal(
      error.message,
      'Invalid Website "blog": spec.replicas: expected integer, found string; spec.domain: is required',
    );
    assert.equal(error.fields.length, 2);
  });
});
