/**
 * CustomResourceDefinitions at run time: a created CRD is `Established` at
 * once and its resource served; a changed one is served as changed; a
 * deleted one takes its custom objects with it and stops being served.
 *
 * @module
 */
import { isObject, type JsonObject } from "./_patch.ts";
import {
  type ResourceDef,
  resourceFromCrd,
  resourceKey,
  type ResourceRegistry,
} from "./_resources.ts";
import type { Store, StoredObject } from "./_store.ts";

/** Whether a resource is CustomResourceDefinitions. */
export function isCrd(def: ResourceDef): boolean {
  return def.group === "apiextensions.k8s.io" &&
    def.plural === "customresourcedefinitions";
}

/** The CRD table's key. */
export const CRD_TABLE = resourceKey(
  "apiextensions.k8s.io",
  "customresourcedefinitions",
);

/** The finalizer a deleted CRD keeps until its custom objects are gone. */
export const CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

/**
 * Writes the status the real server's naming and establishing controllers
 * give a CRD a moment after its create: names accepted, established.
 */
export function establish(crd: JsonObject, time: string): void {
  const spec = isObject(crd.spec) ? crd.spec : {};
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  crd.status = {
    acceptedNames: isObject(spec.names) ? structuredClone(spec.names) : {},
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

/** The condition a deleted CRD gets until its custom objects are gone. */
export function markCrdTerminating(crd: JsonObject, time: string): void {
  const status = isObject(crd.status) ? crd.status : {};
  const conditions = Array.isArray(status.conditions)
    ? status.conditions.filter((c) =>
      !(isObject(c) && c.type === "Terminating")
    )
    : [];
  conditions.push({
    type: "Terminating",
    status: "True",
    lastTransitionTime: time,
    reason: "InstanceDeletionPending",
    message:
      "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
  });
  status.conditions = conditions;
  crd.status = status;
}

/** Serves (or serves anew) the resource a stored CRD defines. */
export function serveCrd(registry: ResourceRegistry, crd: JsonObject): void {
  registry.add(resourceFromCrd(crd));
}

/**
 * After a CRD is removed: its custom objects are removed (`remove` sends
 * their DELETED events) and its resource is no longer served.
 */
export function dropCrd(
  crd: StoredObject,
  context: {
    store: Store;
    registry: ResourceRegistry;
    remove: (table: string, key: string) => void;
  },
): void {
  const spec = crd.spec;
  if (!isObject(spec) || !isObject(spec.names)) return;
  const group = String(spec.group);
  const plural = String(spec.names.plural);
  const table = resourceKey(group, plural);
  for (const key of [...context.store.table(table).keys()]) {
    context.remove(table, key);
  }
  context.registry.remove(group, plural);
  context.store.dropTable(table);
}
