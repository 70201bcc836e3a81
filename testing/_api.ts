/**
 * The API semantics: what get, list, watch, create, update, patch and
 * delete do to the store. The parts live beside it: admission
 * (`_admission.ts`), server-side apply (`_apply.ts`), deletion and garbage
 * collection (`_deletion.ts`), namespace lifecycle (`_namespaces.ts`), CRD
 * establishment (`_crds.ts`) and list reading (`_list.ts`).
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { admit, checkBody, generateName } from "./_admission.ts";
import { applyRequest } from "./_apply.ts";
import { BUILTIN_KINDS, BUILTIN_TYPES } from "./_builtin_types.ts";
import {
  CRD_FINALIZER,
  CRD_TABLE,
  dropCrd,
  establish,
  isCrd,
  markCrdTerminating,
  serveCrd,
} from "./_crds.ts";
import { decodeBuiltin } from "./_defaults.ts";
import { Deletion } from "./_deletion.ts";
import { type FieldManagerContext, recordUpdate } from "./_managed.ts";
import {
  list,
  listItem,
  listText,
  matcherFor,
  selectedEntries,
} from "./_list.ts";
import {
  INITIAL_NAMESPACES,
  NAMESPACE_TABLE,
  Namespaces,
} from "./_namespaces.ts";
import {
  finalizersOf,
  hasOwners,
  type ListQuery,
  meta,
  SERVER_FIELDS,
  tableOf,
  type Target,
  timestampOf,
} from "./_objects.ts";
import {
  deepEqual,
  isObject,
  type Json,
  type JsonObject,
  jsonPatch,
  mergePatch,
  PatchApplyError,
} from "./_patch.ts";
import {
  apiVersionOf,
  builtinResources,
  type ResourceDef,
  ResourceRegistry,
} from "./_resources.ts";
import { requestedReplicas, scaleOf, setAtPath } from "./_scale.ts";
import { admitCustomObject } from "./_schema.ts";
import { strategicMerge, StrategicPatchError } from "./_strategic.ts";
import {
  allocateServiceIps,
  type Endpoint,
  prepareForCreate,
  prepareForUpdate,
  resetFields,
  zeroObject,
} from "./_strategies.ts";
import {
  alreadyExists,
  ApiStatusError,
  badRequest,
  conflict,
  expired,
  invalid,
  notFound,
  reasonForCode,
  STALE_MESSAGE,
} from "./_status.ts";
import type { PatchType } from "../client/patch.ts";
import { objectKey, Store, type StoredObject } from "./_store.ts";
import { builtinShape, customShape, type Shape } from "./_types.ts";
import { renderObject, WatchHub } from "./_watch.ts";

export type { ListQuery, Target } from "./_objects.ts";

export type { PatchType };

/** Options of the core. */
export interface ApiCoreOptions {
  now: () => Date;
  random: () => number;
  historyLimit: number;
  bookmarkIntervalMs: number;
}

/** Who writes, and how. */
export interface WriteOptions {
  dryRun?: boolean;
  /** The field manager of the change (`fieldManager`, else from the User-Agent). */
  manager?: string;
}

const OBJECT_META = BUILTIN_TYPES["meta.v1.ObjectMeta"]
  ? builtinShape(BUILTIN_TYPES, "meta.v1.ObjectMeta")
  : undefined;

/** The manager of the server's own writes. */
const SERVER_MANAGER = "kube-apiserver";

function unsupportedPatch(): ApiStatusError {
  return new ApiStatusError(415, {
    reason: reasonForCode(415),
    message:
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
  });
}

/** The in-memory API server's behaviour, independent of HTTP. */
export class ApiCore {
  readonly store: Store;
  readonly registry: ResourceRegistry;
  readonly hub: WatchHub;
  #options: ApiCoreOptions;
  #deletion: Deletion;
  #namespaces: Namespaces;
  #clusterIps = new Set<string>();

  constructor(options: ApiCoreOptions) {
    this.#options = options;
    this.store = new Store(options.historyLimit);
    this.registry = new ResourceRegistry(builtinResources());
    this.hub = new WatchHub({
      bookmarkIntervalMs: options.bookmarkIntervalMs,
      currentRv: () => this.store.rv,
    });
    this.store.subscribe((event) => this.hub.dispatch(event));
    this.#namespaces = new Namespaces(this.store, {
      registry: this.registry,
      deletion: () => this.#deletion,
    });
    this.#deletion = new Deletion(this.store, {
      timestamp: () => this.#timestamp(),
      isNamespaceTable: (table) => table === NAMESPACE_TABLE,
      graceful: (table) => table === "/pods",
      systemFinalizer: (table) =>
        table === CRD_TABLE ? CRD_FINALIZER : undefined,
      onMarked: (table, object) => {
        if (table === CRD_TABLE) markCrdTerminating(object, this.#timestamp());
      },
      onTerminating: (table, object) => {
        if (table === NAMESPACE_TABLE) {
          this.#namespaces.sweep(String(object.metadata.name));
        } else if (table === CRD_TABLE) this.#cleanUpCrd(object);
      },
      track: (table, before, after) => this.#track(table, before, after),
      onRemoved: (last, table) => {
        if (table === CRD_TABLE) this.#dropCrd(last);
      },
      afterRemoved: (last) => {
        const ns = last.metadata.namespace;
        if (typeof ns === "string" && ns !== "") this.#namespaces.finish(ns);
      },
    });
    const ns = this.registry.byKey("", "namespaces")!;
    for (const name of INITIAL_NAMESPACES) {
      this.create({ def: ns, version: ns.versions[0] }, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name },
      }, { manager: SERVER_MANAGER });
    }
  }

  #timestamp(): string {
    return timestampOf(this.#options.now());
  }

  /** The object as the requested version shows it. */
  render(t: Target, obj: StoredObject): string {
    return renderObject(obj, apiVersionOf(t.def.group, t.version.name));
  }

  #existing(t: Target): StoredObject {
    const name = t.name ?? "";
    const obj = this.store.get(tableOf(t.def), objectKey(t.namespace, name));
    if (!obj) throw notFound(t.def, name);
    return obj;
  }

  /** The shape of the target's objects, for field management and patches. */
  shapeOf(def: ResourceDef, version: string): Shape {
    if (def.custom) {
      const info = def.versions.find((v) => v.name === version) ??
        def.versions[0];
      return customShape(info.schema, OBJECT_META!);
    }
    const root =
      BUILTIN_KINDS[`${apiVersionOf(def.group, version)} ${def.kind}`];
    return builtinShape(BUILTIN_TYPES, root ?? "");
  }

  #context(t: Target, endpoint: Endpoint): FieldManagerContext {
    return {
      shape: this.shapeOf(t.def, t.version.name),
      apiVersion: apiVersionOf(t.def.group, t.version.name),
      subresource: endpoint === "main" ? undefined : endpoint,
      resetFields: resetFields(t.def, endpoint),
      now: this.#timestamp(),
    };
  }

  /**
   * What decoding a request body does on the real server: Go's wire rules
   * and defaults for built-in kinds; pruning and schema defaults for
   * custom objects (`fieldValidation=Strict` refuses unknown fields).
   */
  #decode(t: Target, obj: JsonObject): void {
    if (!t.def.custom) {
      decodeBuiltin(tableOf(t.def), obj, this.shapeOf(t.def, t.version.name));
      return;
    }
    if (!t.version.schema) return;
    const { pruned } = admitCustomObject(t.version.schema, obj, {
      namespaced: t.def.namespaced,
    });
    if (t.strictFields === true && pruned.length > 0) {
      throw badRequest(
        `strict decoding error: ${
          pruned.map((path) => `unknown field "${path}"`).join(", ")
        }`,
      );
    }
  }

  /** A write the server makes itself, recorded in managedFields as its controller would. */
  #track(table: string, before: StoredObject, after: StoredObject): void {
    const def = this.registry.all().find((d) => tableOf(d) === table);
    if (!def) return;
    const t: Target = { def, version: def.versions[0] };
    const managed = recordUpdate(before, after, {
      manager: "kube-controller-manager",
      context: this.#context(t, "main"),
      requestManaged: before.metadata.managedFields,
      zero: zeroObject(def),
    });
    if (managed === undefined) delete after.metadata.managedFields;
    else after.metadata.managedFields = managed;
  }

  /** GET one object. */
  get(t: Target): StoredObject {
    return this.#existing(t);
  }

  /** LIST, as the JSON text of the list object. */
  list(t: Target, query: ListQuery): string {
    return list(this.store, t, query);
  }

  /** WATCH, as a stream of newline-delimited JSON events. */
  watch(t: Target, query: ListQuery): ReadableStream<Uint8Array> {
    const matches = matcherFor(t, query);
    const apiVersion = apiVersionOf(t.def.group, t.version.name);
    const spec = {
      table: tableOf(t.def),
      resource: t.def.plural,
      namespace: t.namespace,
      matches,
      bookmarks: query.allowWatchBookmarks === true,
      apiVersion,
      kind: t.def.kind,
      builtin: !t.def.custom,
      listKind: t.def.listKind,
      timeoutMs: query.timeoutSeconds !== undefined
        ? query.timeoutSeconds * 1000
        : undefined,
    };
    const rvText = query.resourceVersion ?? "";
    if (
      query.sendInitialEvents && query.resourceVersionMatch !== "NotOlderThan"
    ) {
      throw invalid({ kind: "ListOptions", group: "meta.k8s.io", name: "" }, [{
        reason: "FieldValueForbidden",
        field: "resourceVersionMatch",
        message:
          "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
      }]);
    }
    if (rvText === "" || rvText === "0" || query.sendInitialEvents) {
      const existing = selectedEntries(this.store, t, matches).map(([, obj]) =>
        obj
      );
      return this.hub.open(spec, {
        existing,
        initialEventsEnd: query.sendInitialEvents ? this.store.rv : undefined,
      });
    }
    const rv = Number(rvText);
    if (!/^\d+$/.test(rvText)) {
      throw new ApiStatusError(500, {
        reason: "",
        message: `resourceVersion: Invalid value: ${
          JSON.stringify(rvText)
        }: strconv.ParseUint: parsing ${
          JSON.stringify(rvText)
        }: invalid syntax`,
      });
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

  /**
   * POST: creates an object. `managedFields`, when given, are those an
   * apply computed (else the create is recorded under `manager`).
   */
  create(
    t: Target,
    body: unknown,
    options: WriteOptions & { managedFields?: Json[] | null } = {},
  ): StoredObject {
    const obj = checkBody(t, structuredClone(body));
    const m = meta(obj);
    if (t.def.namespaced) {
      this.#namespaces.checkOpen(t.namespace ?? "", {
        resource: t.def,
        name: String(m.name ?? ""),
      });
    }
    if (!m.name && typeof m.generateName === "string" && m.generateName) {
      m.name = generateName(m.generateName, this.#options.random);
    }
    if (!m.name) {
      throw invalid({ kind: t.def.kind, group: t.def.group, name: "" }, [{
        reason: "FieldValueRequired",
        field: "metadata.name",
        message: "Required value: name or generateName is required",
      }]);
    }
    const requestManaged = m.managedFields;
    for (const field of SERVER_FIELDS) delete m[field];
    this.#decode(t, obj);
    const managed = options.managedFields !== undefined
      ? options.managedFields ?? undefined
      : recordUpdate(undefined, obj, {
        manager: options.manager ?? "",
        context: this.#context(t, "main"),
        requestManaged,
        zero: zeroObject(t.def),
      });
    if (managed !== undefined) m.managedFields = managed;
    prepareForCreate(t.def, obj);
    if (tableOf(t.def) === "/services") {
      allocateServiceIps(obj, {
        used: this.#clusterIps,
        random: this.#options.random,
      });
    }
    admit(t, obj);
    const table = tableOf(t.def);
    const key = objectKey(t.namespace, String(m.name));
    if (this.store.get(table, key)) throw alreadyExists(t.def, String(m.name));
    m.uid = randomUUID();
    m.creationTimestamp = this.#timestamp();
    if (options.dryRun) return obj as StoredObject;
    const rv = this.store.nextRv();
    m.resourceVersion = String(rv);
    this.store.put(table, { key, object: obj as StoredObject, rv });
    if (isCrd(t.def)) {
      serveCrd(this.registry, obj);
      queueMicrotask(() => this.#establish(key));
    }
    if (hasOwners(obj)) {
      queueMicrotask(() => this.#deletion.collectIfOrphaned(table, key));
    }
    return obj as StoredObject;
  }

  /** The naming and establishing controllers' status write after a CRD's create. */
  #establish(key: string): void {
    const crd = this.store.get(CRD_TABLE, key);
    if (!crd || crd.metadata.deletionTimestamp) return;
    const next = structuredClone(crd);
    establish(next, this.#timestamp());
    const def = this.registry.byKey(
      "apiextensions.k8s.io",
      "customresourcedefinitions",
    )!;
    const managed = recordUpdate(crd, next, {
      manager: SERVER_MANAGER,
      context: this.#context({ def, version: def.versions[0] }, "status"),
      requestManaged: undefined,
      zero: zeroObject(def),
    });
    if (managed === undefined) delete next.metadata.managedFields;
    else next.metadata.managedFields = managed;
    const rv = this.store.nextRv();
    next.metadata.resourceVersion = String(rv);
    this.store.put(CRD_TABLE, { key, object: next, rv });
    serveCrd(this.registry, next);
  }

  /** A deleted CRD: its custom objects go, then its finalizer, then the CRD. */
  #cleanUpCrd(crd: StoredObject): void {
    this.#dropCrd(crd);
    this.#deletion.dropFinalizer(
      CRD_TABLE,
      String(crd.metadata.name),
      CRD_FINALIZER,
    );
  }

  #dropCrd(crd: StoredObject): void {
    dropCrd(crd, {
      store: this.store,
      registry: this.registry,
      remove: (t, key) => this.#deletion.remove(t, key),
    });
  }

  /**
   * The common path of PUT and PATCH: `body` is the whole new object. With
   * `requireRv`, an update without `metadata.resourceVersion` is refused
   * where the resource demands it. `managedFields`, when given, are those
   * an apply computed (else the change is recorded under `manager`).
   */
  #write(
    t: Target,
    body: JsonObject,
    options: WriteOptions & {
      requireRv: boolean;
      managedFields?: Json[] | null;
    },
  ): StoredObject {
    const existing = this.#existing(t);
    const obj = checkBody(t, body);
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
          kind: t.def.plural,
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
    const endpoint: Endpoint = t.subresource ?? "main";
    const requestManaged = m.managedFields;
    this.#decode(t, obj);
    const managed = options.managedFields !== undefined
      ? options.managedFields ?? undefined
      : recordUpdate(existing, obj, {
        manager: options.manager ?? "",
        context: this.#context(t, endpoint),
        requestManaged,
        zero: zeroObject(t.def),
      });
    const next = obj;
    const nm = meta(next);
    nm.name = old.name;
    if (old.namespace !== undefined) nm.namespace = old.namespace;
    for (const field of SERVER_FIELDS) {
      if (old[field] === undefined) delete nm[field];
      else nm[field] = structuredClone(old[field]);
    }
    if (managed === undefined) delete nm.managedFields;
    else nm.managedFields = managed;
    prepareForUpdate(t.def, { next, old: existing, endpoint });
    if (old.deletionTimestamp) {
      const before = new Set(finalizersOf(existing));
      const added = finalizersOf(next).filter((f) => !before.has(f));
      if (added.length > 0) {
        const cause = {
          reason: "FieldValueForbidden",
          field: "metadata.finalizers",
          message:
            `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${
              added.map((f) => JSON.stringify(f)).join(", ")
            }}`,
        };
        // Custom objects have their metadata validated twice, so the cause comes twice.
        throw invalid({
          kind: t.def.kind,
          group: t.def.group,
          name: t.name ?? "",
        }, t.def.custom ? [cause, { ...cause }] : [cause]);
      }
    }
    admit(t, next);
    if (deepEqual(next, existing)) return existing;
    if (options.dryRun) return next as StoredObject;
    const newRv = this.store.nextRv();
    const written = meta(next);
    written.resourceVersion = String(newRv);
    const table = tableOf(t.def);
    const key = objectKey(t.namespace, t.name ?? "");
    if (written.deletionTimestamp && finalizersOf(next).length === 0) {
      this.#deletion.remove(table, key, existing);
      return next as StoredObject;
    }
    this.store.put(table, { key, object: next as StoredObject, rv: newRv });
    if (isCrd(t.def)) serveCrd(this.registry, next);
    if (hasOwners(next)) {
      queueMicrotask(() => this.#deletion.collectIfOrphaned(table, key));
    }
    return next as StoredObject;
  }

  /** PUT: replaces an object (or its status). */
  update(t: Target, body: unknown, options: WriteOptions = {}): StoredObject {
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
      manager?: string;
      force?: boolean;
      dryRun?: boolean;
    },
  ): { object: StoredObject; created: boolean } {
    if (request.type === "apply") return this.#apply(t, request);
    if (request.type === "strategic" && t.def.custom) throw unsupportedPatch();
    const existing = this.#existing(t);
    let patched: Json;
    try {
      if (request.type === "json") {
        patched = jsonPatch(existing, request.body);
      } else {
        if (!isObject(request.body)) {
          throw badRequest("a merge patch must be a JSON object");
        }
        patched = request.type === "strategic"
          ? strategicMerge(
            existing,
            request.body,
            this.shapeOf(t.def, t.version.name),
          )
          : mergePatch(structuredClone(existing), request.body);
      }
    } catch (error) {
      if (error instanceof PatchApplyError) {
        throw new ApiStatusError(422, {
          reason: "Invalid",
          message: error.message,
          details: {},
        });
      }
      if (error instanceof StrategicPatchError) throw badRequest(error.message);
      throw error;
    }
    if (!isObject(patched)) {
      throw badRequest("the patched object must be a JSON object");
    }
    const object = this.#write(t, patched, {
      requireRv: false,
      dryRun: request.dryRun,
      manager: request.manager,
    });
    return { object, created: false };
  }

  /** GET the `/scale` of an object. */
  getScale(t: Target): JsonObject {
    return scaleOf(this.#existing(t), t.version.scale!);
  }

  /** PUT `/scale`: writes the replicas into the object, answers its new scale. */
  updateScale(
    t: Target,
    body: unknown,
    options: WriteOptions = {},
  ): JsonObject {
    const paths = t.version.scale!;
    const existing = this.#existing(t);
    if (!isObject(body)) {
      throw badRequest("the request body must be a JSON object");
    }
    const m = isObject(body.metadata) ? body.metadata : {};
    const rv = m.resourceVersion;
    if (
      typeof rv === "string" && rv !== "" &&
      rv !== existing.metadata.resourceVersion
    ) {
      throw conflict(t.def, { name: t.name ?? "", message: STALE_MESSAGE });
    }
    const requested = requestedReplicas(body);
    const next = structuredClone(existing);
    if ("causes" in requested) {
      const causes = [...requested.causes];
      if (t.def.custom && t.version.schema) {
        setAtPath(
          next,
          paths.specReplicasPath,
          (body.spec as JsonObject).replicas,
        );
        const problem = admitCustomObject(t.version.schema, next, {
          namespaced: t.def.namespaced,
        }).causes.find((c) => `.${c.field}` === paths.specReplicasPath);
        if (problem) causes.push({ ...problem, field: paths.specReplicasPath });
      }
      throw invalid({
        kind: t.def.kind,
        group: t.def.group,
        name: t.name ?? "",
      }, causes);
    }
    setAtPath(next, paths.specReplicasPath, requested.replicas);
    const object = this.#write({ ...t, subresource: "scale" }, next, {
      requireRv: false,
      ...options,
    });
    return scaleOf(object, paths);
  }

  /** PATCH `/scale`: the patch applies to the scale, then as a PUT. */
  patchScale(
    t: Target,
    request: {
      type: PatchType;
      body: unknown;
      manager?: string;
      dryRun?: boolean;
    },
  ): JsonObject {
    const scale = this.getScale(t);
    let patched: Json;
    try {
      if (request.type === "json") patched = jsonPatch(scale, request.body);
      else if (request.type === "apply" || !isObject(request.body)) {
        throw badRequest("a scale patch must be a JSON object");
      } else patched = mergePatch(structuredClone(scale), request.body);
    } catch (error) {
      if (error instanceof PatchApplyError) {
        throw new ApiStatusError(422, {
          reason: "Invalid",
          message: error.message,
          details: {},
        });
      }
      throw error;
    }
    return this.updateScale(t, patched, {
      manager: request.manager,
      dryRun: request.dryRun,
    });
  }

  #apply(
    t: Target,
    request: {
      body: unknown;
      fieldManager?: string;
      force?: boolean;
      dryRun?: boolean;
    },
  ): { object: StoredObject; created: boolean } {
    const endpoint: Endpoint = t.subresource === "status" ? "status" : "main";
    const existing = this.store.get(
      tableOf(t.def),
      objectKey(t.namespace, t.name ?? ""),
    );
    if (!existing && endpoint === "status") throw notFound(t.def, t.name ?? "");
    const applied = applyRequest(t, request, {
      existing,
      context: this.#context(t, endpoint),
    });
    const managedFields = applied.managedFields ?? null;
    if (!existing) {
      const object = this.create(t, applied.object ?? applied.config, {
        dryRun: request.dryRun,
        managedFields,
      });
      return { object, created: true };
    }
    const next = applied.object ?? structuredClone(existing);
    if (managedFields === null) delete meta(next).managedFields;
    else meta(next).managedFields = managedFields;
    const object = this.#write(t, next, {
      requireRv: false,
      dryRun: request.dryRun,
      managedFields,
    });
    return { object, created: false };
  }

  /** DELETE one object. */
  delete(
    t: Target,
    options: {
      propagationPolicy?: string;
      preconditions?: { uid?: string; resourceVersion?: string };
      dryRun?: boolean;
    } = {},
  ): { object: StoredObject; removed: boolean } {
    const existing = this.#existing(t);
    const pre = options.preconditions ?? {};
    const byKind = { group: t.def.group, plural: t.def.kind };
    if (pre.uid !== undefined && pre.uid !== existing.metadata.uid) {
      throw conflict(byKind, {
        name: t.name ?? "",
        message:
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid}`,
      });
    }
    if (
      pre.resourceVersion !== undefined &&
      pre.resourceVersion !== existing.metadata.resourceVersion
    ) {
      throw conflict(byKind, {
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
    const key = objectKey(t.namespace, t.name ?? "");
    if (options.dryRun) {
      return this.#deletion.preview(tableOf(t.def), key, policy);
    }
    return this.#deletion.deleteAt(tableOf(t.def), key, policy);
  }

  /** DELETE a collection: every matching object, as a list of what was deleted. */
  deleteCollection(
    t: Target,
    query: ListQuery,
    options: { propagationPolicy?: string; dryRun?: boolean } = {},
  ): string {
    const matches = matcherFor(t, query);
    const items: string[] = [];
    for (const [key, obj] of selectedEntries(this.store, t, matches)) {
      if (options.dryRun) {
        items.push(listItem(t, obj));
        continue;
      }
      const { object } = this.#deletion.deleteAt(
        tableOf(t.def),
        key,
        options.propagationPolicy ?? "Background",
      );
      items.push(listItem(t, object));
    }
    return listText(t, {
      metadata: { resourceVersion: String(this.store.rv) },
      items,
    });
  }
}
