/**
 * `metadata.managedFields` as a real kube-apiserver keeps them (after
 * k8s.io/apimachinery's field manager and structured-merge-diff's
 * updater): every create, update and patch records the fields it set
 * under its manager (`Update`), and server-side apply (`Apply`) merges a
 * configuration, removes what its manager stopped applying, and refuses
 * to change another manager's fields without `force`.
 *
 * @module
 */
import {
  fieldElement,
  FieldSet,
  type PathElement,
  pathText,
} from "./_fieldpath.ts";
import { deepEqual, isObject, type Json, type JsonObject } from "./_patch.ts";
import { ApiStatusError, badRequest } from "./_status.ts";
import {
  compare,
  type Comparison,
  merge,
  removeItems,
  toFieldSet,
  TypedValueError,
  withNamedFields,
} from "./_typed.ts";
import type { Shape } from "./_types.ts";

/** How many `Update` entries an object keeps; older ones merge into `ancient-changes`. */
export const MAX_UPDATE_MANAGERS = 10;

/** The longest field manager name. */
export const FIELD_MANAGER_MAX_LENGTH = 128;

/** One entry of `managedFields`, its field set decoded. */
export interface ManagerEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** Entries by identity: manager, operation, subresource, and apiVersion for updates. */
export type Managed = Map<string, ManagerEntry>;

/** The identity of an entry, as the server builds it. */
export function identityOf(
  entry: Pick<
    ManagerEntry,
    "manager" | "operation" | "apiVersion" | "subresource"
  >,
): string {
  const id: JsonObject = { manager: entry.manager, operation: entry.operation };
  if (entry.operation === "Update") id.apiVersion = entry.apiVersion;
  if (entry.subresource) id.subresource = entry.subresource;
  return JSON.stringify(id);
}

/** Fields no manager ever owns. */
const STRIPPED: FieldSet = (() => {
  const set = new FieldSet();
  for (const f of ["apiVersion", "kind", "metadata"]) {
    set.insert([fieldElement(f)]);
  }
  for (
    const f of [
      "name",
      "namespace",
      "creationTimestamp",
      "selfLink",
      "uid",
      "clusterName",
      "generation",
      "managedFields",
      "resourceVersion",
    ]
  ) set.insert([fieldElement("metadata"), fieldElement(f)]);
  return set;
})();

/**
 * Reads `managedFields`; `undefined` when they cannot be read (an entry
 * without a valid operation, apiVersion or fieldsType).
 */
export function decodeManaged(value: Json | undefined): Managed | undefined {
  const out: Managed = new Map();
  if (value === undefined || value === null) return out;
  if (!Array.isArray(value)) return undefined;
  for (const raw of value) {
    if (!isObject(raw)) return undefined;
    const operation = raw.operation;
    if (operation !== "Apply" && operation !== "Update") return undefined;
    if (typeof raw.apiVersion !== "string" || raw.apiVersion === "") {
      return undefined;
    }
    if (raw.fieldsType !== "FieldsV1") return undefined;
    const entry: ManagerEntry = {
      manager: typeof raw.manager === "string" ? raw.manager : "",
      operation,
      apiVersion: raw.apiVersion,
      set: FieldSet.fromFieldsV1(raw.fieldsV1),
    };
    if (typeof raw.subresource === "string" && raw.subresource !== "") {
      entry.subresource = raw.subresource;
    }
    if (typeof raw.time === "string") {
      const time = Date.parse(raw.time);
      if (Number.isNaN(time)) return undefined;
      entry.time = new Date(time).toISOString().replace(/\.\d{3}Z$/, "Z");
    }
    out.set(identityOf(entry), entry);
  }
  return out;
}

function seconds(time: string | undefined): number {
  return time ? Math.floor(Date.parse(time) / 1000) : 0;
}

/** `managedFields` as the server writes them, sorted; `undefined` when empty. */
export function encodeManaged(managed: Managed): Json[] | undefined {
  const entries = [...managed.values()].filter((e) => !e.set.empty());
  if (entries.length === 0) return undefined;
  entries.sort((p, q) =>
    p.operation !== q.operation
      ? (p.operation < q.operation ? -1 : 1)
      : seconds(p.time) !== seconds(q.time)
      ? seconds(p.time) - seconds(q.time)
      : p.manager !== q.manager
      ? (p.manager < q.manager ? -1 : 1)
      : p.apiVersion !== q.apiVersion
      ? (p.apiVersion < q.apiVersion ? -1 : 1)
      : (p.subresource ?? "") < (q.subresource ?? "")
      ? -1
      : (p.subresource ?? "") > (q.subresource ?? "")
      ? 1
      : 0
  );
  return entries.map((e) => {
    const out: JsonObject = {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
    };
    if (e.time !== undefined) out.time = e.time;
    out.fieldsType = "FieldsV1";
    out.fieldsV1 = e.set.toFieldsV1();
    if (e.subresource) out.subresource = e.subresource;
    return out;
  });
}

/** The manager a request without `fieldManager` is recorded under: its User-Agent up to the first `/`. */
export function managerFromUserAgent(userAgent: string): string {
  let out = "";
  for (const ch of userAgent.split("/")[0]) {
    if (/\p{C}/u.test(ch)) continue;
    if (new TextEncoder().encode(out + ch).length > FIELD_MANAGER_MAX_LENGTH) {
      break;
    }
    out += ch;
  }
  return out;
}

/** What the field manager of one resource needs to know. */
export interface FieldManagerContext {
  /** The shape of the object. */
  shape: Shape;
  /** The request's apiVersion. */
  apiVersion: string;
  /** The subresource written, if any. */
  subresource?: string;
  /** The fields the strategy resets (never owned through this endpoint). */
  resetFields: FieldSet;
  /** The time of the change, as metadata carries it. */
  now: string;
}

/** An object as the field manager compares it: without its managedFields. */
function typedView(obj: JsonObject): JsonObject {
  const copy = structuredClone(obj);
  if (isObject(copy.metadata)) delete copy.metadata.managedFields;
  return copy;
}

function excluded(c: Comparison, reset: FieldSet): Comparison {
  return {
    added: c.added.recursiveDifference(reset),
    modified: c.modified.recursiveDifference(reset),
    removed: c.removed.recursiveDifference(reset),
  };
}

interface Conflict {
  manager: ManagerEntry;
  path: PathElement[];
}

/**
 * structured-merge-diff's `update`: other managers lose the fields this
 * change touched (or, without `force`, they are conflicts) and the fields
 * it removed.
 */
function takeFields(
  managed: Managed,
  fields: { comparison: Comparison; workflow: string; force: boolean },
): Conflict[] {
  const { comparison, workflow, force } = fields;
  const touched = comparison.modified.union(comparison.added);
  const conflicts: Conflict[] = [];
  const lost = new Map<string, FieldSet>();
  for (const [id, entry] of managed) {
    if (id === workflow) continue;
    const clash = entry.set.intersection(touched);
    if (!clash.empty()) {
      lost.set(id, clash);
      for (const path of clash.paths()) {
        conflicts.push({ manager: entry, path });
      }
    }
  }
  if (!force && conflicts.length > 0) return conflicts;
  for (const [id, entry] of managed) {
    if (id === workflow) continue;
    let set = entry.set;
    const clash = lost.get(id);
    if (clash) set = set.difference(clash);
    set = set.difference(comparison.removed);
    if (set.empty()) managed.delete(id);
    else managed.set(id, { ...entry, set });
  }
  return [];
}

function strip(set: FieldSet): FieldSet {
  return set.difference(STRIPPED);
}

function capUpdateManagers(managed: Managed, now: string): void {
  const updates = [...managed.entries()].filter(([, e]) =>
    e.operation === "Update"
  );
  if (updates.length <= MAX_UPDATE_MANAGERS) return;
  updates.sort(([, a], [, b]) => seconds(a.time) - seconds(b.time));
  const excess = updates.length - MAX_UPDATE_MANAGERS + 1;
  for (const [id, entry] of updates.slice(0, excess)) {
    managed.delete(id);
    const ancient: ManagerEntry = {
      manager: "ancient-changes",
      operation: "Update",
      apiVersion: entry.apiVersion,
      time: now,
      set: entry.set,
    };
    const key = identityOf(ancient);
    const previous = managed.get(key);
    if (previous) ancient.set = previous.set.union(entry.set);
    managed.set(key, ancient);
  }
}

/**
 * Records a create, update or non-apply patch: the fields `next` adds or
 * changes over `live` go to `manager` (other managers lose them), with
 * the time, when they changed anything. `requestManaged` is what the
 * request body carried (used unless empty, reset by `[]`).
 */
export function recordUpdate(
  live: JsonObject | undefined,
  next: JsonObject,
  fields: {
    manager: string;
    context: FieldManagerContext;
    requestManaged: Json | undefined;
    /** What a create is compared with (the kind's zero value). */
    zero: JsonObject;
  },
): Json[] | undefined {
  const { context } = fields;
  const liveMeta = isObject(live?.metadata) ? live!.metadata : {};
  const liveManaged = decodeManaged(liveMeta.managedFields) ?? new Map();
  let managed: Managed;
  const requested = fields.requestManaged;
  if (context.subresource) managed = liveManaged;
  else if (
    Array.isArray(requested) &&
    (requested.length === 0 ||
      (requested.length === 1 && deepEqual(requested[0], {})))
  ) {
    managed = new Map();
  } else {
    const fromRequest = decodeManaged(requested);
    managed = fromRequest && fromRequest.size > 0 ? fromRequest : liveManaged;
  }
  const creating = live === undefined || !liveMeta.uid;
  if (managed.size === 0 && !creating) return encodeManaged(managed);
  const liveTyped = live ? typedView(live) : fields.zero;
  const nextTyped = typedView(next);
  let comparison: Comparison;
  try {
    comparison = excluded(
      compare(liveTyped, nextTyped, context.shape),
      context.resetFields,
    );
  } catch (error) {
    if (error instanceof TypedValueError) return encodeManaged(liveManaged);
    throw error;
  }
  const workflow = "current-operation";
  takeFields(managed, { comparison, workflow, force: true });
  const changed = strip(
    comparison.modified.union(comparison.added).recursiveDifference(
      context.resetFields,
    ),
  );
  if (!changed.empty()) {
    const entry: ManagerEntry = {
      manager: fields.manager || "unknown",
      operation: "Update",
      apiVersion: context.apiVersion,
      set: changed,
    };
    // The scale subresource's entries carry no time on a real server.
    if (context.subresource !== "scale") entry.time = context.now;
    if (context.subresource) entry.subresource = context.subresource;
    const id = identityOf(entry);
    const previous = managed.get(id);
    if (previous) entry.set = previous.set.union(changed);
    managed.set(id, entry);
  }
  capUpdateManagers(managed, context.now);
  return encodeManaged(managed);
}

/** An apply request's result: the merged object (undefined: nothing changed) and the new managedFields. */
export interface Applied {
  object: JsonObject | undefined;
  managedFields: Json[] | undefined;
}

/**
 * Server-side apply of `config` over `live` (an empty object with its name
 * when creating): merged by the object's shape, fields the manager applied
 * before and no longer applies removed unless another manager owns them,
 * conflicts with other managers refused (409) unless `force`.
 */
export function apply(
  live: JsonObject,
  config: JsonObject,
  fields: {
    manager: string;
    force: boolean;
    context: FieldManagerContext;
  },
): Applied {
  const { context } = fields;
  const cm = isObject(config.metadata) ? config.metadata : undefined;
  if (cm && cm.managedFields !== undefined) {
    throw badRequest("metadata.managedFields must be nil");
  }
  const managed = decodeManaged(
    isObject(live.metadata) ? live.metadata.managedFields : undefined,
  );
  if (!managed) {
    throw new ApiStatusError(500, {
      reason: "InternalError",
      message: "failed to decode managed fields",
    });
  }
  const shape = context.shape;
  const liveTyped = typedView(live);
  const configTyped = config;
  let merged: JsonObject;
  let set: FieldSet;
  try {
    merged = (merge(liveTyped, configTyped, shape) ?? {}) as JsonObject;
    set = toFieldSet(configTyped, shape).recursiveDifference(
      context.resetFields,
    );
  } catch (error) {
    if (error instanceof TypedValueError) {
      throw new ApiStatusError(500, {
        reason: "InternalError",
        message: `failed to create typed patch object: ${error.message}`,
      });
    }
    throw error;
  }
  const entry: ManagerEntry = {
    manager: fields.manager,
    operation: "Apply",
    apiVersion: context.apiVersion,
    set,
  };
  if (context.subresource) entry.subresource = context.subresource;
  const id = identityOf(entry);
  const last = managed.get(id);
  if (last?.time) entry.time = last.time;
  managed.set(id, entry);
  const pruned = last && !last.set.empty()
    ? prune(merged, { managed, last: last.set, shape })
    : merged;
  const comparison = excluded(
    compare(liveTyped, pruned, shape),
    context.resetFields,
  );
  const conflicts = takeFields(managed, {
    comparison,
    workflow: id,
    force: fields.force,
  });
  if (conflicts.length > 0) throw conflictError(conflicts);
  const stripped = strip(entry.set);
  if (stripped.empty()) managed.delete(id);
  else managed.set(id, { ...managed.get(id)!, set: stripped });
  const unchanged = deepEqual(liveTyped, pruned);
  if (!unchanged) {
    const mine = managed.get(id);
    if (mine) mine.time = context.now;
  }
  capUpdateManagers(managed, context.now);
  return {
    object: unchanged ? undefined : pruned,
    managedFields: encodeManaged(managed),
  };
}

/**
 * Removes what the applier owned last time and no longer applies, unless
 * another manager owns it (structured-merge-diff's `prune`).
 */
function prune(
  merged: JsonObject,
  fields: { managed: Managed; last: FieldSet; shape: Shape },
): JsonObject {
  const { managed, last, shape } = fields;
  const named = (set: FieldSet) => withNamedFields(set, shape);
  const pruned0 = (removeItems(merged, named(last), shape) ?? {}) as JsonObject;
  let owned = new FieldSet();
  for (const entry of managed.values()) owned = owned.union(entry.set);
  const mergedSet = named(toFieldSet(merged, shape));
  const pruned0Set = named(toFieldSet(pruned0, shape));
  const pruned1 = (removeItems(
    merged,
    mergedSet.difference(pruned0Set.union(named(owned))),
    shape,
  ) ?? {}) as JsonObject;
  const pruned1Set = named(toFieldSet(pruned1, shape));
  return (removeItems(
    merged,
    mergedSet.difference(pruned1Set).intersection(named(last)),
    shape,
  ) ?? {}) as JsonObject;
}

function printManager(entry: ManagerEntry): string {
  let text = JSON.stringify(entry.manager);
  if (entry.subresource) {
    text += ` with subresource ${JSON.stringify(entry.subresource)}`;
  }
  if (entry.operation === "Update") {
    text += entry.time
      ? ` using ${entry.apiVersion} at ${entry.time}`
      : ` using ${entry.apiVersion}`;
  }
  return text;
}

function conflictError(conflicts: Conflict[]): ApiStatusError {
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0];
    message = `Apply failed with 1 conflict: conflict with ${
      printManager(c.manager)
    }: ${pathText(c.path)}`;
  } else {
    const byManager = new Map<string, Conflict[]>();
    for (const c of conflicts) {
      const key = identityOf(c.manager);
      byManager.set(key, [...(byManager.get(key) ?? []), c]);
    }
    const lines: string[] = [];
    for (const key of [...byManager.keys()].sort()) {
      const list = byManager.get(key)!;
      lines.push(`conflicts with ${printManager(list[0].manager)}:`);
      for (const c of list) lines.push(`- ${pathText(c.path)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${
      lines.join("\n")
    }`;
  }
  return new ApiStatusError(409, {
    reason: "Conflict",
    message,
    details: {
      causes: conflicts.map((c) => ({
        reason: "FieldManagerConflict",
        message: `conflict with ${printManager(c.manager)}`,
        field: pathText(c.path),
      })),
    },
  });
}
