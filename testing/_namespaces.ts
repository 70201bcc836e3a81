/**
 * Namespace lifecycle: content may be created only in an existing, active
 * namespace; a deleted namespace turns `Terminating`, its content is
 * deleted, and it goes once the last of it has gone.
 *
 * @module
 */
import type { Deletion } from "./_deletion.ts";
import { finalizersOf, tableOf } from "./_objects.ts";
import { resourceKey, type ResourceRegistry } from "./_resources.ts";
import {
  type ErrorResource,
  forbidden,
  notFound,
  type StatusDetails,
} from "./_status.ts";
import type { Store } from "./_store.ts";

/** The namespaces table's key. */
export const NAMESPACE_TABLE = resourceKey("", "namespaces");

/** The namespaces a new server starts with. */
export const INITIAL_NAMESPACES = [
  "default",
  "kube-system",
  "kube-public",
  "kube-node-lease",
];

/** Namespace lifecycle over the store. */
export class Namespaces {
  #store: Store;
  #registry: ResourceRegistry;
  #deletion: () => Deletion;

  constructor(
    store: Store,
    context: { registry: ResourceRegistry; deletion: () => Deletion },
  ) {
    this.#store = store;
    this.#registry = context.registry;
    this.#deletion = context.deletion;
  }

  /** Throws unless `namespace` exists and is not terminating (`created` names what a create makes). */
  checkOpen(
    namespace: string,
    created: { resource: ErrorResource; name: string },
  ): void {
    const ns = this.#store.get(NAMESPACE_TABLE, namespace);
    if (!ns) throw notFound({ group: "", plural: "namespaces" }, namespace);
    if (ns.metadata.deletionTimestamp) {
      const { resource, name } = created;
      const details: StatusDetails = {};
      if (name) details.name = name;
      if (resource.group) details.group = resource.group;
      details.kind = resource.plural;
      details.causes = [{
        reason: "NamespaceTerminating",
        message: `namespace ${namespace} is being terminated`,
        field: "metadata.namespace",
      }];
      const what = resource.group
        ? `${resource.plural}.${resource.group}`
        : resource.plural;
      throw forbidden(
        `${what} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        details,
      );
    }
  }

  /** Deletes everything in a terminating namespace, then finishes it if it is empty. */
  sweep(namespace: string): void {
    for (const def of this.#registry.all()) {
      if (!def.namespaced) continue;
      const table = tableOf(def);
      for (const [key, obj] of [...this.#store.table(table)]) {
        if (obj.metadata.namespace === namespace) {
          this.#deletion().deleteAt(table, key, "Background");
        }
      }
    }
    this.finish(namespace);
  }

  /** Removes a terminating namespace once nothing is left in it and no finalizer holds it. */
  finish(namespace: string): void {
    const ns = this.#store.get(NAMESPACE_TABLE, namespace);
    if (!ns || !ns.metadata.deletionTimestamp) return;
    for (const def of this.#registry.all()) {
      if (!def.namespaced) continue;
      for (const obj of this.#store.table(tableOf(def)).values()) {
        if (obj.metadata.namespace === namespace) return;
      }
    }
    if (finalizersOf(ns).length === 0) {
      this.#deletion().remove(NAMESPACE_TABLE, namespace);
    }
  }
}
