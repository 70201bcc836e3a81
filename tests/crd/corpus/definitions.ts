/**
 * The differential corpus: TypeBox definitions users reach for, each with
 * hand-written objects (the generator in `_corpus.ts` adds more from each
 * schema). Every case here was run against a real kube-apiserver 1.32 and
 * its verdict recorded in `recorded.json`; a bug found anywhere adds its
 * case here.
 *
 * @module
 */
import Type from "typebox";
import {
  IntOrString,
  Nullable,
  PreserveUnknownFields,
} from "../../../crd/mod.ts";
import { Website } from "../../../examples/resources.ts";

/** One object of a definition, as sent to the server. */
export interface CorpusObject {
  /** Unique within the definition. */
  id: string;
  /** `spec`; absent means no spec at all. */
  spec?: unknown;
  /** `status`, if any. */
  status?: unknown;
  /** Replaces the default metadata (`{ name: "sample" }`). */
  metadata?: Record<string, unknown>;
  /** More top-level fields. */
  extra?: Record<string, unknown>;
}

/** One definition of the corpus. */
export interface CorpusDefinition {
  /** Unique, lowercase words joined by `-` (the kind is made from it). */
  id: string;
  /** The category of the issue this case belongs to. */
  category: string;
  /** The TypeBox schema of `spec`. */
  spec: unknown;
  /** The TypeBox schema of `status` (enables the status subresource). */
  status?: unknown;
  /** Objects written by hand for this definition. */
  objects?: CorpusObject[];
  /** Generate objects from the schema too (default true). */
  generate?: boolean;
  /** Default `Namespaced`. */
  scope?: "Namespaced" | "Cluster";
}

const S = Type.String;
const I = Type.Integer;
const O = Type.Object;
const Opt = Type.Optional;
const L = Type.Literal;
const U = Type.Union;
const raw = <T>(schema: Record<string, unknown>) => Type.Unsafe<T>(schema);

/** The corpus, in the order of the categories. */
export const definitions: CorpusDefinition[] = [
  // optional and required
  {
    id: "optional-basic",
    category: "optional",
    spec: O({ name: S(), note: Opt(S()), count: Opt(I()) }),
    objects: [
      { id: "only-required", spec: { name: "a" } },
      { id: "missing-required", spec: { note: "n" } },
      { id: "no-spec" },
      { id: "spec-null", spec: null },
      { id: "spec-array", spec: [] },
    ],
  },
  {
    id: "optional-nested",
    category: "optional",
    spec: O({ outer: Opt(O({ inner: S(), extra: Opt(I()) })) }),
    objects: [
      { id: "empty", spec: {} },
      { id: "outer-empty", spec: { outer: {} } },
      { id: "outer-null", spec: { outer: null } },
    ],
  },
  {
    id: "required-bool",
    category: "optional",
    spec: O({ enabled: Type.Boolean(), paused: Opt(Type.Boolean()) }),
    objects: [
      { id: "false", spec: { enabled: false } },
      { id: "string-true", spec: { enabled: "true" } },
      { id: "zero", spec: { enabled: 0 } },
    ],
  },
  // nullable
  {
    id: "nullable-string",
    category: "nullable",
    spec: O({ owner: U([S(), Type.Null()]) }),
    objects: [
      { id: "null", spec: { owner: null } },
      { id: "missing", spec: {} },
      { id: "value", spec: { owner: "me" } },
    ],
  },
  {
    id: "nullable-optional-int",
    category: "nullable",
    spec: O({ size: Opt(U([I({ minimum: 1 }), Type.Null()])) }),
    objects: [
      { id: "null", spec: { size: null } },
      { id: "zero", spec: { size: 0 } },
    ],
  },
  {
    id: "nullable-enum",
    category: "nullable",
    spec: O({ mode: U([L("a"), L("b"), Type.Null()]) }),
    objects: [
      { id: "null", spec: { mode: null } },
      { id: "a", spec: { mode: "a" } },
      { id: "c", spec: { mode: "c" } },
      { id: "string-null", spec: { mode: "null" } },
      { id: "missing", spec: {} },
    ],
  },
  {
    id: "nullable-enum-default",
    category: "nullable",
    spec: O({
      mode: Opt(U([L("a"), L("b"), Type.Null()], { default: "a" })),
    }),
    objects: [
      { id: "null", spec: { mode: null } },
      { id: "missing", spec: {} },
      { id: "b", spec: { mode: "b" } },
    ],
  },
  {
    id: "nullable-object",
    category: "nullable",
    spec: O({ ref: Opt(U([O({ name: S() }), Type.Null()])) }),
    objects: [
      { id: "null", spec: { ref: null } },
      { id: "empty", spec: { ref: {} } },
      { id: "name-null", spec: { ref: { name: null } } },
    ],
  },
  {
    id: "nullable-array",
    category: "nullable",
    spec: O({ tags: Opt(U([Type.Array(S()), Type.Null()])) }),
    objects: [
      { id: "null", spec: { tags: null } },
      { id: "item-null", spec: { tags: ["a", null] } },
    ],
  },
  {
    id: "nullable-required-default-null",
    category: "nullable",
    spec: O({ value: U([S(), Type.Null()], { default: null }) }),
    objects: [
      { id: "missing", spec: {} },
      { id: "null", spec: { value: null } },
      { id: "set", spec: { value: "x" } },
    ],
  },
  {
    id: "non-nullable-default",
    category: "nullable",
    spec: O({ replicas: I({ default: 1 }), name: Opt(S({ default: "n" })) }),
    objects: [
      { id: "null", spec: { replicas: null } },
      { id: "both-null", spec: { replicas: null, name: null } },
      { id: "missing", spec: {} },
    ],
  },
  {
    id: "non-nullable-no-default",
    category: "nullable",
    spec: O({ replicas: Opt(I()), name: Opt(S()), list: Opt(Type.Array(I())) }),
    objects: [
      { id: "null-int", spec: { replicas: null } },
      { id: "null-list", spec: { list: null } },
      { id: "null-item", spec: { list: [1, null] } },
    ],
  },
  {
    id: "non-nullable-required-null",
    category: "nullable",
    spec: O({ name: S() }),
    objects: [{ id: "null", spec: { name: null } }],
  },
  {
    id: "nullable-helper",
    category: "nullable",
    spec: O({ owner: Opt(Nullable(S({ minLength: 2 }))) }),
    objects: [
      { id: "null", spec: { owner: null } },
      { id: "short", spec: { owner: "a" } },
    ],
  },
  // enums and literals
  {
    id: "enum-strings",
    category: "enum",
    spec: O({ size: U([L("s"), L("m"), L("l")]) }),
    objects: [
      { id: "m", spec: { size: "m" } },
      { id: "upper", spec: { size: "M" } },
      { id: "number", spec: { size: 1 } },
    ],
  },
  {
    id: "enum-numbers",
    category: "enum",
    spec: O({ level: U([L(1), L(2), L(3)]), ratio: Opt(U([L(1), L(1.5)])) }),
    objects: [
      { id: "two", spec: { level: 2 } },
      { id: "four", spec: { level: 4 } },
      { id: "ratio", spec: { level: 1, ratio: 1.5 } },
      { id: "ratio-bad", spec: { level: 1, ratio: 2 } },
    ],
  },
  {
    id: "enum-type-enum",
    category: "enum",
    spec: O({ pick: Type.Enum(["p", "q"]) }),
    objects: [{ id: "p", spec: { pick: "p" } }, {
      id: "r",
      spec: { pick: "r" },
    }],
  },
  {
    id: "enum-literal",
    category: "enum",
    spec: O({ kind: L("fixed"), on: Opt(L(true)) }),
    objects: [
      { id: "fixed", spec: { kind: "fixed" } },
      { id: "other", spec: { kind: "other" } },
      { id: "off", spec: { kind: "fixed", on: false } },
    ],
  },
  {
    id: "enum-default",
    category: "enum",
    spec: O({ tier: Opt(U([L("free"), L("pro")], { default: "free" })) }),
    objects: [{ id: "missing", spec: {} }, {
      id: "null",
      spec: { tier: null },
    }],
  },
  {
    id: "enum-default-invalid",
    category: "enum",
    spec: O({ tier: Opt(U([L("free"), L("pro")], { default: "gold" })) }),
  },
  // int-or-string
  {
    id: "int-or-string",
    category: "int-or-string",
    spec: O({ port: IntOrString() }),
    objects: [
      { id: "int", spec: { port: 80 } },
      { id: "name", spec: { port: "http" } },
      { id: "null", spec: { port: null } },
      { id: "float", spec: { port: 1.5 } },
      { id: "bool", spec: { port: true } },
      { id: "missing", spec: {} },
    ],
  },
  {
    id: "int-or-string-optional",
    category: "int-or-string",
    spec: O({ port: Opt(IntOrString()) }),
    objects: [
      { id: "null", spec: { port: null } },
      { id: "missing", spec: {} },
    ],
  },
  {
    id: "int-or-string-union",
    category: "int-or-string",
    spec: O({ port: U([I(), S()]) }),
    objects: [
      { id: "int", spec: { port: 80 } },
      { id: "name", spec: { port: "http" } },
      { id: "float", spec: { port: 1.5 } },
    ],
  },
  {
    id: "int-or-string-default",
    category: "int-or-string",
    spec: O({
      port: Opt(raw<number | string>({
        "x-kubernetes-int-or-string": true,
        default: 8080,
      })),
    }),
    objects: [
      { id: "missing", spec: {} },
      { id: "null", spec: { port: null } },
    ],
  },
  // defaults
  {
    id: "default-nested-required",
    category: "defaults",
    spec: O({ conf: O({ level: I({ default: 3 }) }, { default: {} }) }),
  },
  {
    id: "default-nested-optional",
    category: "defaults",
    spec: O({
      conf: Opt(O({ level: Opt(I({ default: 3 })) }, { default: {} })),
    }),
    objects: [
      { id: "missing", spec: {} },
      { id: "empty", spec: { conf: {} } },
      { id: "set", spec: { conf: { level: 5 } } },
      { id: "null", spec: { conf: null } },
    ],
  },
  {
    id: "default-kinds",
    category: "defaults",
    spec: O({
      tags: Opt(Type.Array(S(), { default: ["a"] })),
      mode: Opt(S({ default: "x", minLength: 1 })),
      conf: Opt(O({ a: Opt(S()) }, { default: { a: "b" } })),
      ratio: Opt(Type.Number({ default: 0.5 })),
      on: Opt(Type.Boolean({ default: true })),
    }),
    objects: [
      { id: "missing", spec: {} },
      {
        id: "all-null",
        spec: { tags: null, mode: null, conf: null, ratio: null, on: null },
      },
      { id: "empty-values", spec: { tags: [], mode: "", conf: {} } },
    ],
  },
  {
    id: "default-format-mismatch",
    category: "defaults",
    spec: O({
      when: Opt(S({ format: "date-time", default: "yesterday" })),
    }),
  },
  {
    id: "default-format-ok",
    category: "defaults",
    spec: O({
      when: Opt(S({ format: "date-time", default: "2024-01-02T03:04:05Z" })),
    }),
    objects: [{ id: "missing", spec: {} }],
  },
  {
    id: "default-pattern-mismatch",
    category: "defaults",
    spec: O({ code: Opt(S({ pattern: "^[a-z]+$", default: "ABC" })) }),
  },
  {
    id: "default-in-items",
    category: "defaults",
    spec: O({
      ports: Type.Array(O({ name: S(), port: Opt(I({ default: 80 })) })),
    }),
    objects: [
      {
        id: "two",
        spec: { ports: [{ name: "a" }, { name: "b", port: 8080 }] },
      },
      { id: "null-port", spec: { ports: [{ name: "a", port: null }] } },
      { id: "null-item", spec: { ports: [null] } },
    ],
  },
  {
    id: "default-in-map",
    category: "defaults",
    spec: O({
      limits: Opt(Type.Record(S(), O({ max: Opt(I({ default: 1 })) }))),
    }),
    objects: [
      { id: "entry", spec: { limits: { a: {} } } },
      { id: "null-entry", spec: { limits: { a: null } } },
    ],
  },
  {
    id: "default-unknown-field",
    category: "defaults",
    spec: O({ conf: Opt(O({ a: Opt(S()) }, { default: { a: "x", b: "y" } })) }),
  },
  {
    id: "default-min-violated",
    category: "defaults",
    spec: O({ replicas: Opt(I({ minimum: 1, default: 0 })) }),
  },
  // maps and preserve-unknown-fields
  {
    id: "map-strings",
    category: "maps",
    spec: O({ labels: Opt(Type.Record(S(), S())) }),
    objects: [
      { id: "two", spec: { labels: { a: "1", "b.c/d": "2" } } },
      { id: "value-int", spec: { labels: { a: 1 } } },
      { id: "value-null", spec: { labels: { a: null } } },
      { id: "empty", spec: { labels: {} } },
    ],
  },
  {
    id: "map-objects",
    category: "maps",
    spec: O({
      limits: Opt(
        Type.Record(S(), O({ max: I(), unit: Opt(S()) }), { maxProperties: 2 }),
      ),
    }),
    objects: [
      { id: "ok", spec: { limits: { cpu: { max: 2 } } } },
      { id: "missing-max", spec: { limits: { cpu: {} } } },
      { id: "unknown-inner", spec: { limits: { cpu: { max: 1, x: 1 } } } },
      {
        id: "three",
        spec: { limits: { a: { max: 1 }, b: { max: 1 }, c: { max: 1 } } },
      },
    ],
  },
  {
    id: "map-additional-true",
    category: "maps",
    spec: O({ bag: Opt(O({}, { additionalProperties: true })) }),
    objects: [
      { id: "nested", spec: { bag: { b: { c: "d" } } } },
      { id: "scalars", spec: { bag: { a: 1, b: "x", c: null } } },
      { id: "list", spec: { bag: { l: [1, { x: 1 }] } } },
    ],
  },
  {
    id: "map-additional-true-with-properties",
    category: "maps",
    spec: O({ conf: Opt(O({ a: Opt(S()) }, { additionalProperties: true })) }),
    objects: [
      { id: "extra", spec: { conf: { a: "x", b: { c: 1 } } } },
    ],
  },
  {
    id: "preserve-unknown",
    category: "maps",
    spec: O({ values: Opt(PreserveUnknownFields()) }),
    objects: [
      { id: "nested", spec: { values: { a: { b: [1, { c: null }] } } } },
      { id: "not-object", spec: { values: [1] } },
      { id: "null", spec: { values: null } },
    ],
  },
  {
    id: "preserve-with-properties",
    category: "maps",
    spec: O({
      conf: Opt(O({ a: Opt(I({ default: 1 })) }, {
        "x-kubernetes-preserve-unknown-fields": true,
      })),
    }),
    objects: [
      { id: "extra", spec: { conf: { b: { c: 1 } } } },
      { id: "typed-wrong", spec: { conf: { a: "x" } } },
    ],
  },
  {
    id: "map-min-properties",
    category: "maps",
    spec: O({ sel: Opt(Type.Record(S(), S(), { minProperties: 1 })) }),
    objects: [{ id: "empty", spec: { sel: {} } }],
  },
  // patterns
  {
    id: "pattern-simple",
    category: "patterns",
    spec: O({ code: S({ pattern: "^[a-z][a-z0-9-]*$" }) }),
    objects: [
      { id: "ok", spec: { code: "ab-1" } },
      { id: "upper", spec: { code: "Ab" } },
      { id: "newline", spec: { code: "ab\n" } },
    ],
  },
  {
    id: "pattern-unicode-escape",
    category: "patterns",
    spec: O({ word: S({ pattern: "^caf\\u00e9$" }) }),
  },
  {
    id: "pattern-big-repeat",
    category: "patterns",
    spec: O({ word: S({ pattern: "^a{1,2000}$" }) }),
  },
  {
    id: "pattern-repeat-1000",
    category: "patterns",
    spec: O({ word: Opt(S({ pattern: "^a{1,1000}$" })) }),
    objects: [{ id: "a", spec: { word: "aaa" } }, {
      id: "b",
      spec: { word: "b" },
    }],
  },
  {
    id: "pattern-case-insensitive",
    category: "patterns",
    spec: O({ word: S({ pattern: "(?i)^abc$" }) }),
    objects: [
      { id: "upper", spec: { word: "ABC" } },
      { id: "other", spec: { word: "abd" } },
    ],
  },
  {
    id: "pattern-posix-class",
    category: "patterns",
    spec: O({ word: S({ pattern: "^[[:alpha:]]+$" }) }),
    objects: [
      { id: "letters", spec: { word: "abc" } },
      { id: "digits", spec: { word: "a1" } },
      { id: "accent", spec: { word: "é" } },
    ],
  },
  {
    id: "pattern-anchors",
    category: "patterns",
    spec: O({ word: S({ pattern: "\\Aabc\\z" }) }),
    objects: [
      { id: "exact", spec: { word: "abc" } },
      { id: "newline", spec: { word: "abc\n" } },
    ],
  },
  {
    id: "pattern-escaped-dash",
    category: "patterns",
    spec: O({ word: S({ pattern: "^a\\-b$" }) }),
    objects: [{ id: "ok", spec: { word: "a-b" } }, {
      id: "no",
      spec: { word: "ab" },
    }],
  },
  {
    id: "pattern-whitespace",
    category: "patterns",
    spec: O({ gap: S({ pattern: "^\\s+$" }) }),
    objects: [
      { id: "space", spec: { gap: " \t" } },
      { id: "nbsp", spec: { gap: "\u00a0" } },
      { id: "vtab", spec: { gap: "\u000b" } },
      { id: "em-space", spec: { gap: "\u2003" } },
    ],
  },
  {
    id: "pattern-word-unicode",
    category: "patterns",
    spec: O({
      word: S({ pattern: "^\\w+$" }),
      any: Opt(S({ pattern: "^.$" })),
    }),
    objects: [
      { id: "accent", spec: { word: "é" } },
      { id: "astral", spec: { word: "a", any: "😀" } },
      { id: "newline-dot", spec: { word: "a", any: "\n" } },
    ],
  },
  {
    id: "pattern-lookahead",
    category: "patterns",
    spec: O({ word: S({ pattern: "^(?=a)a+$" }) }),
  },
  {
    id: "pattern-unicode-class",
    category: "patterns",
    spec: O({ word: S({ pattern: "^\\p{L}+$" }) }),
    objects: [{ id: "accent", spec: { word: "éa" } }, {
      id: "digit",
      spec: { word: "1" },
    }],
  },
  // formats
  {
    id: "format-time",
    category: "formats",
    spec: O({
      at: Opt(S({ format: "date-time" })),
      day: Opt(S({ format: "date" })),
      wait: Opt(S({ format: "duration" })),
    }),
    objects: [
      {
        id: "ok",
        spec: { at: "2024-01-02T03:04:05Z", day: "2024-01-02", wait: "5m" },
      },
      { id: "at-offset", spec: { at: "2024-01-02T03:04:05.123+02:00" } },
      { id: "at-lower", spec: { at: "2024-01-02t03:04:05z" } },
      { id: "at-space", spec: { at: "2024-01-02 03:04:05Z" } },
      { id: "at-no-zone", spec: { at: "2024-01-02T03:04:05" } },
      { id: "at-bad-hour", spec: { at: "2024-01-02T25:04:05Z" } },
      { id: "at-bad-day", spec: { at: "2024-02-30T03:04:05Z" } },
      { id: "day-bad", spec: { day: "2024-13-01" } },
      { id: "day-time", spec: { day: "2024-01-02T00:00:00Z" } },
      { id: "wait-words", spec: { wait: "3 days" } },
      { id: "wait-go", spec: { wait: "1h30m" } },
      { id: "wait-bad", spec: { wait: "soon" } },
    ],
  },
  {
    id: "format-net",
    category: "formats",
    spec: O({
      ip4: Opt(S({ format: "ipv4" })),
      ip6: Opt(S({ format: "ipv6" })),
      cidr: Opt(S({ format: "cidr" })),
      host: Opt(S({ format: "hostname" })),
      mac: Opt(S({ format: "mac" })),
    }),
    objects: [
      {
        id: "ok",
        spec: {
          ip4: "10.0.0.1",
          ip6: "::1",
          cidr: "10.0.0.0/8",
          host: "a.example.com",
          mac: "00:11:22:33:44:55",
        },
      },
      { id: "ip4-leading-zero", spec: { ip4: "010.0.0.1" } },
      { id: "ip4-bad", spec: { ip4: "256.0.0.1" } },
      { id: "ip4-v6", spec: { ip4: "::1" } },
      { id: "ip6-bad", spec: { ip6: "1::2::3" } },
      { id: "ip6-v4", spec: { ip6: "10.0.0.1" } },
      { id: "ip6-mapped", spec: { ip6: "::ffff:10.0.0.1" } },
      { id: "cidr-bad", spec: { cidr: "10.0.0.0/33" } },
      { id: "cidr-host", spec: { cidr: "10.0.0.1" } },
      { id: "host-underscore", spec: { host: "a_b.example.com" } },
      { id: "host-single", spec: { host: "localhost" } },
      { id: "host-trailing-dot", spec: { host: "example.com." } },
      { id: "mac-dash", spec: { mac: "00-11-22-33-44-55" } },
      { id: "mac-bad", spec: { mac: "00:11:22:33:44" } },
    ],
  },
  {
    id: "format-ids",
    category: "formats",
    spec: O({
      id: Opt(S({ format: "uuid" })),
      data: Opt(S({ format: "byte" })),
      mail: Opt(S({ format: "email" })),
      link: Opt(S({ format: "uri" })),
      color: Opt(S({ format: "hexcolor" })),
      secret: Opt(S({ format: "password" })),
      custom: Opt(S({ format: "my-format" })),
    }),
    objects: [
      {
        id: "ok",
        spec: {
          id: "123e4567-e89b-12d3-a456-426614174000",
          data: "aGVsbG8=",
          mail: "a@b.c",
          link: "https://x/y",
          color: "#fff",
          secret: "x",
          custom: "anything",
        },
      },
      {
        id: "uuid-upper",
        spec: { id: "123E4567-E89B-12D3-A456-426614174000" },
      },
      { id: "uuid-nodash", spec: { id: "123e4567e89b12d3a456426614174000" } },
      { id: "uuid-bad", spec: { id: "not-a-uuid" } },
      { id: "byte-bad", spec: { data: "a" } },
      { id: "byte-nopad", spec: { data: "aGVsbG8" } },
      { id: "mail-bad", spec: { mail: "nobody" } },
      { id: "mail-name", spec: { mail: "A <a@b.c>" } },
      { id: "link-relative", spec: { link: "/x/y" } },
      { id: "link-bad", spec: { link: "x y" } },
      { id: "color-bad", spec: { color: "#ffff" } },
    ],
  },
  {
    id: "format-numbers",
    category: "formats",
    spec: O({
      small: Opt(I({ format: "int32" })),
      big: Opt(I({ format: "int64" })),
      ratio: Opt(Type.Number({ format: "float" })),
    }),
    objects: [
      { id: "over-int32", spec: { small: 3000000000 } },
      { id: "ok", spec: { small: 1, big: 2, ratio: 0.5 } },
    ],
  },
  // list types
  {
    id: "list-set-strings",
    category: "list types",
    spec: O({
      tags: Opt(Type.Array(S(), { "x-kubernetes-list-type": "set" })),
    }),
    objects: [
      { id: "unique", spec: { tags: ["a", "b"] } },
      { id: "duplicate", spec: { tags: ["a", "a"] } },
    ],
  },
  {
    id: "list-set-objects",
    category: "list types",
    spec: O({
      items: Opt(
        Type.Array(O({ a: S() }), { "x-kubernetes-list-type": "set" }),
      ),
    }),
  },
  {
    id: "list-set-atomic-objects",
    category: "list types",
    spec: O({
      items: Opt(
        Type.Array(O({ a: S() }, { "x-kubernetes-map-type": "atomic" }), {
          "x-kubernetes-list-type": "set",
        }),
      ),
    }),
    objects: [
      { id: "unique", spec: { items: [{ a: "x" }, { a: "y" }] } },
      { id: "duplicate", spec: { items: [{ a: "x" }, { a: "x" }] } },
    ],
  },
  {
    id: "list-map",
    category: "list types",
    spec: O({
      ports: Opt(Type.Array(O({ name: S(), port: I() }), {
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
      })),
    }),
    objects: [
      {
        id: "unique",
        spec: { ports: [{ name: "a", port: 1 }, { name: "b", port: 1 }] },
      },
      {
        id: "duplicate",
        spec: { ports: [{ name: "a", port: 1 }, { name: "a", port: 2 }] },
      },
    ],
  },
  {
    id: "list-map-defaulted-key",
    category: "list types",
    spec: O({
      ports: Opt(Type.Array(
        O({ protocol: Opt(S({ default: "TCP" })), port: I() }),
        {
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["protocol", "port"],
        },
      )),
    }),
    objects: [
      {
        id: "dup-after-default",
        spec: { ports: [{ port: 80 }, { protocol: "TCP", port: 80 }] },
      },
      {
        id: "distinct",
        spec: { ports: [{ port: 80 }, { protocol: "UDP", port: 80 }] },
      },
    ],
  },
  {
    id: "list-map-object-key",
    category: "list types",
    spec: O({
      items: Opt(Type.Array(O({ ref: O({ a: S() }), v: Opt(I()) }), {
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["ref"],
      })),
    }),
  },
  {
    id: "list-atomic-bounds",
    category: "list types",
    spec: O({
      hosts: Opt(Type.Array(S({ maxLength: 5 }), {
        "x-kubernetes-list-type": "atomic",
        minItems: 1,
        maxItems: 2,
      })),
    }),
    objects: [
      { id: "empty", spec: { hosts: [] } },
      { id: "three", spec: { hosts: ["a", "b", "c"] } },
      { id: "long", spec: { hosts: ["abcdef"] } },
    ],
  },
  {
    id: "list-unique-items",
    category: "list types",
    spec: O({ tags: Opt(Type.Array(S(), { uniqueItems: true })) }),
  },
  {
    id: "list-nested",
    category: "list types",
    spec: O({ grid: Opt(Type.Array(Type.Array(I({ minimum: 0 })))) }),
    objects: [
      { id: "ok", spec: { grid: [[1, 2], []] } },
      { id: "negative", spec: { grid: [[1, -1]] } },
    ],
  },
  // CEL
  {
    id: "cel-valid",
    category: "CEL",
    spec: O({ min: I(), max: I() }, {
      "x-kubernetes-validations": [{
        rule: "self.min <= self.max",
        message: "min must not exceed max",
      }],
    }),
    objects: [
      { id: "ok", spec: { min: 1, max: 2 } },
      { id: "broken-rule", spec: { min: 3, max: 2 } },
    ],
  },
  {
    id: "cel-does-not-compile",
    category: "CEL",
    spec: O({ min: I() }, {
      "x-kubernetes-validations": [{ rule: "self.min <=" }],
    }),
  },
  // numbers
  {
    id: "number-int64",
    category: "numbers",
    spec: O({ replicas: Opt(I()), ratio: Opt(Type.Number()) }),
    objects: [
      { id: "1e20", spec: { replicas: 1e20 } },
      { id: "max-safe", spec: { replicas: 9007199254740991 } },
      { id: "2e18", spec: { replicas: 2e18 } },
      { id: "minus-1e19", spec: { replicas: -1e19 } },
      { id: "ratio-1e300", spec: { ratio: 1e300 } },
      { id: "int-as-float", spec: { replicas: 1.5 } },
    ],
  },
  {
    id: "number-multiple-of",
    category: "numbers",
    spec: O({
      step: Opt(Type.Number({ multipleOf: 0.1 })),
      even: Opt(I({ multipleOf: 2 })),
    }),
    objects: [
      { id: "0.3", spec: { step: 0.3 } },
      { id: "0.7", spec: { step: 0.7 } },
      { id: "0.35", spec: { step: 0.35 } },
      { id: "1e-10", spec: { step: 1e-10 } },
      { id: "odd", spec: { even: 3 } },
      { id: "big", spec: { step: 12345678.9 } },
    ],
  },
  {
    id: "number-exclusive",
    category: "numbers",
    spec: O({
      share: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
    }),
    objects: [
      { id: "zero", spec: { share: 0 } },
      { id: "half", spec: { share: 0.5 } },
      { id: "one", spec: { share: 1 } },
    ],
  },
  {
    id: "number-bounds",
    category: "numbers",
    spec: O({ replicas: I({ minimum: 1, maximum: 10 }) }),
    objects: [
      { id: "zero", spec: { replicas: 0 } },
      { id: "ten", spec: { replicas: 10 } },
      { id: "eleven", spec: { replicas: 11 } },
    ],
  },
  {
    id: "number-server-arithmetic",
    category: "numbers",
    spec: O({
      half: Opt(Type.Number({ multipleOf: 0.5 })),
      twoAndHalf: Opt(Type.Number({ multipleOf: 2.5 })),
      under: Opt(
        Type.Number({ maximum: 1.5, exclusiveMaximum: true } as never),
      ),
      over: Opt(Type.Number({ minimum: 0.5 })),
      count: Opt(I({ multipleOf: 3, maximum: 10 })),
    }),
    generate: false,
    objects: [
      { id: "half-int", spec: { half: 2 } },
      { id: "half-float", spec: { half: 2.5 } },
      { id: "half-negative", spec: { half: -2.5 } },
      { id: "two-and-half-int", spec: { twoAndHalf: 5 } },
      { id: "two-and-half-float", spec: { twoAndHalf: 7.5 } },
      { id: "under-int", spec: { under: 1 } },
      { id: "under-float", spec: { under: 1.2 } },
      { id: "over-zero", spec: { over: 0 } },
      { id: "over-quarter", spec: { over: 0.25 } },
      { id: "count-six", spec: { count: 6 } },
      { id: "count-seven", spec: { count: 7 } },
      { id: "count-twelve", spec: { count: 12 } },
    ],
  },
  {
    id: "number-near-integer",
    category: "numbers",
    spec: O({ replicas: Opt(I()), port: Opt(IntOrString()) }),
    generate: false,
    objects: [
      { id: "epsilon-above", spec: { replicas: 3.0000000001 } },
      { id: "epsilon-below", spec: { replicas: 2.9999999999 } },
      { id: "max-safe-plus", spec: { replicas: 9007199254740993 } },
      { id: "int64-max", spec: { replicas: 9223372036854775807 } },
      { id: "int64-min", spec: { replicas: -9223372036854775808 } },
      { id: "port-epsilon", spec: { port: 80.0000000001 } },
      { id: "port-negative", spec: { port: -1 } },
    ],
  },
  {
    id: "enum-server-conversion",
    category: "enum",
    spec: O({
      level: Opt(Type.Number({ enum: [1, 2] } as never)),
      letter: Opt(
        raw<string>({ "x-kubernetes-int-or-string": true, enum: ["a", 66] }),
      ),
      conf: Opt(O({ a: I() }, { enum: [{ a: 1 }] } as never)),
    }),
    generate: false,
    objects: [
      { id: "level-fraction", spec: { level: 1.5 } },
      { id: "level-two", spec: { level: 2 } },
      { id: "level-three", spec: { level: 2.9 } },
      { id: "letter-code", spec: { letter: 97 } },
      { id: "letter-a", spec: { letter: "a" } },
      { id: "letter-b", spec: { letter: "B" } },
      { id: "letter-66", spec: { letter: 66 } },
      { id: "conf-match", spec: { conf: { a: 1 } } },
      { id: "conf-other", spec: { conf: { a: 2 } } },
    ],
  },
  {
    id: "format-edges",
    category: "formats",
    spec: O({
      data: Opt(S({ format: "byte" })),
      wait: Opt(S({ format: "duration" })),
      host: Opt(S({ format: "hostname" })),
      mail: Opt(S({ format: "email" })),
      link: Opt(S({ format: "uri" })),
      at: Opt(S({ format: "date-time" })),
      id4: Opt(S({ format: "uuid4" })),
      mac: Opt(S({ format: "mac" })),
      color: Opt(S({ format: "rgbcolor" })),
      isbn: Opt(S({ format: "isbn" })),
    }),
    generate: false,
    objects: [
      { id: "data-empty", spec: { data: "" } },
      { id: "data-url-safe", spec: { data: "a-b_" } },
      { id: "wait-zero", spec: { wait: "0" } },
      { id: "wait-decimal", spec: { wait: "1.5h" } },
      { id: "wait-embedded", spec: { wait: "in 5 minutes please" } },
      { id: "wait-negative", spec: { wait: "-5m" } },
      { id: "wait-unit-only", spec: { wait: "m" } },
      { id: "wait-micro", spec: { wait: "5µs" } },
      { id: "host-unicode", spec: { host: "bücher.example" } },
      { id: "host-digits-tld", spec: { host: "example.123" } },
      { id: "host-dash-start", spec: { host: "-a.example.com" } },
      { id: "host-long-label", spec: { host: `${"a".repeat(64)}.com` } },
      { id: "mail-quoted", spec: { mail: '"a b"@example.com' } },
      { id: "mail-no-domain-dot", spec: { mail: "a@b" } },
      { id: "mail-two-at", spec: { mail: "a@b@c" } },
      { id: "mail-trailing-space", spec: { mail: "a@b.c " } },
      { id: "link-mailto", spec: { link: "mailto:a@b.c" } },
      { id: "link-bad-escape", spec: { link: "/a%zz" } },
      { id: "link-space-path", spec: { link: "/a b" } },
      { id: "link-host-space", spec: { link: "http://a b/" } },
      { id: "link-ipv6", spec: { link: "http://[::1]:80/x" } },
      { id: "at-two-t", spec: { at: "2024-01-02T03:04:05ZT" } },
      { id: "at-fraction-comma", spec: { at: "2024-01-02T03:04:05,5Z" } },
      { id: "at-hour-24", spec: { at: "2024-01-02T24:00:00Z" } },
      { id: "at-leap-second", spec: { at: "2024-01-02T23:59:60Z" } },
      { id: "at-short-year", spec: { at: "24-01-02T03:04:05Z" } },
      { id: "id4-ok", spec: { id4: "123e4567-e89b-42d3-a456-426614174000" } },
      { id: "id4-v1", spec: { id4: "123e4567-e89b-12d3-a456-426614174000" } },
      { id: "mac-dotted", spec: { mac: "0000.5e00.5301" } },
      { id: "mac-eui64", spec: { mac: "00:00:5e:00:53:01:02:03" } },
      { id: "color-ok", spec: { color: "rgb(255, 0, 10)" } },
      { id: "color-over", spec: { color: "rgb(256,0,0)" } },
      { id: "isbn-10", spec: { isbn: "0-321-75104-3" } },
      { id: "isbn-bad", spec: { isbn: "0321751042" } },
    ],
  },
  {
    id: "format-ip-edges",
    category: "formats",
    spec: O({
      ip4: Opt(S({ format: "ipv4" })),
      ip6: Opt(S({ format: "ipv6" })),
      cidr: Opt(S({ format: "cidr" })),
    }),
    generate: false,
    objects: [
      { id: "ip4-mapped", spec: { ip4: "::ffff:10.0.0.1" } },
      { id: "ip4-short", spec: { ip4: "10.1" } },
      {
        id: "ip6-full",
        spec: { ip6: "2001:0db8:0000:0000:0000:0000:0000:0001" },
      },
      { id: "ip6-too-many", spec: { ip6: "1:2:3:4:5:6:7:8:9" } },
      { id: "ip6-zone", spec: { ip6: "fe80::1%eth0" } },
      { id: "ip6-mapped-zero", spec: { ip6: "::ffff:010.0.0.1" } },
      { id: "ip6-trailing-colon", spec: { ip6: "1::" } },
      { id: "ip6-v4-tail", spec: { ip6: "1:2:3:4:5:6:1.2.3.4" } },
      { id: "cidr-v6", spec: { cidr: "fd00::/64" } },
      { id: "cidr-leading-zero", spec: { cidr: "010.0.0.0/08" } },
      { id: "cidr-v6-129", spec: { cidr: "fd00::/129" } },
    ],
  },
  {
    id: "embedded-in-list",
    category: "embedded",
    spec: O({
      objects: Opt(Type.Array(O({
        apiVersion: Opt(S()),
        kind: Opt(S()),
        metadata: Opt(O({ name: Opt(S()) })),
      }, {
        "x-kubernetes-embedded-resource": true,
      }))),
    }),
    generate: false,
    objects: [
      {
        id: "ok",
        spec: {
          objects: [{
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "a" },
          }],
        },
      },
      {
        id: "bad-kind",
        spec: { objects: [{ apiVersion: "v1", kind: "1Secret" }] },
      },
      {
        id: "bad-api-version",
        spec: { objects: [{ apiVersion: "a/b/c", kind: "Secret" }] },
      },
      {
        id: "bad-label",
        spec: {
          objects: [{
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "a", labels: { a: "b c" } },
          }],
        },
      },
      {
        id: "slash-name",
        spec: {
          objects: [{
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "a/b" },
          }],
        },
      },
      { id: "empty-kind", spec: { objects: [{ apiVersion: "v1", kind: "" }] } },
    ],
  },
  {
    id: "cluster-scoped-like",
    category: "metadata",
    spec: O({ a: Opt(S()) }),
    generate: false,
    objects: [
      { id: "generate-name-dash", spec: {}, metadata: { generateName: "a-" } },
      { id: "generate-name-bad", spec: {}, metadata: { generateName: "A_" } },
      {
        id: "generate-name-long",
        spec: {},
        metadata: { generateName: `${"a".repeat(300)}-` },
      },
      {
        id: "owner-ref-missing-uid",
        spec: {},
        metadata: {
          name: "sample",
          ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "x" }],
        },
      },
      {
        id: "finalizer-upper",
        spec: {},
        metadata: { name: "sample", finalizers: ["Example.com/x"] },
      },
      {
        id: "annotation-upper-prefix",
        spec: {},
        metadata: { name: "sample", annotations: { "Example.com/a": "x" } },
      },
      {
        id: "labels-null",
        spec: {},
        metadata: { name: "sample", labels: null },
      },
      {
        id: "label-key-long-name",
        spec: {},
        metadata: { name: "sample", labels: { ["a".repeat(64)]: "x" } },
      },
      {
        id: "label-prefix-long",
        spec: {},
        metadata: { name: "sample", labels: { [`${"a".repeat(254)}/b`]: "x" } },
      },
      {
        id: "annotation-exact-limit",
        spec: {},
        metadata: { name: "sample", annotations: { a: "x".repeat(262143) } },
      },
      { id: "name-dot", spec: {}, metadata: { name: "." } },
      { id: "name-dash-end", spec: {}, metadata: { name: "a-" } },
    ],
  },
  // junctors
  {
    id: "not-enum",
    category: "junctors",
    spec: O({ user: S({ not: { enum: ["root", "admin"] } }) }),
    objects: [{ id: "ok", spec: { user: "me" } }, {
      id: "root",
      spec: { user: "root" },
    }],
  },
  {
    id: "anyof-patterns",
    category: "junctors",
    spec: O({
      code: S({ anyOf: [{ pattern: "^a" }, { pattern: "^b" }] }),
    }),
    objects: [
      { id: "a", spec: { code: "ax" } },
      { id: "c", spec: { code: "cx" } },
    ],
  },
  {
    id: "oneof-required",
    category: "junctors",
    spec: O({ a: Opt(S()), b: Opt(S()) }, {
      oneOf: [{ required: ["a"] }, { required: ["b"] }],
    }),
    objects: [
      { id: "a", spec: { a: "x" } },
      { id: "both", spec: { a: "x", b: "y" } },
      { id: "none", spec: {} },
    ],
  },
  {
    id: "allof-lengths",
    category: "junctors",
    spec: O({ name: S({ allOf: [{ minLength: 2 }, { maxLength: 4 }] }) }),
    objects: [{ id: "ok", spec: { name: "abc" } }, {
      id: "long",
      spec: { name: "abcde" },
    }],
  },
  {
    id: "intersect-objects",
    category: "junctors",
    spec: Type.Intersect([O({ a: S() }), O({ b: I() })]),
  },
  // annotations and unsupported keywords
  {
    id: "keyword-examples-readonly",
    category: "keywords",
    spec: O({
      name: S({ examples: ["web"] }),
      id: Opt(S({ readOnly: true })),
    }),
    objects: [{ id: "ok", spec: { name: "web" } }],
  },
  {
    id: "keyword-any",
    category: "keywords",
    spec: O({ anything: Type.Unknown() }),
  },
  {
    id: "keyword-string-length",
    category: "keywords",
    spec: O({ name: S({ minLength: 2, maxLength: 3 }) }),
    objects: [
      { id: "astral", spec: { name: "😀😀😀" } },
      { id: "combining", spec: { name: "e\u0301e\u0301" } },
      { id: "one", spec: { name: "a" } },
    ],
  },
  // embedded resources
  {
    id: "embedded-resource",
    category: "embedded",
    spec: O({
      template: O({}, {
        "x-kubernetes-embedded-resource": true,
        "x-kubernetes-preserve-unknown-fields": true,
      }),
    }),
    objects: [
      {
        id: "full",
        spec: {
          template: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "x" },
            data: { a: "b" },
          },
        },
      },
      {
        id: "no-kind",
        spec: { template: { apiVersion: "v1", metadata: { name: "x" } } },
      },
      { id: "no-api-version", spec: { template: { kind: "ConfigMap" } } },
      {
        id: "bad-name",
        spec: {
          template: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "Bad_Name" },
          },
        },
      },
      {
        id: "unknown-meta",
        spec: {
          template: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "x", bogus: 1 },
          },
        },
      },
    ],
  },
  // metadata
  {
    id: "metadata",
    category: "metadata",
    spec: O({ a: Opt(S()) }),
    generate: false,
    objects: [
      { id: "plain", spec: {} },
      {
        id: "namespace-digit",
        spec: {},
        metadata: { name: "sample", namespace: "1crdfuzz" },
      },
      { id: "name-digit", spec: {}, metadata: { name: "1abc" } },
      { id: "name-upper", spec: {}, metadata: { name: "Sample" } },
      { id: "name-dots", spec: {}, metadata: { name: "a.b.c" } },
      { id: "name-long", spec: {}, metadata: { name: "a".repeat(254) } },
      { id: "generate-name", spec: {}, metadata: { generateName: "gen-" } },
      { id: "no-name", spec: {}, metadata: {} },
      {
        id: "label-ok",
        spec: {},
        metadata: {
          name: "sample",
          labels: { app: "web", "example.com/tier": "a.b-c_d" },
        },
      },
      {
        id: "label-value-space",
        spec: {},
        metadata: { name: "sample", labels: { app: "bad value!" } },
      },
      {
        id: "label-value-long",
        spec: {},
        metadata: { name: "sample", labels: { app: "a".repeat(64) } },
      },
      {
        id: "label-value-empty",
        spec: {},
        metadata: { name: "sample", labels: { app: "" } },
      },
      {
        id: "label-value-dash-end",
        spec: {},
        metadata: { name: "sample", labels: { app: "web-" } },
      },
      {
        id: "label-key-bad",
        spec: {},
        metadata: { name: "sample", labels: { "-app": "x" } },
      },
      {
        id: "label-key-prefix-upper",
        spec: {},
        metadata: { name: "sample", labels: { "Example.com/app": "x" } },
      },
      {
        id: "label-key-two-slashes",
        spec: {},
        metadata: { name: "sample", labels: { "a/b/c": "x" } },
      },
      {
        id: "label-value-int",
        spec: {},
        metadata: { name: "sample", labels: { app: 1 } },
      },
      {
        id: "annotation-key-bad",
        spec: {},
        metadata: { name: "sample", annotations: { "bad key": "x" } },
      },
      {
        id: "annotation-big",
        spec: {},
        metadata: { name: "sample", annotations: { a: "x".repeat(262145) } },
      },
      {
        id: "annotation-value-any",
        spec: {},
        metadata: { name: "sample", annotations: { a: "any value! é" } },
      },
      {
        id: "unknown-metadata-field",
        spec: {},
        metadata: { name: "sample", bogus: "x" },
      },
      {
        id: "finalizer-bad",
        spec: {},
        metadata: { name: "sample", finalizers: ["no-slash"] },
      },
      {
        id: "finalizer-ok",
        spec: {},
        metadata: { name: "sample", finalizers: ["example.com/cleanup"] },
      },
      { id: "unknown-top-level", spec: {}, extra: { bogus: 1 } },
    ],
  },
  {
    id: "cluster-scoped",
    category: "metadata",
    scope: "Cluster",
    spec: O({ a: Opt(S()) }),
    generate: false,
    objects: [
      { id: "plain", spec: { a: "x" } },
      {
        id: "with-namespace",
        spec: {},
        metadata: { name: "sample", namespace: "corpus" },
      },
    ],
  },
  // the example operator's resource
  {
    id: "example-website",
    category: "examples",
    spec: Website.source.spec,
    status: Website.source.status,
    objects: [
      {
        id: "typical",
        spec: { domain: "blog.example.com", image: "nginx:1.27", replicas: 2 },
      },
      {
        id: "no-replicas",
        spec: { domain: "blog.example.com", image: "nginx:1.27" },
      },
    ],
  },
  // status subresource
  {
    id: "status-subresource",
    category: "status",
    spec: O({ replicas: I({ minimum: 0 }) }),
    status: O({ ready: Opt(I()), phase: Opt(U([L("Up"), L("Down")])) }),
    objects: [
      { id: "invalid-status", spec: { replicas: 1 }, status: { ready: "x" } },
      { id: "valid-status", spec: { replicas: 1 }, status: { ready: 1 } },
      { id: "status-null", spec: { replicas: 1 }, status: null },
    ],
  },
];
