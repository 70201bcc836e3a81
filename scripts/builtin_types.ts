/**
 * Writes `testing/_builtin_types.ts`: what the test server needs to know
 * of the built-in kinds it serves — which lists merge by which keys (for
 * server-side apply and strategic merge patch), which maps and structs are
 * atomic, which fields are maps, and the defaults of list keys — read from
 * a real kube-apiserver's OpenAPI v3 documents.
 *
 * Usage: `deno task builtin-types` (starts an EnvTest from
 * `KUBEBUILDER_ASSETS`, writes and formats the file). The differential
 * suite checks that the file still says what the server says.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { EnvTest } from "../testing/mod.ts";

/** The OpenAPI v3 documents of the groups served, and their roots (kinds). */
export const GROUPS: Record<string, string[]> = {
  "api/v1": ["Namespace", "ConfigMap", "Secret", "Pod", "Service", "Event"],
  "apis/apps/v1": ["Deployment", "StatefulSet"],
  "apis/coordination.k8s.io/v1": ["Lease"],
  "apis/events.k8s.io/v1": ["Event"],
  "apis/apiextensions.k8s.io/v1": ["CustomResourceDefinition"],
  "apis/autoscaling/v1": ["Scale"],
};

// deno-lint-ignore no-explicit-any
type Schema = any;

/** What the test server keeps of one field. */
export interface FieldFacts {
  t?: string;
  map?: true;
  list?: "map" | "set";
  keys?: string[];
  keyDefaults?: Record<string, unknown>;
  patch?: string;
  mergeKey?: string;
  atomic?: true;
  deduced?: true;
}

function get(
  base: string,
  fields: { token: string; agent: Agent },
  path: string,
): Promise<Schema> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), {
      agent: fields.agent,
      headers: { authorization: `Bearer ${fields.token}` },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${path}: ${res.statusCode} ${text}`));
        } else resolve(JSON.parse(text));
      });
    });
    req.on("error", reject);
    req.end();
  });
}

function short(name: string): string {
  return name.replace(/^io\.k8s\.api\./, "").replace(
    /^io\.k8s\.apimachinery\.pkg\.apis\./,
    "",
  ).replace(/^io\.k8s\.apiextensions-apiserver\.pkg\.apis\./, "");
}

function refOf(schema: Schema): string | undefined {
  if (!schema) return undefined;
  if (typeof schema.$ref === "string") {
    return schema.$ref.replace("#/components/schemas/", "");
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) {
    return refOf(schema.allOf[0]);
  }
  return undefined;
}

/** Reads the documents and returns the types and the kinds' roots. */
export function extract(documents: Schema[]): {
  types: Record<string, Record<string, FieldFacts>>;
  kinds: Record<string, string>;
} {
  const all: Record<string, Schema> = {};
  for (const doc of documents) Object.assign(all, doc.components.schemas);
  const kinds: Record<string, string> = {};
  for (const [name, schema] of Object.entries(all)) {
    for (const gvk of schema["x-kubernetes-group-version-kind"] ?? []) {
      const apiVersion = gvk.group
        ? `${gvk.group}/${gvk.version}`
        : gvk.version;
      const wanted = Object.entries(GROUPS).some(([path, list]) =>
        (path === "api/v1" ? "v1" : path.replace(/^apis\//, "")) ===
          apiVersion &&
        list.includes(gvk.kind)
      );
      if (wanted) kinds[`${apiVersion} ${gvk.kind}`] = short(name);
    }
  }
  const raw: Record<string, Record<string, FieldFacts>> = {};
  const isObjectType = (name: string) => {
    const s = all[name];
    return s && (s.properties !== undefined) && s.type === "object";
  };
  const visit = (name: string) => {
    const key = short(name);
    if (raw[key] || !isObjectType(name)) return;
    const facts: Record<string, FieldFacts> = {};
    raw[key] = facts;
    for (const [field, prop] of Object.entries<Schema>(all[name].properties)) {
      const f: FieldFacts = {};
      let inner = prop;
      if (prop.type === "array") {
        inner = prop.items;
        const listType = prop["x-kubernetes-list-type"];
        if (listType === "map" || listType === "set") f.list = listType;
        else if (
          listType === undefined &&
          prop["x-kubernetes-patch-strategy"]?.includes("merge")
        ) {
          f.list = prop["x-kubernetes-patch-merge-key"] ? "map" : "set";
        }
        if (f.list === "map") {
          f.keys = prop["x-kubernetes-list-map-keys"] ??
            [prop["x-kubernetes-patch-merge-key"]];
        }
      } else if (prop.type === "object" && prop.additionalProperties) {
        f.map = true;
        inner = prop.additionalProperties;
        if (prop["x-kubernetes-map-type"] === "atomic") f.atomic = true;
      }
      if (prop["x-kubernetes-patch-strategy"]) {
        f.patch = prop["x-kubernetes-patch-strategy"];
      }
      if (prop["x-kubernetes-patch-merge-key"]) {
        f.mergeKey = prop["x-kubernetes-patch-merge-key"];
      }
      if (prop["x-kubernetes-map-type"] === "atomic") f.atomic = true;
      if (prop["x-kubernetes-preserve-unknown-fields"]) f.deduced = true;
      const ref = refOf(inner);
      if (ref && all[ref]) {
        const target = all[ref];
        if (target["x-kubernetes-map-type"] === "atomic") f.atomic = true;
        if (target["x-kubernetes-preserve-unknown-fields"]) f.deduced = true;
        if (isObjectType(ref) && !f.atomic) {
          f.t = short(ref);
          visit(ref);
        }
        if (f.keys && target.properties) {
          const defaults: Record<string, unknown> = {};
          for (const k of f.keys) {
            const d = target.properties[k]?.default;
            if (d !== undefined) defaults[k] = d;
          }
          if (Object.keys(defaults).length > 0) f.keyDefaults = defaults;
        }
      }
      facts[field] = f;
    }
  };
  for (const root of Object.values(kinds)) {
    const full = Object.keys(all).find((n) => short(n) === root)!;
    visit(full);
  }
  visit("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  // Keep only what differs from the default (a struct of scalars, atomic lists).
  const interesting = new Set<string>();
  let changed = true;
  const factInteresting = (f: FieldFacts) =>
    f.map || f.list || f.patch || f.mergeKey || f.atomic || f.deduced ||
    (f.t !== undefined && interesting.has(f.t));
  while (changed) {
    changed = false;
    for (const [name, fields] of Object.entries(raw)) {
      if (interesting.has(name)) continue;
      if (Object.values(fields).some(factInteresting)) {
        interesting.add(name);
        changed = true;
      }
    }
  }
  const types: Record<string, Record<string, FieldFacts>> = {};
  for (const name of [...interesting].sort()) {
    const fields: Record<string, FieldFacts> = {};
    for (const [field, f] of Object.entries(raw[name]).sort()) {
      if (!factInteresting(f)) continue;
      const kept = { ...f };
      if (kept.t !== undefined && !interesting.has(kept.t)) delete kept.t;
      fields[field] = kept;
    }
    types[name] = fields;
  }
  for (const [kind, root] of Object.entries(kinds)) {
    if (!types[root]) types[root] = {};
    kinds[kind] = root;
  }
  return { types, kinds: Object.fromEntries(Object.entries(kinds).sort()) };
}

/** The TypeScript source of `testing/_builtin_types.ts`. */
export function render(
  extracted: ReturnType<typeof extract>,
  version: string,
): string {
  const lines = [
    "/**",
    " * The built-in kinds' types as server-side apply and strategic merge",
    " * patch see them, read from a real kube-apiserver's OpenAPI v3 documents",
    ` * (${version}) by \`scripts/builtin_types.ts\`: do not edit by hand.`,
    " * Only fields that differ from a struct of scalars and atomic lists are",
    " * listed: lists merged by keys (`list`, `keys`, `keyDefaults`), maps",
    " * (`map`), atomic maps and structs (`atomic`), free-form values",
    " * (`deduced`), strategic merge patch strategies (`patch`, `mergeKey`), and",
    " * the named type of a field's value or list items (`t`).",
    " *",
    " * @module",
    " */",
    "",
    'import type { TypeTable } from "./_types.ts";',
    "",
    "/** The types, by short name. */",
    `export const BUILTIN_TYPES: TypeTable = ${
      JSON.stringify(extracted.types)
    };`,
    "",
    "/** The root type of each kind, by `apiVersion kind`. */",
    `export const BUILTIN_KINDS: Record<string, string> = ${
      JSON.stringify(extracted.kinds)
    };`,
    "",
  ];
  return lines.join("\n");
}

/** Reads the documents from a running control plane. */
export async function fetchDocuments(
  plane: { url: string; token: string; caPem: string },
): Promise<Schema[]> {
  const agent = new Agent({ keepAlive: true, ca: plane.caPem });
  try {
    const fields = { token: plane.token, agent };
    return await Promise.all(
      Object.keys(GROUPS).map((path) =>
        get(plane.url, fields, `/openapi/v3/${path}`)
      ),
    );
  } finally {
    agent.destroy();
  }
}

if (import.meta.main) {
  const target = new URL("../testing/_builtin_types.ts", import.meta.url);
  const plane = await EnvTest.start({ kubeControllerManager: false });
  try {
    const documents = await fetchDocuments(plane);
    const version = documents[0].info?.version ?? "unknown";
    writeFileSync(target, render(extract(documents), `Kubernetes ${version}`));
    console.error(`wrote ${target.pathname}`);
  } finally {
    await plane.stop();
  }
}
