/**
 * The resources the server serves: the built-in kinds operators touch, and
 * custom resources registered from CustomResourceDefinitions at run time.
 *
 * @module
 */
import { isObject, type JsonObject } from "./_patch.ts";
import type { JSONSchemaProps } from "../client/schema.ts";
import { crdSchemaProblems } from "./_schema.ts";

/** What differs between the versions of one resource. */
export interface VersionInfo {
  name: string;
  /** The OpenAPI v3 schema custom resources are validated against. */
  schema?: JSONSchemaProps;
  /** Whether `/status` is a subresource (writes to the main resource ignore status). */
  status: boolean;
  /** The `/scale` subresource: where the replicas and the selector are. */
  scale?: ScalePaths;
}

/** Where a resource keeps what its `/scale` subresource shows (JSON paths, `.spec.replicas`). */
export interface ScalePaths {
  specReplicasPath: string;
  statusReplicasPath: string;
  /** Empty: the scale has no selector; built-in kinds format `spec.selector`. */
  labelSelectorPath: string;
}

/** The scale of the built-in workloads. */
const WORKLOAD_SCALE: ScalePaths = {
  specReplicasPath: ".spec.replicas",
  statusReplicasPath: ".status.replicas",
  labelSelectorPath: ".spec.selector",
};

/** One resource (a group and a plural), served in one or more versions. */
export interface ResourceDef {
  group: string;
  /** Served versions; the first is the preferred (and storage) version. */
  versions: VersionInfo[];
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** `metadata.generation` is set and bumped on spec changes. */
  generation: boolean;
  /** An update without `metadata.resourceVersion` is allowed. */
  unconditionalUpdate: boolean;
  /** A custom resource, from a CRD. */
  custom: boolean;
  /** Fields besides metadata.name/namespace usable in field selectors. */
  selectableFields: string[];
}

/** The key of a resource's table: `group/plural`. */
export function resourceKey(group: string, plural: string): string {
  return `${group}/${plural}`;
}

/** `v1` or `group/version`. */
export function apiVersionOf(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}

function builtin(
  fields: {
    group: string;
    version: string;
    kind: string;
    plural: string;
    namespaced: boolean;
    status?: boolean;
    scale?: ScalePaths;
    generation?: boolean;
    shortNames?: string[];
    categories?: string[];
    selectableFields?: string[];
  },
): ResourceDef {
  return {
    group: fields.group,
    versions: [{
      name: fields.version,
      status: fields.status ?? false,
      scale: fields.scale,
    }],
    kind: fields.kind,
    listKind: `${fields.kind}List`,
    plural: fields.plural,
    singular: fields.kind.toLowerCase(),
    shortNames: fields.shortNames ?? [],
    categories: fields.categories ?? [],
    namespaced: fields.namespaced,
    generation: fields.generation ?? false,
    unconditionalUpdate: true,
    custom: false,
    selectableFields: fields.selectableFields ?? [],
  };
}

/** The built-in kinds. */
export function builtinResources(): ResourceDef[] {
  return [
    builtin({
      group: "",
      version: "v1",
      kind: "Namespace",
      plural: "namespaces",
      namespaced: false,
      status: true,
      shortNames: ["ns"],
      selectableFields: ["status.phase"],
    }),
    builtin({
      group: "",
      version: "v1",
      kind: "ConfigMap",
      plural: "configmaps",
      namespaced: true,
      shortNames: ["cm"],
    }),
    builtin({
      group: "",
      version: "v1",
      kind: "Secret",
      plural: "secrets",
      namespaced: true,
      selectableFields: ["type"],
    }),
    builtin({
      group: "",
      version: "v1",
      kind: "Pod",
      plural: "pods",
      namespaced: true,
      status: true,
      shortNames: ["po"],
      categories: ["all"],
      selectableFields: ["spec.nodeName", "status.phase"],
    }),
    builtin({
      group: "",
      version: "v1",
      kind: "Service",
      plural: "services",
      namespaced: true,
      status: true,
      shortNames: ["svc"],
      categories: ["all"],
    }),
    builtin({
      group: "",
      version: "v1",
      kind: "Event",
      plural: "events",
      namespaced: true,
      shortNames: ["ev"],
      selectableFields: [
        "involvedObject.kind",
        "involvedObject.name",
        "involvedObject.namespace",
        "involvedObject.uid",
        "reason",
        "type",
      ],
    }),
    builtin({
      group: "events.k8s.io",
      version: "v1",
      kind: "Event",
      plural: "events",
      namespaced: true,
      shortNames: ["ev"],
      selectableFields: [
        "regarding.kind",
        "regarding.name",
        "regarding.namespace",
        "regarding.uid",
        "reason",
        "type",
      ],
    }),
    builtin({
      group: "coordination.k8s.io",
      version: "v1",
      kind: "Lease",
      plural: "leases",
      namespaced: true,
    }),
    builtin({
      group: "apps",
      version: "v1",
      kind: "Deployment",
      plural: "deployments",
      namespaced: true,
      status: true,
      scale: WORKLOAD_SCALE,
      generation: true,
      shortNames: ["deploy"],
      categories: ["all"],
    }),
    builtin({
      group: "apps",
      version: "v1",
      kind: "StatefulSet",
      plural: "statefulsets",
      namespaced: true,
      status: true,
      scale: WORKLOAD_SCALE,
      generation: true,
      shortNames: ["sts"],
      categories: ["all"],
    }),
    builtin({
      group: "apiextensions.k8s.io",
      version: "v1",
      kind: "CustomResourceDefinition",
      plural: "customresourcedefinitions",
      namespaced: false,
      status: true,
      generation: true,
      shortNames: ["crd", "crds"],
      categories: ["api-extensions"],
    }),
  ];
}

function strings(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((v): v is string => typeof v === "string")
    : [];
}

/**
 * A problem with a CRD's spec, as `[field, message]` pairs; empty when the
 * CRD can be served.
 */
export function crdProblems(crd: JsonObject): [string, string][] {
  const problems: [string, string][] = [];
  const spec = crd.spec;
  if (!isObject(spec)) return [["spec", "Required value"]];
  const names = spec.names;
  if (typeof spec.group !== "string" || spec.group === "") {
    problems.push(["spec.group", "Required value"]);
  }
  if (!isObject(names)) problems.push(["spec.names", "Required value"]);
  else {
    if (typeof names.plural !== "string" || names.plural === "") {
      problems.push(["spec.names.plural", "Required value"]);
    }
    if (typeof names.kind !== "string" || names.kind === "") {
      problems.push(["spec.names.kind", "Required value"]);
    }
  }
  if (spec.scope !== "Namespaced" && spec.scope !== "Cluster") {
    problems.push([
      "spec.scope",
      `Unsupported value: ${
        JSON.stringify(spec.scope ?? "")
      }: supported values: "Cluster", "Namespaced"`,
    ]);
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) problems.push(["spec.versions", "Required value"]);
  const storage = versions.filter((v) => isObject(v) && v.storage === true);
  if (versions.length > 0 && storage.length !== 1) {
    problems.push([
      "spec.versions",
      "Invalid value: must have exactly one version marked as storage version",
    ]);
  }
  versions.forEach((version, i) => {
    const schema = isObject(version) && isObject(version.schema)
      ? version.schema.openAPIV3Schema
      : undefined;
    if (schema === undefined) return;
    problems.push(
      ...crdSchemaProblems(
        schema,
        `spec.versions[${i}].schema.openAPIV3Schema`,
      ),
    );
  });
  const meta = isObject(crd.metadata) ? crd.metadata : {};
  if (
    isObject(names) && typeof names.plural === "string" &&
    typeof spec.group === "string" &&
    meta.name !== `${names.plural}.${spec.group}`
  ) {
    problems.push([
      "metadata.name",
      `Invalid value: ${
        JSON.stringify(meta.name)
      }: must be spec.names.plural+"."+spec.group`,
    ]);
  }
  return problems;
}

/** The resource a (valid) CRD defines. */
export function resourceFromCrd(crd: JsonObject): ResourceDef {
  const spec = crd.spec as JsonObject;
  const names = spec.names as JsonObject;
  const versions = (spec.versions as JsonObject[])
    .filter((v) => v.served !== false)
    .sort((a, b) => Number(b.storage === true) - Number(a.storage === true))
    .map((v): VersionInfo => {
      const sub = isObject(v.subresources) ? v.subresources : {};
      const validation = isObject(v.schema) ? v.schema : {};
      const schema = isObject(validation.openAPIV3Schema)
        ? validation.openAPIV3Schema as unknown as JSONSchemaProps
        : undefined;
      const scale = isObject(sub.scale) ? sub.scale : undefined;
      return {
        name: String(v.name),
        schema,
        status: isObject(sub.status),
        scale: scale
          ? {
            specReplicasPath: String(scale.specReplicasPath ?? ""),
            statusReplicasPath: String(scale.statusReplicasPath ?? ""),
            labelSelectorPath: String(scale.labelSelectorPath ?? ""),
          }
          : undefined,
      };
    });
  const kind = String(names.kind);
  const selectable = (spec.versions as JsonObject[]).flatMap((v) =>
    Array.isArray(v.selectableFields)
      ? v.selectableFields.flatMap((f) =>
        isObject(f) && typeof f.jsonPath === "string"
          ? [f.jsonPath.replace(/^\./, "")]
          : []
      )
      : []
  );
  return {
    group: String(spec.group),
    versions,
    kind,
    listKind: typeof names.listKind === "string"
      ? names.listKind
      : `${kind}List`,
    plural: String(names.plural),
    singular: typeof names.singular === "string" && names.singular
      ? names.singular
      : kind.toLowerCase(),
    shortNames: strings(names.shortNames),
    categories: strings(names.categories),
    namespaced: spec.scope === "Namespaced",
    generation: true,
    unconditionalUpdate: false,
    custom: true,
    selectableFields: selectable,
  };
}

/** The resources being served, looked up by group, version and plural. */
export class ResourceRegistry {
  #byKey = new Map<string, ResourceDef>();

  constructor(defs: ResourceDef[]) {
    for (const def of defs) this.add(def);
  }

  /** Adds or replaces a resource. */
  add(def: ResourceDef): void {
    this.#byKey.set(resourceKey(def.group, def.plural), def);
  }

  /** Stops serving a resource. */
  remove(group: string, plural: string): void {
    this.#byKey.delete(resourceKey(group, plural));
  }

  /** The resource at a group and plural, if served. */
  byKey(group: string, plural: string): ResourceDef | undefined {
    return this.#byKey.get(resourceKey(group, plural));
  }

  /** The resource and version info for a URL's group, version and plural. */
  lookup(
    group: string,
    version: string,
    plural: string,
  ): { def: ResourceDef; version: VersionInfo } | undefined {
    const def = this.#byKey.get(resourceKey(group, plural));
    const info = def?.versions.find((v) => v.name === version);
    return def && info ? { def, version: info } : undefined;
  }

  /** Every served resource. */
  all(): ResourceDef[] {
    return [...this.#byKey.values()];
  }

  /** The groups served, each with its versions (preferred first). */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const def of this.#byKey.values()) {
      const versions = out.get(def.group) ?? [];
      for (const v of def.versions) {
        if (!versions.includes(v.name)) versions.push(v.name);
      }
      out.set(def.group, versions);
    }
    return out;
  }
}
