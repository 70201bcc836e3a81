/**
 * The API semantics: what get, list, watch, create, update, patch and
 * delete do to the store, with the metadata, status-subresource, finalizer,
 * garbage-collection and CRD behaviour of the real server.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import {
  applyMerge,
  deepEqual,
  deleteAt,
  isObject,
  type Json,
  type JsonObject,
  jsonPatch,
  leafPaths,
  mergePatch,
  PatchApplyError,
  valueAt,
} from "./_patch.ts";
import {
  apiVersionOf,
  builtinResources,
  crdProblems,
  type ResourceDef,
  resourceFromCrd,
  resourceKey,
  ResourceRegistry,
  type VersionInfo,
} from "./_resources.ts";
import { admitCustomObject } from "./_schema.ts";
import {
  type Matcher,
  parseFieldSelector,
  parseLabelSelector,
} from "./_selectors.ts";
import {
  alreadyExists,
  ApiStatusError,
  badRequest,
  conflict,
  expired,
  forbidden,
  invalid,
  notFound,
  STALE_MESSAGE,
  type StatusCause,
} from "./_status.ts";
import { type KubeObject, objectKey, Store } from "./_store.ts";
import { renderObject, WatchHub } from "./_watch.ts";

/** One request's target: a resource in one version, maybe a namespace, name and subresource. */
export interface Target {
  def: ResourceDef;
  version: VersionInfo;
  namespace?: string;
  name?: string;
  subresource?: "status";
  /** `fieldValidation=Strict`: unknown fields of custom objects are refused. */
  strictFields?: boolean;
}

/** List and watch query parameters. */
export interface ListQuery {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continue?: string | null;
  resourceVersion?: string | null;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

/** The patch formats. */
export type PatchType = "merge" | "json" | "strategic" | "apply";

/** Options of the core. */
export interface ApiCoreOptions {
  now: () => Date;
  random: () => number;
  historyLimit: number;
  bookmarkIntervalMs: number;
}

const NAME_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
const SERVER_FIELDS = [
  "uid",
  "resourceVersion",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "generation",
  "managedFields",
  "selfLink",
];

/** A field manager's applied fields on one object. */
type Ownership = Map<string, Set<string>>;

function meta(obj: JsonObject): JsonObject {
  if (!isObject(obj.metadata)) obj.metadata = {};
  return obj.metadata as JsonObject;
}

function finalizersOf(obj: JsonObject): string[] {
  const f = meta(obj).finalizers;
  return Array.isArray(f)
    ? f.filter((x): x is string => typeof x === "string")
    : [];
}

function tableOf(def: ResourceDef): string {
  return resourceKey(def.group, def.plural);
}

function fieldGetter(obj: KubeObject): (key: string) => string | undefined {
  return (key) => {
    let node: Json | undefined = obj;
    for (const part of key.split(".")) {
      if (!isObject(node)) return undefined;
      node = node[part];
    }
    if (node === undefined || node === null) return undefined;
    return typeof node === "object" ? JSON.stringify(node) : String(node);
  };
}

function labelGetter(obj: KubeObject): (key: string) => string | undefined {
  const labels = obj.metadata.labels;
  return (key) => {
    if (!isObject(labels)) return undefined;
    const v = labels[key];
    return typeof v === "string" ? v : undefined;
  };
}

interface Continue {
  rv: number;
  start: string;
}

function encodeContinue(token: Continue): string {
  return btoa(JSON.stringify(token)).replace(/=+$/, "");
}

function decodeContinue(text: string): Continue {
  try {
    const pad = text + "=".repeat((4 - (text.length % 4)) % 4);
    const value = JSON.parse(atob(pad));
    if (typeof value.rv === "number" && typeof value.start === "string") {
      return value;
    }
  } catch {
    // Reported below.
  }
  throw badRequest(`invalid continue token "${text}"`);
}

/** The in-memory API server's behaviour, independent of HTTP. */
export class ApiCore {
  readonly store: Store;
  readonly registry: ResourceRegistry;
  readonly hub: WatchHub;
  #options: ApiCoreOptions;
  #ownership = new Map<string, Ownership>();

  constructor(options: ApiCoreOptions) {
    this.#options = options;
    this.store = new Store(options.historyLimit);
    this.registry = new ResourceRegistry(builtinResources());
    this.hub = new WatchHub({
      bookmarkIntervalMs: options.bookmarkIntervalMs,
      currentRv: () => this.store.rv,
    });
    this.store.subscribe((event) => this.hub.dispatch(event));
    const ns = this.registry.byKey("", "namespaces")!;
    for (
      const name of ["default", "kube-system", "kube-public", "kube-node-lease"]
    ) {
      this.create({ def: ns, version: ns.versions[0] }, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name },
      });
    }
  }

  #timestamp(): string {
    return this.#options.now().toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  #storageVersion(def: ResourceDef): string {
    return apiVersionOf(def.group, def.versions[0].name);
  }

  /** The object as the requested version shows it. */
  render(t: Target, obj: KubeObject): string {
    return renderObject(obj, apiVersionOf(t.def.group, t.version.name));
  }

  #existing(t: Target): KubeObject {
    const name = t.name ?? "";
    const obj = this.store.get(tableOf(t.def), objectKey(t.namespace, name));
    if (!obj) throw notFound(t.def, name);
    return obj;
  }

  /** GET one object. */
  get(t: Target): KubeObject {
    return this.#existing(t);
  }

  #matcher(t: Target, query: ListQuery): (obj: KubeObject) => boolean {
    const label: Matcher = parseLabelSelector(query.labelSelector ?? null);
    const fields = new Set([
      "metadata.name",
      "metadata.namespace",
      ...t.def.selectableFields,
    ]);
    const field: Matcher = parseFieldSelector(
      query.fieldSelector ?? null,
      fields,
    );
    return (obj) => label(labelGetter(obj)) && field(fieldGetter(obj));
  }

  #selected(
    t: Target,
    matches: (obj: KubeObject) => boolean,
  ): [string, KubeObject][] {
    const out: [string, KubeObject][] = [];
    for (const entry of this.store.table(tableOf(t.def))) {
      const obj = entry[1];
      if (t.namespace !== undefined && obj.metadata.namespace !== t.namespace) {
        continue;
      }
      if (matches(obj)) out.push(entry);
    }
    return out;
  }

  /** LIST, as the JSON text of the list object. */
  list(t: Target, query: ListQuery): string {
    const matches = this.#matcher(t, query);
    let start = "";
    if (query.continue) {
      const token = decodeContinue(query.continue);
      if (token.rv < this.store.compactedRv) {
        throw expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        );
      }
      start = token.start;
    }
    let entries = this.#selected(t, matches);
    if (start) entries = entries.filter(([key]) => key > start);
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const listMeta: JsonObject = { resourceVersion: String(this.store.rv) };
    const limit = query.limit ?? 0;
    if (limit > 0 && entries.length > limit) {
      const rest = entries.length - limit;
      entries = entries.slice(0, limit);
      listMeta.continue = encodeContinue({
        rv: this.store.rv,
        start: entries[entries.length - 1][0],
      });
      listMeta.remainingItemCount = rest;
    }
    const apiVersion = apiVersionOf(t.def.group, t.version.name);
    const head = JSON.stringify({
      kind: t.def.listKind,
      apiVersion,
      metadata: listMeta,
    });
    const items = entries.map(([, obj]) => renderObject(obj, apiVersion)).join(
      ",",
    );
    return `${head.slice(0, -1)},"items":[${items}]}`;
  }

  /** WATCH, as a stream of newline-delimited JSON events. */
  watch(t: Target, query: ListQuery): ReadableStream<Uint8Array> {
    const matches = this.#matcher(t, query);
    const apiVersion = apiVersionOf(t.def.group, t.version.name);
    const spec = {
      table: tableOf(t.def),
      resource: t.def.plural,
      namespace: t.namespace,
      matches,
      bookmarks: query.allowWatchBookmarks === true,
      apiVersion,
      kind: t.def.kind,
      timeoutMs: query.timeoutSeconds !== undefined
        ? query.timeoutSeconds * 1000
        : undefined,
    };
    const rvText = query.resourceVersion ?? "";
    if (rvText === "" || rvText === "0") {
      const existing = this.#selected(t, matches).map(([, obj]) => obj);
      return this.hub.open(spec, { existing });
    }
    const rv = Number(rvText);
    if (!Number.isInteger(rv) || rv < 0) {
      throw badRequest(`invalid resource version "${rvText}"`);
    }
    const replay = this.store.eventsSince(spec.table, rv);
    if (!replay) {
      return this.hub.open(spec, {
        expired: expired(
          `too old resource version: ${rv} (${this.store.compactedRv + 1})`,
        ).toStatus(),
      });
    }
    return this.hub.open(spec, { replay });
  }

  #checkBody(t: Target, body: unknown): JsonObject {
    if (!isObject(body)) {
      throw badRequest("the request body must be a JSON object");
    }
    const apiVersion = body.apiVersion;
    if (
      apiVersion !== undefined &&
      apiVersion !== apiVersionOf(t.def.group, t.version.name)
    ) {
      throw badRequest(
        `the API version in the data (${apiVersion}) does not match the expected API version (${
          apiVersionOf(t.def.group, t.version.name)
        })`,
      );
    }
    if (body.kind !== undefined && body.kind !== t.def.kind) {
      throw badRequest(
        `the kind in the data (${body.kind}) does not match the expected kind (${t.def.kind})`,
      );
    }
    const m = meta(body);
    if (t.def.namespaced) {
      if (
        m.namespace !== undefined && m.namespace !== "" &&
        m.namespace !== t.namespace
      ) {
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      m.namespace = t.namespace ?? "";
    } else {
      delete m.namespace;
    }
    body.apiVersion = this.#storageVersion(t.def);
    body.kind = t.def.kind;
    return body;
  }

  #validateMeta(t: Target, obj: JsonObject, causes: StatusCause[]): void {
    const m = meta(obj);
    const name = String(m.name ?? "");
    const pattern = t.def.plural === "namespaces" ? NAME_LABEL : NAME_SUBDOMAIN;
    const limit = t.def.plural === "namespaces" ? 63 : 253;
    if (!pattern.test(name) || name.length > limit) {
      causes.push({
        reason: "FieldValueInvalid",
        field: "metadata.name",
        message: `Invalid value: ${
          JSON.stringify(name)
        }: a lowercase RFC 1123 ${
          t.def.plural === "namespaces" ? "label" : "subdomain"
        } must consist of lower case alphanumeric characters, '-'${
          t.def.plural === "namespaces" ? "" : " or '.'"
        }, and must start and end with an alphanumeric character`,
      });
    }
    for (const field of ["labels", "annotations"]) {
      const map = m[field];
      if (map === undefined || map === null) continue;
      if (!isObject(map)) {
        causes.push({
          reason: "FieldValueTypeInvalid",
          field: `metadata.${field}`,
          message: "Invalid value: must be a map of strings",
        });
        continue;
      }
      for (const [key, value] of Object.entries(map)) {
        if (typeof value !== "string") {
          causes.push({
            reason: "FieldValueTypeInvalid",
            field: `metadata.${field}`,
            message: `Invalid value: the value of ${
              JSON.stringify(key)
            } must be a string`,
          });
          continue;
        }
        const slash = key.lastIndexOf("/");
        const local = slash >= 0 ? key.slice(slash + 1) : key;
        const prefix = slash >= 0 ? key.slice(0, slash) : "";
        const keyOk = LABEL_NAME.test(local) && local.length <= 63 &&
          (prefix === "" ||
            (NAME_SUBDOMAIN.test(prefix) && prefix.length <= 253));
        if (!keyOk) {
          causes.push({
            reason: "FieldValueInvalid",
            field: `metadata.${field}`,
            message: `Invalid value: ${
              JSON.stringify(key)
            }: name part must consist of alphanumeric characters, '-', '_' or '.'`,
          });
        }
        if (
          field === "labels" && (!LABEL_VALUE.test(value) || value.length > 63)
        ) {
          causes.push({
            reason: "FieldValueInvalid",
            field: `metadata.labels`,
            message: `Invalid value: ${
              JSON.stringify(value)
            }: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
          });
        }
      }
    }
  }

  /** Schema defaults, pruning and validation for custom resources; CRD checks. */
  #validate(t: Target, obj: JsonObject): void {
    const causes: StatusCause[] = [];
    if (t.def.custom && t.version.schema) {
      const admission = admitCustomObject(t.version.schema, obj, {
        namespaced: t.def.namespaced,
      });
      if (t.strictFields === true && admission.pruned.length > 0) {
        throw badRequest(
          `strict decoding error: ${
            admission.pruned.map((path) => `unknown field "${path}"`).join(
              ", ",
            )
          }`,
        );
      }
      causes.push(...admission.causes);
    } else {
      this.#validateMeta(t, obj, causes);
    }
    if (
      t.def.plural === "customresourcedefinitions" &&
      t.def.group === "apiextensions.k8s.io"
    ) {
      for (const [field, message] of crdProblems(obj)) {
        causes.push({ reason: "FieldValueInvalid", field, message });
      }
    }
    if (causes.length > 0) {
      throw invalid({
        kind: t.def.kind,
        group: t.def.group,
        name: String(meta(obj).name ?? ""),
      }, causes);
    }
  }

  #generateName(prefix: string): string {
    let suffix = "";
    for (let i = 0; i < 5; i++) {
      suffix += SUFFIX_ALPHABET[
        Math.floor(this.#options.random() * SUFFIX_ALPHABET.length)
      ];
    }
    return prefix + suffix;
  }

  /** POST: creates an object. */
  create(
    t: Target,
    body: unknown,
    options: { dryRun?: boolean } = {},
  ): KubeObject {
    const obj = this.#checkBody(t, structuredClone(body));
    const m = meta(obj);
    if (t.def.namespaced) this.#checkNamespaceOpen(t.namespace ?? "");
    if (!m.name && typeof m.generateName === "string" && m.generateName) {
      m.name = this.#generateName(m.generateName);
    }
    if (!m.name) {
      throw invalid({ kind: t.def.kind, group: t.def.group, name: "" }, [{
        reason: "FieldValueRequired",
        field: "metadata.name",
        message: "Required value: name or generateName is required",
      }]);
    }
    for (const field of SERVER_FIELDS) delete m[field];
    if (t.version.status && t.def.custom) delete obj.status;
    if (t.def.plural === "namespaces" && t.def.group === "") {
      obj.spec = { finalizers: ["kubernetes"] };
      obj.status = { phase: "Active" };
    }
    this.#validate(t, obj);
    const table = tableOf(t.def);
    const key = objectKey(t.namespace, String(m.name));
    if (this.store.get(table, key)) throw alreadyExists(t.def, String(m.name));
    m.uid = randomUUID();
    m.creationTimestamp = this.#timestamp();
    if (t.def.generation) m.generation = 1;
    if (this.#isCrd(t.def)) this.#establish(obj);
    if (options.dryRun) {
      m.resourceVersion = String(this.store.rv);
      return obj as KubeObject;
    }
    const rv = this.store.nextRv();
    m.resourceVersion = String(rv);
    this.store.put(table, { key, object: obj as KubeObject, rv });
    if (this.#isCrd(t.def)) this.registry.add(resourceFromCrd(obj));
    if (this.#hasOwners(obj)) {
      queueMicrotask(() => this.#collectIfOrphaned(table, key));
    }
    return obj as KubeObject;
  }

  #isCrd(def: ResourceDef): boolean {
    return def.group === "apiextensions.k8s.io" &&
      def.plural === "customresourcedefinitions";
  }

  #hasOwners(obj: JsonObject): boolean {
    const refs = meta(obj).ownerReferences;
    return Array.isArray(refs) && refs.length > 0;
  }

  #establish(crd: JsonObject): void {
    const spec = isObject(crd.spec) ? crd.spec : {};
    const time = this.#timestamp();
    const versions = Array.isArray(spec.versions) ? spec.versions : [];
    crd.status = {
      acceptedNames: isObject(spec.names) ? spec.names : {},
      conditions: [
        {
          type: "NamesAccepted",
          status: "True",
          reason: "NoConflicts",
          message: "no conflicts found",
          lastTransitionTime: time,
        },
        {
          type: "Established",
          status: "True",
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
          lastTransitionTime: time,
        },
      ],
      storedVersions: versions.flatMap((v) =>
        isObject(v) && v.storage === true ? [String(v.name)] : []
      ),
    };
  }

  #checkNamespaceOpen(namespace: string): void {
    const ns = this.store.get(resourceKey("", "namespaces"), namespace);
    if (!ns) throw notFound({ group: "", plural: "namespaces" }, namespace);
    if (ns.metadata.deletionTimestamp) {
      throw forbidden(
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  #specChanged(t: Target, before: JsonObject, after: JsonObject): boolean {
    if (!t.def.custom) return !deepEqual(before.spec, after.spec);
    const skip = new Set(["metadata", "apiVersion", "kind"]);
    if (t.version.status) skip.add("status");
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of keys) {
      if (!skip.has(key) && !deepEqual(before[key], after[key])) return true;
    }
    return false;
  }

  /**
   * The common path of PUT and PATCH: `body` is the whole new object. With
   * `requireRv`, an update without `metadata.resourceVersion` is refused
   * where the resource demands it.
   */
  #write(
    t: Target,
    body: JsonObject,
    options: { requireRv: boolean; dryRun?: boolean; manager?: string },
  ): KubeObject {
    const existing = this.#existing(t);
    const obj = this.#checkBody(t, body);
    const m = meta(obj);
    const old = existing.metadata;
    if (m.name !== undefined && m.name !== t.name) {
      throw badRequest(
        `the name of the object (${m.name}) does not match the name on the URL (${t.name})`,
      );
    }
    const rv = m.resourceVersion;
    if (rv === undefined || rv === "") {
      if (options.requireRv && !t.def.unconditionalUpdate) {
        throw invalid({
          kind: t.def.kind,
          group: t.def.group,
          name: t.name ?? "",
        }, [{
          reason: "FieldValueInvalid",
          field: "metadata.resourceVersion",
          message: "Invalid value: 0x0: must be specified for an update",
        }]);
      }
    } else if (rv !== old.resourceVersion) {
      throw conflict(t.def, { name: t.name ?? "", message: STALE_MESSAGE });
    }
    if (m.uid !== undefined && m.uid !== old.uid) {
      throw conflict(t.def, {
        name: t.name ?? "",
        message:
          `Precondition failed: UID in precondition: ${m.uid}, UID in object meta: ${old.uid}`,
      });
    }
    let next: JsonObject;
    if (t.subresource === "status") {
      next = structuredClone(existing);
      if (obj.status === undefined) delete next.status;
      else next.status = obj.status;
    } else {
      next = obj;
      if (t.version.status) {
        if (existing.status === undefined) delete next.status;
        else next.status = structuredClone(existing.status);
      }
    }
    const nm = meta(next);
    nm.name = old.name;
    if (old.namespace !== undefined) nm.namespace = old.namespace;
    for (const field of SERVER_FIELDS) {
      if (old[field] === undefined) delete nm[field];
      else nm[field] = structuredClone(old[field]);
    }
    if (old.deletionTimestamp) {
      const before = new Set(finalizersOf(existing));
      const added = finalizersOf(next).filter((f) => !before.has(f));
      if (added.length > 0) {
        throw invalid({
          kind: t.def.kind,
          group: t.def.group,
          name: t.name ?? "",
        }, [{
          reason: "FieldValueForbidden",
          field: "metadata.finalizers",
          message:
            `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${
              JSON.stringify(added)
            }`,
        }]);
      }
    }
    if (
      t.def.plural === "namespaces" && t.def.group === "" &&
      t.subresource !== "status"
    ) {
      next.spec = structuredClone(existing.spec ?? {});
    }
    this.#validate(t, next);
    if (t.def.generation && this.#specChanged(t, existing, next)) {
      nm.generation = Number(old.generation ?? 0) + 1;
    }
    const changed = !deepEqual(next, existing);
    if (!changed) return existing;
    this.#releaseChangedFields(existing, next, options.manager);
    if (options.dryRun) return next as KubeObject;
    const newRv = this.store.nextRv();
    nm.resourceVersion = String(newRv);
    const table = tableOf(t.def);
    const key = objectKey(t.namespace, t.name ?? "");
    this.store.put(table, { key, object: next as KubeObject, rv: newRv });
    if (this.#isCrd(t.def)) this.registry.add(resourceFromCrd(next));
    if (nm.deletionTimestamp && finalizersOf(next).length === 0) {
      this.#remove(table, key);
    } else if (this.#hasOwners(next)) {
      queueMicrotask(() => this.#collectIfOrphaned(table, key));
    }
    return next as KubeObject;
  }

  /** PUT: replaces an object (or its status). */
  update(
    t: Target,
    body: unknown,
    options: { dryRun?: boolean } = {},
  ): KubeObject {
    if (!isObject(body)) {
      throw badRequest("the request body must be a JSON object");
    }
    return this.#write(t, structuredClone(body), {
      requireRv: true,
      ...options,
    });
  }

  /** PATCH: patches an object (or its status); apply may create it. */
  patch(
    t: Target,
    request: {
      type: PatchType;
      body: unknown;
      fieldManager?: string;
      force?: boolean;
      dryRun?: boolean;
    },
  ): { object: KubeObject; created: boolean } {
    if (request.type === "apply") return this.#apply(t, request);
    const existing = this.#existing(t);
    let patched: Json;
    try {
      if (request.type === "json") {
        patched = jsonPatch(existing, request.body);
      } else {
        if (!isObject(request.body)) {
          throw badRequest("a merge patch must be a JSON object");
        }
        patched = mergePatch(structuredClone(existing), request.body);
      }
    } catch (error) {
      if (error instanceof PatchApplyError) {
        throw invalid({
          kind: t.def.kind,
          group: t.def.group,
          name: t.name ?? "",
        }, [{
          reason: "FieldValueInvalid",
          field: "patch",
          message: `Invalid value: ${error.message}`,
        }]);
      }
      throw error;
    }
    if (!isObject(patched)) {
      throw badRequest("the patched object must be a JSON object");
    }
    const object = this.#write(t, patched, {
      requireRv: false,
      dryRun: request.dryRun,
      manager: request.fieldManager,
    });
    return { object, created: false };
  }

  #apply(
    t: Target,
    request: {
      body: unknown;
      fieldManager?: string;
      force?: boolean;
      dryRun?: boolean;
    },
  ): { object: KubeObject; created: boolean } {
    const manager = request.fieldManager;
    if (!manager) {
      throw invalid({ kind: "PatchOptions", group: "meta.k8s.io", name: "" }, [{
        reason: "FieldValueRequired",
        field: "fieldManager",
        message: "Required value: is required for apply patch",
      }]);
    }
    if (!isObject(request.body)) {
      throw badRequest("an apply patch must be an object");
    }
    const applied = structuredClone(request.body);
    const am = meta(applied);
    if (am.name !== undefined && am.name !== t.name) {
      throw badRequest(
        `the name of the object (${am.name}) does not match the name on the URL (${t.name})`,
      );
    }
    const table = tableOf(t.def);
    const key = objectKey(t.namespace, t.name ?? "");
    const existing = this.store.get(table, key);
    const scope: JsonObject = t.subresource === "status"
      ? { status: applied.status ?? {} }
      : Object.fromEntries(
        Object.entries(applied).filter(([k]) =>
          k !== "apiVersion" && k !== "kind" &&
          !(t.version.status && k === "status")
        ),
      );
    const sm = isObject(scope.metadata) ? scope.metadata : undefined;
    if (sm) {
      for (const f of [...SERVER_FIELDS, "name", "namespace", "generateName"]) {
        delete sm[f];
      }
      if (Object.keys(sm).length === 0) delete scope.metadata;
    }
    const paths = new Set(leafPaths(scope));
    if (!existing) {
      const created = this.create(t, {
        ...applied,
        metadata: { ...am, name: t.name },
      }, {
        dryRun: request.dryRun,
      });
      if (!request.dryRun) {
        this.#ownership.set(
          String(created.metadata.uid),
          new Map([[manager, paths]]),
        );
      }
      return { object: created, created: true };
    }
    const uid = String(existing.metadata.uid);
    const owners: Ownership = this.#ownership.get(uid) ?? new Map();
    const conflicts: string[] = [];
    for (const [other, owned] of owners) {
      if (other === manager) continue;
      for (const p of paths) {
        if (
          owned.has(p) && !deepEqual(valueAt(existing, p), valueAt(scope, p))
        ) {
          conflicts.push(
            `conflict with "${other}": .${p.slice(1).replace(/\//g, ".")}`,
          );
        }
      }
    }
    if (conflicts.length > 0 && !request.force) {
      throw new ApiStatusError(409, {
        reason: "Conflict",
        message: `Apply failed with ${conflicts.length} conflict${
          conflicts.length === 1 ? "" : "s"
        }: ${conflicts.join("\n")}`,
        details: {
          name: t.name,
          group: t.def.group || undefined,
          kind: t.def.plural,
          causes: conflicts.map((c) => ({
            reason: "FieldManagerConflict",
            message: c,
          })),
        },
      });
    }
    let next = applyMerge(structuredClone(existing), scope) as JsonObject;
    const previous = owners.get(manager) ?? new Set<string>();
    for (const p of previous) {
      if (paths.has(p)) continue;
      const sharedElsewhere = [...owners].some(([o, owned]) =>
        o !== manager && owned.has(p)
      );
      if (!sharedElsewhere) deleteAt(next, p);
    }
    if (typeof am.resourceVersion === "string") {
      meta(next).resourceVersion = am.resourceVersion;
    }
    next = structuredClone(next);
    const object = this.#write(t, next, {
      requireRv: false,
      dryRun: request.dryRun,
    });
    if (!request.dryRun) {
      for (const [other, owned] of owners) {
        if (other === manager) continue;
        if (request.force) { for (const p of paths) owned.delete(p); }
      }
      owners.set(manager, paths);
      this.#ownership.set(uid, owners);
    }
    return { object, created: false };
  }

  /** Fields changed by a non-apply write stop belonging to the appliers that set them. */
  #releaseChangedFields(
    before: JsonObject,
    after: JsonObject,
    manager?: string,
  ): void {
    const owners = this.#ownership.get(String(meta(before).uid));
    if (!owners) return;
    for (const [name, owned] of owners) {
      if (name === manager) continue;
      for (const p of [...owned]) {
        if (!deepEqual(valueAt(before, p), valueAt(after, p))) owned.delete(p);
      }
    }
  }

  /** DELETE one object. */
  delete(
    t: Target,
    options: {
      propagationPolicy?: string;
      preconditions?: { uid?: string; resourceVersion?: string };
      dryRun?: boolean;
    } = {},
  ): { object: KubeObject; removed: boolean } {
    const existing = this.#existing(t);
    const pre = options.preconditions ?? {};
    if (pre.uid !== undefined && pre.uid !== existing.metadata.uid) {
      throw conflict(t.def, {
        name: t.name ?? "",
        message:
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid}`,
      });
    }
    if (
      pre.resourceVersion !== undefined &&
      pre.resourceVersion !== existing.metadata.resourceVersion
    ) {
      throw conflict(t.def, {
        name: t.name ?? "",
        message:
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion}`,
      });
    }
    const policy = options.propagationPolicy ?? "Background";
    if (!["Background", "Foreground", "Orphan"].includes(policy)) {
      throw invalid({ kind: "DeleteOptions", group: "meta.k8s.io", name: "" }, [
        {
          reason: "FieldValueNotSupported",
          field: "propagationPolicy",
          message:
            `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
        },
      ]);
    }
    if (options.dryRun) return { object: existing, removed: false };
    const table = tableOf(t.def);
    const key = objectKey(t.namespace, t.name ?? "");
    return this.#deleteAt(table, key, policy);
  }

  #deleteAt(
    table: string,
    key: string,
    policy: string,
  ): { object: KubeObject; removed: boolean } {
    const existing = this.store.get(table, key)!;
    const finalizers = finalizersOf(existing);
    const extra = policy === "Foreground"
      ? "foregroundDeletion"
      : policy === "Orphan"
      ? "orphan"
      : undefined;
    const isNamespace = table === resourceKey("", "namespaces");
    if (existing.metadata.deletionTimestamp) {
      return { object: existing, removed: false };
    }
    if (finalizers.length === 0 && !extra && !isNamespace) {
      return { object: this.#remove(table, key), removed: true };
    }
    const next = structuredClone(existing);
    const m = next.metadata;
    if (extra && !finalizers.includes(extra)) {
      m.finalizers = [...finalizers, extra];
    }
    m.deletionTimestamp = this.#timestamp();
    m.deletionGracePeriodSeconds = 0;
    if (typeof m.generation === "number") m.generation += 1;
    if (isNamespace) next.status = { phase: "Terminating" };
    const rv = this.store.nextRv();
    m.resourceVersion = String(rv);
    this.store.put(table, { key, object: next, rv });
    const uid = String(m.uid);
    if (isNamespace) queueMicrotask(() => this.#sweepNamespace(String(m.name)));
    else if (extra === "orphan") {
      queueMicrotask(() => this.#orphanDependents(uid));
    } else if (extra === "foregroundDeletion") {
      queueMicrotask(() => this.#deleteDependents(uid, "Foreground"));
    }
    return { object: next, removed: false };
  }

  /** Removes an object now: DELETED event, then garbage collection. */
  #remove(table: string, key: string): KubeObject {
    const existing = this.store.get(table, key)!;
    const last = structuredClone(existing);
    const rv = this.store.nextRv();
    last.metadata.resourceVersion = String(rv);
    this.store.remove(table, { key, last, rv });
    const uid = String(existing.metadata.uid);
    this.#ownership.delete(uid);
    if (
      table === resourceKey("apiextensions.k8s.io", "customresourcedefinitions")
    ) {
      this.#dropCrd(last);
    }
    queueMicrotask(() => {
      this.#deleteDependents(uid, "Background");
      this.#finishForegroundOwners(last);
      const ns = last.metadata.namespace;
      if (typeof ns === "string" && ns !== "") this.#finishNamespace(ns);
    });
    return last;
  }

  #dropCrd(crd: KubeObject): void {
    const spec = crd.spec;
    if (!isObject(spec) || !isObject(spec.names)) return;
    const group = String(spec.group);
    const plural = String(spec.names.plural);
    const table = resourceKey(group, plural);
    for (const key of [...this.store.table(table).keys()]) {
      this.#remove(table, key);
    }
    this.registry.remove(group, plural);
    this.store.dropTable(table);
  }

  #ownersAlive(obj: KubeObject): boolean {
    const refs = obj.metadata.ownerReferences;
    if (!Array.isArray(refs) || refs.length === 0) return true;
    return refs.some((r) =>
      isObject(r) && typeof r.uid === "string" && this.store.locate(r.uid)
    );
  }

  #collectIfOrphaned(table: string, key: string): void {
    const obj = this.store.get(table, key);
    if (obj && !this.#ownersAlive(obj)) {
      this.#deleteAt(table, key, "Background");
    }
  }

  #deleteDependents(ownerUid: string, policy: string): void {
    for (const { table, key } of this.store.dependentsOf(ownerUid)) {
      const dep = this.store.get(table, key);
      if (!dep) continue;
      const ownerGone = !this.store.locate(ownerUid);
      if (policy === "Foreground" || (ownerGone && !this.#ownersAlive(dep))) {
        this.#deleteAt(table, key, "Background");
      }
    }
    if (policy === "Foreground") {
      const at = this.store.locate(ownerUid);
      if (at) this.#finishForeground(at.table, at.key);
    }
  }

  #finishForegroundOwners(removed: KubeObject): void {
    const refs = removed.metadata.ownerReferences;
    if (!Array.isArray(refs)) return;
    for (const r of refs) {
      if (!isObject(r) || typeof r.uid !== "string") continue;
      const at = this.store.locate(r.uid);
      if (at) this.#finishForeground(at.table, at.key);
    }
  }

  #finishForeground(table: string, key: string): void {
    const owner = this.store.get(table, key);
    if (!owner || !finalizersOf(owner).includes("foregroundDeletion")) return;
    const left = this.store.dependentsOf(String(owner.metadata.uid))
      .filter((d) => this.store.get(d.table, d.key));
    if (left.length > 0) return;
    this.#dropFinalizer(table, key, "foregroundDeletion");
  }

  #dropFinalizer(table: string, key: string, finalizer: string): void {
    const obj = this.store.get(table, key);
    if (!obj) return;
    const next = structuredClone(obj);
    next.metadata.finalizers = finalizersOf(obj).filter((f) => f !== finalizer);
    if ((next.metadata.finalizers as string[]).length === 0) {
      delete next.metadata.finalizers;
    }
    const rv = this.store.nextRv();
    next.metadata.resourceVersion = String(rv);
    this.store.put(table, { key, object: next, rv });
    if (next.metadata.deletionTimestamp && finalizersOf(next).length === 0) {
      this.#remove(table, key);
    }
  }

  #orphanDependents(ownerUid: string): void {
    for (const { table, key } of this.store.dependentsOf(ownerUid)) {
      const dep = this.store.get(table, key);
      if (!dep) continue;
      const next = structuredClone(dep);
      const refs = (next.metadata.ownerReferences as Json[]).filter((r) =>
        !(isObject(r) && r.uid === ownerUid)
      );
      if (refs.length === 0) delete next.metadata.ownerReferences;
      else next.metadata.ownerReferences = refs;
      const rv = this.store.nextRv();
      next.metadata.resourceVersion = String(rv);
      this.store.put(table, { key, object: next, rv });
    }
    const at = this.store.locate(ownerUid);
    if (at) this.#dropFinalizer(at.table, at.key, "orphan");
  }

  #sweepNamespace(namespace: string): void {
    for (const def of this.registry.all()) {
      if (!def.namespaced) continue;
      const table = tableOf(def);
      for (const [key, obj] of [...this.store.table(table)]) {
        if (obj.metadata.namespace === namespace) {
          this.#deleteAt(table, key, "Background");
        }
      }
    }
    this.#finishNamespace(namespace);
  }

  #finishNamespace(namespace: string): void {
    const nsTable = resourceKey("", "namespaces");
    const ns = this.store.get(nsTable, namespace);
    if (!ns || !ns.metadata.deletionTimestamp) return;
    for (const def of this.registry.all()) {
      if (!def.namespaced) continue;
      for (const obj of this.store.table(tableOf(def)).values()) {
        if (obj.metadata.namespace === namespace) return;
      }
    }
    if (finalizersOf(ns).length === 0) this.#remove(nsTable, namespace);
  }

  /** DELETE a collection: every matching object, as a list of what was deleted. */
  deleteCollection(
    t: Target,
    query: ListQuery,
    options: { propagationPolicy?: string; dryRun?: boolean } = {},
  ): string {
    const matches = this.#matcher(t, query);
    const apiVersion = apiVersionOf(t.def.group, t.version.name);
    const items: string[] = [];
    for (const [key, obj] of this.#selected(t, matches)) {
      if (options.dryRun) {
        items.push(renderObject(obj, apiVersion));
        continue;
      }
      const { object } = this.#deleteAt(
        tableOf(t.def),
        key,
        options.propagationPolicy ?? "Background",
      );
      items.push(renderObject(object, apiVersion));
    }
    const head = JSON.stringify({
      kind: t.def.listKind,
      apiVersion,
      metadata: { resourceVersion: String(this.store.rv) },
    });
    return `${head.slice(0, -1)},"items":[${items.join(",")}]}`;
  }
}
