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
import { isSchema, objectsOf } from "./_corpus_objects.ts";

export { definitions };
export { objectsOf } from "./_corpus_objects.ts";

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
