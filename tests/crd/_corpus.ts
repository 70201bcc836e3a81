/**
 * The differential corpus machinery: turns the definitions of
 * `corpus/definitions.ts` into CRD manifests and objects (hand-written plus
 * generated from each schema), runs them through an API server (the real
 * one or the test server, over HTTP) and through the library, and compares
 * the verdicts and the stored forms.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  type CustomResource,
  type CustomResourceDefinitionManifest,
  defineCustomResource,
  type JSONSchemaProps,
  NonStructuralSchemaError,
} from "../../crd/mod.ts";
import { normalize } from "../../crd/_normalize.ts";
import type { KubeClient } from "../../controller/mod.ts";
import {
  type CorpusDefinition,
  type CorpusObject,
  definitions,
} from "./corpus/definitions.ts";

export { definitions };

/** The group of every corpus CRD. */
export const GROUP = "corpus.k8s-operator.dev";
/** The namespace objects go to unless their metadata names another. */
export const NAMESPACE = "corpus";
/** Where the real server's verdicts are recorded. */
export const RECORDED: URL = new URL(
  "./corpus/recorded.json",
  import.meta.url,
);

type Json = unknown;
type Schema = Record<string, unknown>;

/** What one server (or the library) made of one object. */
export interface ObjectVerdict {
  /** The HTTP status (the library: 201 when it finds no problem, else 422). */
  code: number;
  /** The field paths of the causes, when refused. */
  fields?: string[];
  /** The first message, when refused. */
  message?: string;
  /** What was stored (spec, status, metadata projected), when accepted. */
  stored?: Json;
  /** The HTTP status of the same write with `fieldValidation=Strict`. */
  strict?: number;
}

/** What one server (or the library) made of one definition. */
export interface DefinitionVerdict {
  /** The hash of the CRD manifest the library generates (or would). */
  hash: string;
  /** Whether the CRD was accepted (the library: defined without error). */
  accepted: boolean;
  /** Why not, when refused. */
  message?: string;
  /** The verdicts of its objects, by object id (only when accepted). */
  objects: Record<string, ObjectVerdict & { hash: string }>;
}

/** Verdicts of a whole run, by definition id. */
export type RunVerdicts = Record<string, DefinitionVerdict>;

/** The recorded real-server run. */
export interface Recording {
  /** The format of this file. */
  version: 1;
  /** The server's reported version. */
  server: string;
  /** The verdicts. */
  definitions: RunVerdicts;
}

function pascal(id: string): string {
  return id.split("-").map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

/** The names of a definition's CRD. */
export function namesOf(
  def: CorpusDefinition,
): { kind: string; plural: string; singular: string } {
  const singular = `c${def.id.replaceAll("-", "")}`;
  return { kind: `C${pascal(def.id)}`, singular, plural: `${singular}s` };
}

/** The library's resource for a definition, or the error it throws. */
export function defineOf(
  def: CorpusDefinition,
): CustomResource | Error {
  const names = namesOf(def);
  try {
    return defineCustomResource({
      group: GROUP,
      version: "v1",
      kind: names.kind,
      plural: names.plural,
      singular: names.singular,
      scope: def.scope ?? "Namespaced",
      spec: def.spec as object,
      status: def.status as object | undefined,
    }) as unknown as CustomResource;
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
}

/**
 * The CRD the library generates for a definition; when the library refuses
 * the schema, the same manifest built from the schema as rewritten before
 * the checks (what the server is then asked to judge).
 */
export function manifestOf(
  def: CorpusDefinition,
): CustomResourceDefinitionManifest {
  const resource = defineOf(def);
  if (!(resource instanceof Error)) return resource.manifest();
  const names = namesOf(def);
  const properties: Record<string, JSONSchemaProps> = {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { type: "object" },
    spec: normalize(def.spec) as JSONSchemaProps,
  };
  if (def.status !== undefined) {
    properties.status = normalize(def.status) as JSONSchemaProps;
  }
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${names.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: names.kind,
        listKind: `${names.kind}List`,
        plural: names.plural,
        singular: names.singular,
      },
      scope: def.scope ?? "Namespaced",
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: { type: "object", required: ["spec"], properties },
        },
        ...(def.status !== undefined ? { subresources: { status: {} } } : {}),
      }],
    },
  };
}

// ---------------------------------------------------------------------------
// Objects generated from a schema

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const FORMAT_SAMPLES: Record<string, string> = {
  "date-time": "2024-01-02T03:04:05Z",
  date: "2024-01-02",
  duration: "5m",
  ipv4: "10.0.0.1",
  ipv6: "::1",
  cidr: "10.0.0.0/8",
  hostname: "example.com",
  mac: "00:11:22:33:44:55",
  uuid: "123e4567-e89b-12d3-a456-426614174000",
  byte: "aGVsbG8=",
  email: "a@example.com",
  uri: "https://example.com/x",
  hexcolor: "#abc",
};

function clampInt(s: Schema, wanted: number): number {
  let value = wanted;
  if (typeof s.minimum === "number") {
    const low = s.exclusiveMinimum === true
      ? Math.floor(s.minimum) + 1
      : Math.ceil(s.minimum);
    value = Math.max(value, low);
  }
  if (typeof s.maximum === "number") {
    const high = s.exclusiveMaximum === true
      ? Math.ceil(s.maximum) - 1
      : Math.floor(s.maximum);
    value = Math.min(value, high);
  }
  if (typeof s.multipleOf === "number" && Number.isInteger(s.multipleOf)) {
    value = Math.ceil(value / s.multipleOf) * s.multipleOf;
  }
  return value;
}

/** A typical value for a schema node. */
function sample(s: Schema, depth = 0): Json {
  if (s.default !== undefined) return structuredClone(s.default);
  if (Array.isArray(s.enum)) {
    return structuredClone(s.enum.find((v) => v !== null) ?? s.enum[0]);
  }
  if (s["x-kubernetes-int-or-string"] === true) return 8080;
  switch (s.type) {
    case "string": {
      const format = typeof s.format === "string"
        ? FORMAT_SAMPLES[s.format]
        : undefined;
      if (format !== undefined) return format;
      const min = typeof s.minLength === "number" ? s.minLength : 0;
      const max = typeof s.maxLength === "number" ? s.maxLength : 3;
      return "a".repeat(Math.min(Math.max(3, min), max));
    }
    case "integer":
      return clampInt(s, 1);
    case "number":
      return typeof s.minimum === "number" || typeof s.maximum === "number"
        ? ((s.minimum as number ?? 0) + (s.maximum as number ?? 2)) / 2
        : 1.5;
    case "boolean":
      return true;
    case "array": {
      if (!isSchema(s.items) || depth > 4) return [];
      const count = Math.max(
        1,
        typeof s.minItems === "number" ? s.minItems : 1,
      );
      const items = Array.from(
        { length: count },
        () => sample(s.items as Schema, depth + 1),
      );
      return items;
    }
    case "object":
    case undefined: {
      const out: Record<string, Json> = {};
      if (isSchema(s.properties)) {
        for (const [name, prop] of Object.entries(s.properties)) {
          if (isSchema(prop) && depth < 4) out[name] = sample(prop, depth + 1);
        }
      } else if (isSchema(s.additionalProperties)) {
        out.k1 = sample(s.additionalProperties, depth + 1);
      } else if (s["x-kubernetes-preserve-unknown-fields"] === true) {
        out.x = 1;
      }
      return out;
    }
    default:
      return {};
  }
}

/** The value with only required fields (those without a default). */
function minimal(s: Schema, depth = 0): Json {
  if (s.type !== "object" || !isSchema(s.properties) || depth > 4) {
    return sample(s, depth);
  }
  const out: Record<string, Json> = {};
  const required = Array.isArray(s.required) ? s.required : [];
  for (const [name, prop] of Object.entries(s.properties)) {
    if (
      required.includes(name) && isSchema(prop) && prop.default === undefined
    ) {
      out[name] = minimal(prop, depth + 1);
    }
  }
  return out;
}

interface Node {
  path: string[];
  schema: Schema;
}

function nodes(s: Schema, path: string[] = [], out: Node[] = []): Node[] {
  if (path.length > 3) return out;
  if (isSchema(s.properties)) {
    for (const [name, prop] of Object.entries(s.properties)) {
      if (!isSchema(prop)) continue;
      out.push({ path: [...path, name], schema: prop });
      nodes(prop, [...path, name], out);
    }
  }
  if (isSchema(s.items)) {
    out.push({ path: [...path, "0"], schema: s.items });
    nodes(s.items, [...path, "0"], out);
  }
  if (isSchema(s.additionalProperties)) {
    out.push({ path: [...path, "k1"], schema: s.additionalProperties });
    nodes(s.additionalProperties, [...path, "k1"], out);
  }
  return out;
}

function setAt(root: Json, path: string[], value: Json | undefined): boolean {
  let node = root as Record<string, Json>;
  for (const segment of path.slice(0, -1)) {
    const next = node?.[segment];
    if (typeof next !== "object" || next === null) return false;
    node = next as Record<string, Json>;
  }
  const last = path[path.length - 1];
  if (typeof node !== "object" || node === null) return false;
  if (value === undefined) {
    if (!(last in node)) return false;
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else {
    node[last] = value;
  }
  return true;
}

function getAt(root: Json, path: string[]): Json | undefined {
  let node = root;
  for (const segment of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, Json>)[segment];
  }
  return node;
}

function wrongType(s: Schema): Json {
  if (s["x-kubernetes-int-or-string"] === true) return true;
  switch (s.type) {
    case "string":
      return 7;
    case "integer":
    case "number":
      return "7";
    case "boolean":
      return "yes";
    case "array":
      return { a: 1 };
    default:
      return "text";
  }
}

function variants(s: Schema): { kind: string; value: Json }[] {
  const out: { kind: string; value: Json }[] = [
    { kind: "null", value: null },
    { kind: "type", value: wrongType(s) },
  ];
  if (Array.isArray(s.enum)) out.push({ kind: "not-enum", value: "zzz" });
  if (s.type === "integer" || s.type === "number") {
    if (typeof s.minimum === "number") {
      out.push({ kind: "below", value: s.minimum - 1 });
      out.push({ kind: "at-min", value: s.minimum });
    }
    if (typeof s.maximum === "number") {
      out.push({ kind: "above", value: s.maximum + 1 });
    }
    out.push({ kind: "huge", value: 1e20 });
    out.push({ kind: "fraction", value: 2.5 });
    out.push({ kind: "negative", value: -3 });
  }
  if (s.type === "string") {
    out.push({ kind: "empty", value: "" });
    out.push({ kind: "unicode", value: "é😀" });
    if (typeof s.maxLength === "number") {
      out.push({ kind: "too-long", value: "a".repeat(s.maxLength + 1) });
    }
    out.push({ kind: "spaces", value: " a b " });
  }
  if (s.type === "object" || s.type === undefined) {
    out.push({ kind: "empty-object", value: {} });
  }
  if (s.type === "array") {
    out.push({ kind: "empty-array", value: [] });
  }
  return out;
}

function sentBody(
  def: CorpusDefinition,
  object: CorpusObject,
): Record<string, Json> {
  const names = namesOf(def);
  const body: Record<string, Json> = {
    apiVersion: `${GROUP}/v1`,
    kind: names.kind,
    metadata: object.metadata ?? { name: "sample" },
  };
  if ("spec" in object) body.spec = object.spec;
  if ("status" in object) body.status = object.status;
  Object.assign(body, object.extra ?? {});
  return body;
}

/** The objects of a definition: hand-written, then generated. */
export function objectsOf(def: CorpusDefinition): CorpusObject[] {
  const objects = [...(def.objects ?? [])];
  if (def.generate === false) return objects;
  const spec = normalize(def.spec) as Schema;
  const full = sample(spec);
  const generated: CorpusObject[] = [
    { id: "gen:full", spec: full },
    { id: "gen:minimal", spec: minimal(spec) },
    { id: "gen:unknown-field", spec: { ...(full as object), zzUnknown: 1 } },
  ];
  const candidates: CorpusObject[] = [];
  for (const node of nodes(spec)) {
    const at = node.path.join(".");
    const value = structuredClone(full);
    if (setAt(value, node.path, undefined)) {
      candidates.push({ id: `gen:absent:${at}`, spec: value });
    }
    for (const variant of variants(node.schema)) {
      const changed = structuredClone(full);
      if (setAt(changed, node.path, variant.value)) {
        candidates.push({ id: `gen:${variant.kind}:${at}`, spec: changed });
      }
    }
    const current = getAt(full, node.path);
    if (Array.isArray(current) && current.length > 0) {
      const changed = structuredClone(full);
      setAt(changed, node.path, [...current, structuredClone(current[0])]);
      candidates.push({ id: `gen:duplicate:${at}`, spec: changed });
    }
    if (isSchema(current) && isSchema(node.schema.properties)) {
      const changed = structuredClone(full);
      setAt(changed, node.path, { ...current, zzUnknown: { a: 1 } });
      candidates.push({ id: `gen:unknown:${at}`, spec: changed });
    }
  }
  // At most 14 generated variants per definition, spread over the list so
  // every field and every kind of change gets its turn.
  const limit = 14;
  const step = Math.max(1, candidates.length / limit);
  for (
    let i = 0;
    i < candidates.length && generated.length < limit + 3;
    i += step
  ) {
    generated.push(candidates[Math.floor(i)]);
  }
  const seen = new Set(objects.map((o) => JSON.stringify(o.spec)));
  for (const object of generated) {
    const key = JSON.stringify(object.spec);
    if (seen.has(key)) continue;
    seen.add(key);
    objects.push(object);
  }
  if (def.status !== undefined) {
    const status = normalize(def.status) as Schema;
    objects.push({ id: "gen:status", spec: full, status: sample(status) });
  }
  return objects;
}

/** The hash of a definition's manifest, so recordings cannot go stale. */
export function manifestHash(def: CorpusDefinition): string {
  return createHash("sha256").update(JSON.stringify(manifestOf(def)))
    .digest("hex").slice(0, 16);
}

/** The hash of the body sent for an object, so recordings cannot go stale. */
export function hashOf(def: CorpusDefinition, object: CorpusObject): string {
  return createHash("sha256").update(JSON.stringify(sentBody(def, object)))
    .digest("hex").slice(0, 16);
}

// ---------------------------------------------------------------------------
// Stored forms

const SERVER_META = new Set([
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "managedFields",
  "selfLink",
  "name",
  "namespace",
]);

/** The parts of a stored object the comparison looks at. */
export function project(object: Record<string, Json>): Json {
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(object)) {
    if (key === "apiVersion" || key === "kind") continue;
    if (key === "metadata" && isSchema(value)) {
      const meta: Record<string, Json> = {};
      for (const [k, v] of Object.entries(value)) {
        if (!SERVER_META.has(k)) meta[k] = v;
      }
      if (Object.keys(meta).length > 0) out.metadata = meta;
      continue;
    }
    out[key] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Running the corpus against a server

async function json(response: Response): Promise<Record<string, Json>> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

function verdictOf(
  code: number,
  body: Record<string, Json>,
): ObjectVerdict {
  if (code >= 200 && code < 300) return { code, stored: project(body) };
  const details = isSchema(body.details) ? body.details : {};
  const causes = Array.isArray(details.causes) ? details.causes : [];
  const fields = causes.flatMap((c) =>
    isSchema(c) && typeof c.field === "string" ? [c.field] : []
  ).sort();
  return {
    code,
    fields: [...new Set(fields)],
    message: typeof body.message === "string"
      ? body.message.slice(0, 300)
      : undefined,
  };
}

async function until<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  deadlineMs: number,
): Promise<T> {
  const deadline = performance.now() + deadlineMs;
  let delay = 20;
  while (true) {
    const result = await attempt();
    if (result !== undefined) return result;
    if (performance.now() > deadline) {
      throw new Error(`Expected ${what} within ${deadlineMs} ms, found it not`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 250);
  }
}

const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

async function installCrd(
  client: KubeClient,
  def: CorpusDefinition,
): Promise<{ accepted: boolean; message?: string }> {
  const manifest = manifestOf(def);
  const name = manifest.metadata.name;
  const existing = await client.fetch("GET", `${CRD_PATH}/${name}`);
  await existing.body?.cancel();
  if (existing.status === 200) {
    const gone = await client.fetch("DELETE", `${CRD_PATH}/${name}`);
    await gone.body?.cancel();
    await until(`CRD ${name} to be deleted`, async () => {
      const response = await client.fetch("GET", `${CRD_PATH}/${name}`);
      await response.body?.cancel();
      return response.status === 404 ? true : undefined;
    }, 60_000);
  }
  const response = await client.fetch("POST", CRD_PATH, { body: manifest });
  const body = await json(response);
  if (!response.ok) {
    return {
      accepted: false,
      message: typeof body.message === "string"
        ? body.message
        : String(response.status),
    };
  }
  await until(`CRD ${name} to be established`, async () => {
    const crd = await json(await client.fetch("GET", `${CRD_PATH}/${name}`));
    const status = isSchema(crd.status) ? crd.status : {};
    const conditions = Array.isArray(status.conditions)
      ? status.conditions
      : [];
    return conditions.some((c) =>
        isSchema(c) && c.type === "Established" && c.status === "True"
      )
      ? true
      : undefined;
  }, 60_000);
  return { accepted: true };
}

async function createObject(
  client: KubeClient,
  def: CorpusDefinition,
  object: CorpusObject,
): Promise<ObjectVerdict> {
  const body = sentBody(def, object);
  const meta = isSchema(body.metadata) ? body.metadata : {};
  const namespace = typeof meta.namespace === "string"
    ? meta.namespace
    : NAMESPACE;
  const path = def.scope === "Cluster"
    ? `/apis/${GROUP}/v1/${namesOf(def).plural}`
    : `/apis/${GROUP}/v1/namespaces/${encodeURIComponent(namespace)}/${
      namesOf(def).plural
    }`;
  // A freshly established CRD may take a moment to be served (404).
  const post = (query: Record<string, string>) =>
    until(`${def.id} to be served`, async () => {
      const response = await client.fetch("POST", path, { body, query });
      const answer = await json(response);
      if (
        response.status === 404 && isSchema(answer.details) &&
        answer.details.kind === namesOf(def).plural
      ) {
        return undefined;
      }
      return verdictOf(response.status, answer);
    }, 30_000);
  const verdict = await post({ dryRun: "All" });
  const strict = await post({ dryRun: "All", fieldValidation: "Strict" });
  return { ...verdict, strict: strict.code };
}

/** Makes the namespaces the corpus writes to (existing ones are fine). */
async function ensureNamespaces(client: KubeClient): Promise<void> {
  const names = new Set([NAMESPACE]);
  for (const def of definitions) {
    for (const object of def.objects ?? []) {
      const ns = object.metadata?.namespace;
      if (typeof ns === "string") names.add(ns);
    }
  }
  for (const name of names) {
    const response = await client.fetch("POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
    });
    await response.body?.cancel();
  }
}

async function pool<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** Deletes the corpus's CRDs (and so their objects) from a server. */
export async function removeCorpus(client: KubeClient): Promise<void> {
  await pool(definitions, 6, async (def) => {
    const name = manifestOf(def).metadata.name;
    const response = await client.fetch("DELETE", `${CRD_PATH}/${name}`);
    await response.body?.cancel();
  });
}

/** Runs the whole corpus against an API server. */
export async function runServer(
  client: KubeClient,
  options: { only?: (def: CorpusDefinition) => boolean } = {},
): Promise<RunVerdicts> {
  await ensureNamespaces(client);
  const out: RunVerdicts = {};
  const selected = definitions.filter(options.only ?? (() => true));
  await pool(selected, 6, async (def) => {
    const crd = await installCrd(client, def);
    const verdict: DefinitionVerdict = {
      hash: manifestHash(def),
      ...crd,
      objects: {},
    };
    if (crd.accepted) {
      for (const object of objectsOf(def)) {
        verdict.objects[object.id] = {
          hash: hashOf(def, object),
          ...await createObject(client, def, object),
        };
      }
    }
    out[def.id] = verdict;
  });
  return Object.fromEntries(
    selected.map((def) => [def.id, out[def.id]]),
  );
}

// ---------------------------------------------------------------------------
// The library's verdicts

/** What the library makes of one object on create. */
export function libraryObjectVerdict(
  resource: CustomResource,
  def: CorpusDefinition,
  object: CorpusObject,
): ObjectVerdict {
  const body = sentBody(def, object);
  const result = resource.admit(structuredClone(body), {
    operation: "create",
    rejectUnknownFields: false,
  });
  const strict = resource.problems(structuredClone(body), {
      operation: "create",
    }).length === 0
    ? 201
    : 422;
  if (result.problems.length > 0) {
    return {
      code: 422,
      fields: [...new Set(result.problems.map((p) => p.path))].sort(),
      message: result.problems[0].message,
      strict,
    };
  }
  return {
    code: 201,
    stored: project(result.object as unknown as Record<string, Json>),
    strict,
  };
}

/** The library's verdicts on the whole corpus. */
export function runLibrary(): RunVerdicts {
  const out: RunVerdicts = {};
  for (const def of definitions) {
    const resource = defineOf(def);
    if (resource instanceof Error) {
      if (!(resource instanceof NonStructuralSchemaError)) throw resource;
      out[def.id] = {
        hash: manifestHash(def),
        accepted: false,
        message: resource.message,
        objects: {},
      };
      continue;
    }
    const objects: DefinitionVerdict["objects"] = {};
    for (const object of objectsOf(def)) {
      objects[object.id] = {
        hash: hashOf(def, object),
        ...libraryObjectVerdict(resource, def, object),
      };
    }
    out[def.id] = { hash: manifestHash(def), accepted: true, objects };
  }
  return out;
}

// ---------------------------------------------------------------------------
// Comparison

/** One difference between a run and the reference. */
export interface Difference {
  /** The definition. */
  definition: string;
  /** The object, or undefined for the CRD itself. */
  object?: string;
  /**
   * `crd`, `verdict` or `stored`; `strict` for the verdict with
   * `fieldValidation=Strict`; `stale` when the manifest or the object is
   * not the one recorded (run `deno task crd:corpus --record`).
   */
  what: "crd" | "verdict" | "stored" | "strict" | "stale";
  /** What the reference did. */
  expected: string;
  /** What the run did. */
  found: string;
}

function accepted(code: number): boolean {
  return code >= 200 && code < 300;
}

function canonical(value: Json): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      isSchema(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  );
}

/** Every difference of `run` against `reference` (the real server). */
export function compare(
  run: RunVerdicts,
  reference: RunVerdicts,
): Difference[] {
  const out: Difference[] = [];
  for (const id of Object.keys(run)) {
    if (!(id in reference)) {
      out.push({
        definition: id,
        what: "stale",
        expected: "no such definition recorded",
        found: "a definition",
      });
    }
  }
  for (const [id, expected] of Object.entries(reference)) {
    const found = run[id];
    if (found === undefined) {
      out.push({
        definition: id,
        what: "stale",
        expected: "a definition",
        found: "none (removed from the corpus)",
      });
      continue;
    }
    if (found.hash !== expected.hash) {
      out.push({
        definition: id,
        what: "stale",
        expected: `manifest ${expected.hash}`,
        found: `manifest ${found.hash}`,
      });
      continue;
    }
    if (found.accepted !== expected.accepted) {
      out.push({
        definition: id,
        what: "crd",
        expected: expected.accepted
          ? "accepted"
          : `refused: ${expected.message}`,
        found: found.accepted ? "accepted" : `refused: ${found.message}`,
      });
      continue;
    }
    for (const [objectId, want] of Object.entries(expected.objects)) {
      const got = found.objects[objectId];
      if (got === undefined || got.hash !== want.hash) {
        out.push({
          definition: id,
          object: objectId,
          what: "stale",
          expected: `object ${want.hash}`,
          found: got === undefined ? "no such object" : `object ${got.hash}`,
        });
        continue;
      }
      if (
        want.strict !== undefined && got.strict !== undefined &&
        accepted(want.strict) !== accepted(got.strict)
      ) {
        out.push({
          definition: id,
          object: objectId,
          what: "strict",
          expected: `${want.strict}`,
          found: `${got.strict}`,
        });
      }
      if (accepted(want.code) !== accepted(got.code)) {
        out.push({
          definition: id,
          object: objectId,
          what: "verdict",
          expected: accepted(want.code)
            ? `${want.code}`
            : `${want.code} ${want.message ?? ""}`,
          found: accepted(got.code)
            ? `${got.code}`
            : `${got.code} ${got.message ?? ""}`,
        });
      } else if (
        accepted(want.code) && canonical(want.stored) !== canonical(got.stored)
      ) {
        out.push({
          definition: id,
          object: objectId,
          what: "stored",
          expected: canonical(want.stored),
          found: canonical(got.stored),
        });
      }
    }
  }
  return out;
}

/** The recorded real-server verdicts. */
export function readRecording(): Recording {
  return JSON.parse(readFileSync(RECORDED, "utf8")) as Recording;
}

/** Counts of the corpus: definitions and objects. */
export function corpusSize(): { definitions: number; objects: number } {
  return {
    definitions: definitions.length,
    objects: definitions.reduce((n, def) => n + objectsOf(def).length, 0),
  };
}
