/**
 * The per-kind rules of a real kube-apiserver's registry strategies: what
 * a create clears and sets (status, generation, a namespace's finalizer,
 * a pod's phase and QoS class, a CRD's fresh status), what an update of
 * the main resource or of `/status` keeps from the stored object, when
 * `metadata.generation` moves, and which fields each endpoint resets (so
 * that no field manager owns them there).
 *
 * @module
 */
import { admitPod, qosClass } from "./_defaults.ts";
import { fieldElement, FieldSet } from "./_fieldpath.ts";
import { deepEqual, isObject, type JsonObject } from "./_patch.ts";
import { type ResourceDef, resourceKey } from "./_resources.ts";

/** Which endpoint a write came through. */
export type Endpoint = "main" | "status" | "scale";

function tableOf(def: ResourceDef): string {
  return resourceKey(def.group, def.plural);
}

function hasStatus(def: ResourceDef): boolean {
  return def.versions.some((v) => v.status);
}

function set(...paths: string[][]): FieldSet {
  const out = new FieldSet();
  for (const p of paths) out.insert(p.map(fieldElement));
  return out;
}

/** The fields an endpoint resets, as the strategy's `GetResetFields` lists them. */
export function resetFields(def: ResourceDef, endpoint: Endpoint): FieldSet {
  if (endpoint === "scale") return set();
  if (endpoint === "main") return hasStatus(def) ? set(["status"]) : set();
  if (tableOf(def) === "apps/deployments") {
    return set(["spec"], ["metadata", "labels"]);
  }
  if (tableOf(def) === "/pods") {
    return set(["spec"], ["metadata", "deletionTimestamp"], [
      "metadata",
      "ownerReferences",
    ]);
  }
  return set(["spec"]);
}

/**
 * The object a create is compared with to find the fields its manager
 * set: the zero value of the kind's Go type, whose value structs are
 * present as `{}` and some fields as `null` (a custom object starts
 * empty).
 */
export function zeroObject(def: ResourceDef): JsonObject {
  if (def.custom) return {};
  const template = {
    metadata: { creationTimestamp: null },
    spec: { containers: null },
  };
  switch (tableOf(def)) {
    case "/namespaces":
      return { metadata: {}, spec: {}, status: {} };
    case "/pods":
      return { metadata: {}, spec: { containers: null }, status: {} };
    case "/services":
      return { metadata: {}, spec: {}, status: { loadBalancer: {} } };
    case "/events":
      return {
        metadata: {},
        involvedObject: {},
        source: {},
        firstTimestamp: null,
        lastTimestamp: null,
        eventTime: null,
        reportingComponent: "",
        reportingInstance: "",
      };
    case "events.k8s.io/events":
      return {
        metadata: {},
        regarding: {},
        deprecatedSource: {},
        deprecatedFirstTimestamp: null,
        deprecatedLastTimestamp: null,
        eventTime: null,
      };
    case "coordination.k8s.io/leases":
      return { metadata: {}, spec: {} };
    case "apps/deployments":
      return { metadata: {}, spec: { template, strategy: {} }, status: {} };
    case "apps/statefulsets":
      return {
        metadata: {},
        spec: { template, updateStrategy: {} },
        status: { replicas: 0, availableReplicas: 0 },
      };
    case "apiextensions.k8s.io/customresourcedefinitions":
      return {
        metadata: {},
        spec: { names: {} },
        status: {
          acceptedNames: { plural: "", kind: "" },
          conditions: null,
          storedVersions: null,
        },
      };
    default:
      return { metadata: {} };
  }
}

/** The allocated addresses of a Service a client leaves out of an update. */
const SERVICE_ALLOCATED = [
  "clusterIP",
  "clusterIPs",
  "ipFamilies",
  "ipFamilyPolicy",
];

/**
 * Gives a new Service its cluster IP from 10.96.0.0/16 (random, unused),
 * or `None` for a headless one, and its single IPv4 family, as the
 * real server's allocator does.
 */
export function allocateServiceIps(
  svc: JsonObject,
  fields: { used: Set<string>; random: () => number },
): void {
  const spec = isObject(svc.spec) ? svc.spec : {};
  if (spec.type === "ExternalName") return;
  if (spec.clusterIP !== "None" && typeof spec.clusterIP !== "string") {
    let ip: string;
    do {
      const n = 2 + Math.floor(fields.random() * (65536 - 3));
      ip = `10.96.${n >> 8}.${n & 255}`;
    } while (fields.used.has(ip));
    fields.used.add(ip);
    spec.clusterIP = ip;
  }
  if (!Array.isArray(spec.clusterIPs)) spec.clusterIPs = [spec.clusterIP];
  if (!Array.isArray(spec.ipFamilies)) spec.ipFamilies = ["IPv4"];
  if (typeof spec.ipFamilyPolicy !== "string") {
    spec.ipFamilyPolicy = "SingleStack";
  }
  svc.spec = spec;
}

/** What a create clears and sets, after defaulting and field management. */
export function prepareForCreate(def: ResourceDef, obj: JsonObject): void {
  const meta = obj.metadata as JsonObject;
  if (def.generation) meta.generation = 1;
  switch (tableOf(def)) {
    case "/namespaces":
      obj.spec = { finalizers: ["kubernetes"] };
      obj.status = { phase: "Active" };
      return;
    case "/pods": {
      admitPod(obj);
      const spec = isObject(obj.spec) ? obj.spec : {};
      obj.status = { phase: "Pending", qosClass: qosClass(spec) };
      return;
    }
    case "/services":
      obj.status = { loadBalancer: {} };
      return;
    case "apps/deployments":
      obj.status = {};
      return;
    case "apps/statefulsets":
      obj.status = { replicas: 0, availableReplicas: 0 };
      return;
    case "apiextensions.k8s.io/customresourcedefinitions": {
      const spec = isObject(obj.spec) ? obj.spec : {};
      const versions = Array.isArray(spec.versions) ? spec.versions : [];
      obj.status = {
        conditions: null,
        acceptedNames: { plural: "", kind: "" },
        storedVersions: versions.flatMap((v) =>
          isObject(v) && v.storage === true ? [String(v.name)] : []
        ),
      };
      return;
    }
  }
  if (def.custom && hasStatus(def)) delete obj.status;
}

function customContentChanged(
  def: ResourceDef,
  before: JsonObject,
  after: JsonObject,
): boolean {
  const skip = new Set(["metadata", "apiVersion", "kind"]);
  if (hasStatus(def)) skip.add("status");
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) {
    if (!skip.has(key) && !deepEqual(before[key], after[key])) return true;
  }
  return false;
}

function keepOld(next: JsonObject, old: JsonObject, key: string): void {
  if (old[key] === undefined) delete next[key];
  else next[key] = structuredClone(old[key]);
}

function keepOldMeta(next: JsonObject, old: JsonObject, keys: string[]): void {
  const nm = next.metadata as JsonObject;
  const om = old.metadata as JsonObject;
  for (const key of keys) keepOld(nm, om, key);
}

/**
 * What an update keeps from the stored object `old` and how generation
 * moves: `next` is the object the request asks for, changed in place.
 */
export function prepareForUpdate(
  def: ResourceDef,
  fields: { next: JsonObject; old: JsonObject; endpoint: Endpoint },
): void {
  const { next, old, endpoint } = fields;
  const table = tableOf(def);
  if (endpoint === "status") {
    if (def.custom) {
      const status = next.status;
      const managed = (next.metadata as JsonObject).managedFields;
      for (const key of Object.keys(next)) delete next[key];
      Object.assign(next, structuredClone(old));
      if (status === undefined) delete next.status;
      else next.status = status;
      const nm = next.metadata as JsonObject;
      if (managed === undefined) delete nm.managedFields;
      else nm.managedFields = managed;
      return;
    }
    keepOld(next, old, "spec");
    if (table === "apps/deployments") keepOldMeta(next, old, ["labels"]);
    if (table === "/pods") {
      keepOldMeta(next, old, ["deletionTimestamp", "ownerReferences"]);
    }
    if (table === "apiextensions.k8s.io/customresourcedefinitions") {
      keepOldMeta(next, old, [
        "labels",
        "annotations",
        "finalizers",
        "ownerReferences",
      ]);
    }
    return;
  }
  if (hasStatus(def)) keepOld(next, old, "status");
  if (table === "/namespaces") {
    next.spec = structuredClone(old.spec ?? {});
  }
  if (table === "/services" && isObject(next.spec) && isObject(old.spec)) {
    for (const key of SERVICE_ALLOCATED) {
      if (next.spec[key] === undefined && old.spec[key] !== undefined) {
        next.spec[key] = structuredClone(old.spec[key]);
      }
    }
  }
  const nm = next.metadata as JsonObject;
  const om = old.metadata as JsonObject;
  let bump = false;
  if (def.custom) bump = customContentChanged(def, old, next);
  else if (table === "apps/deployments") {
    bump = !deepEqual(old.spec, next.spec) ||
      !deepEqual(om.annotations, nm.annotations);
  } else if (def.generation) bump = !deepEqual(old.spec, next.spec);
  if (bump) nm.generation = Number(om.generation ?? 0) + 1;
}
