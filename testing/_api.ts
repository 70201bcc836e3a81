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
import { FieldOwnership } from "./_apply.ts";
import { CRD_TABLE, dropCrd, establish, isCrd, serveCrd } from "./_crds.ts";
import { Deletion } from "./_deletion.ts";
import { list, listText, matcherFor, selectedEntries } from "./_list.ts";
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
  ResourceRegistry,
} from "./_resources.ts";
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  invalid,
  notFound,
  STALE_MESSAGE,
} from "./_status.ts";
import { type KubeObject, objectKey, Store } from "./_store.ts";
import { renderObject, WatchHub } from "./_watch.ts";

export type { ListQuery, Target } from "./_objects.ts";

/** The patch formats. */
export type PatchType = "merge" | "json" | "strategic" | "apply";

/** Options of the core. */
export interface ApiCoreOptions {
  now: () => Date;
  random: () => number;
  historyLimit: number;
  bookmarkIntervalMs: number;
}

/** The in-memory API server's behaviour, independent of HTTP. */
export class ApiCore {
  readonly store: Store;
  readonly registry: ResourceRegistry;
  readonly hub: WatchHub;
  #options: ApiCoreOptions;
  #ownership = new FieldOwnership();
  #deletion: Deletion;
  #namespaces: Namespaces;

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
      onNamespaceTerminating: (name) => this.#namespaces.sweep(name),
      onRemoved: (last, table) => {
        this.#ownership.forget(String(last.metadata.uid));
        if (table === CRD_TABLE) {
          dropCrd(last, {
            store: this.store,
            registry: this.registry,
            remove: (t, key) => this.#deletion.remove(t, key),
          });
        }
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
      });
    }
  }

  #timestamp(): string {
    return timestampOf(this.#options.now());
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
      timeoutMs: query.timeoutSeconds !== undefined
        ? query.timeoutSeconds * 1000
        : undefined,
    };
    const rvText = query.resourceVersion ?? "";
    if (rvText === "" || rvText === "0") {
      const existing = selectedEntries(this.store, t, matches).map(([, obj]) =>
        obj
      );
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

  /** POST: creates an object. */
  create(
    t: Target,
    body: unknown,
    options: { dryRun?: boolean } = {},
  ): KubeObject {
    const obj = checkBody(t, structuredClone(body));
    const m = meta(obj);
    if (t.def.namespaced) this.#namespaces.checkOpen(t.namespace ?? "");
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
    for (const field of SERVER_FIELDS) delete m[field];
    if (t.version.status && t.def.custom) delete obj.status;
    if (t.def.plural === "namespaces" && t.def.group === "") {
      obj.spec = { finalizers: ["kubernetes"] };
      obj.status = { phase: "Active" };
    }
    admit(t, obj);
    const table = tableOf(t.def);
    const key = objectKey(t.namespace, String(m.name));
    if (this.store.get(table, key)) throw alreadyExists(t.def, String(m.name));
    m.uid = randomUUID();
    m.creationTimestamp = this.#timestamp();
    if (t.def.generation) m.generation = 1;
    if (isCrd(t.def)) establish(obj, this.#timestamp());
    if (options.dryRun) {
      m.resourceVersion = String(this.store.rv);
      return obj as KubeObject;
    }
    const rv = this.store.nextRv();
    m.resourceVersion = String(rv);
    this.store.put(table, { key, object: obj as KubeObject, rv });
    if (isCrd(t.def)) serveCrd(this.registry, obj);
    if (hasOwners(obj)) {
      queueMicrotask(() => this.#deletion.collectIfOrphaned(table, key));
    }
    return obj as KubeObject;
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
    admit(t, next);
    if (t.def.generation && this.#specChanged(t, existing, next)) {
      nm.generation = Number(old.generation ?? 0) + 1;
    }
    const changed = !deepEqual(next, existing);
    if (!changed) return existing;
    this.#ownership.releaseChangedFields(existing, next, options.manager);
    if (options.dryRun) return next as KubeObject;
    const newRv = this.store.nextRv();
    nm.resourceVersion = String(newRv);
    const table = tableOf(t.def);
    const key = objectKey(t.namespace, t.name ?? "");
    this.store.put(table, { key, object: next as KubeObject, rv: newRv });
    if (isCrd(t.def)) serveCrd(this.registry, next);
    if (nm.deletionTimestamp && finalizersOf(next).length === 0) {
      this.#deletion.remove(table, key);
    } else if (hasOwners(next)) {
      queueMicrotask(() => this.#deletion.collectIfOrphaned(table, key));
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
    if (request.type === "apply") {
      return this.#ownership.apply(t, request, {
        existing: this.store.get(
          tableOf(t.def),
          objectKey(t.namespace, t.name ?? ""),
        ),
        create: (body, options) => this.create(t, body, options),
        write: (body, options) =>
          this.#write(t, body, { requireRv: false, ...options }),
      });
    }
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
    const key = objectKey(t.namespace, t.name ?? "");
    return this.#deletion.deleteAt(tableOf(t.def), key, policy);
  }

  /** DELETE a collection: every matching object, as a list of what was deleted. */
  deleteCollection(
    t: Target,
    query: ListQuery,
    options: { propagationPolicy?: string; dryRun?: boolean } = {},
  ): string {
    const matches = matcherFor(t, query);
    const apiVersion = apiVersionOf(t.def.group, t.version.name);
    const items: string[] = [];
    for (const [key, obj] of selectedEntries(this.store, t, matches)) {
      if (options.dryRun) {
        items.push(renderObject(obj, apiVersion));
        continue;
      }
      const { object } = this.#deletion.deleteAt(
        tableOf(t.def),
        key,
        options.propagationPolicy ?? "Background",
      );
      items.push(renderObject(object, apiVersion));
    }
    return listText(t, {
      metadata: { resourceVersion: String(this.store.rv) },
      items,
    });
  }
}
