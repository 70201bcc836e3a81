/**
 * Deletion and garbage collection: finalizers and `deletionTimestamp`,
 * the `foregroundDeletion` and `orphan` propagation policies, and the
 * owner-reference garbage collection a real cluster's controller manager
 * does (dependents of a removed owner are deleted once none of their
 * owners is left).
 *
 * @module
 */
import { isObject, type Json } from "./_patch.ts";
import { finalizersOf } from "./_objects.ts";
import type { Store, StoredObject } from "./_store.ts";

/** What deletion tells the rest of the core. */
export interface DeletionHooks {
  /** The current time as metadata carries it. */
  timestamp: () => string;
  /** Whether objects of `table` are namespaces (they terminate first). */
  isNamespaceTable: (table: string) => boolean;
  /** Whether objects of `table` are deleted gracefully (Pods): marked even when they go at once. */
  graceful: (table: string) => boolean;
  /** A finalizer the server itself adds to objects of `table` when they are deleted. */
  systemFinalizer: (table: string) => string | undefined;
  /** A deleted object is about to be stored with its deletionTimestamp (change it in place). */
  onMarked: (table: string, object: StoredObject) => void;
  /** An object started terminating (called in a later microtask). */
  onTerminating: (table: string, object: StoredObject) => void;
  /** Records an internal update in the object's managedFields, as the controller making it would. */
  track: (table: string, before: StoredObject, after: StoredObject) => void;
  /** An object was removed (called at once, after its DELETED event). */
  onRemoved: (last: StoredObject, table: string) => void;
  /** An object was removed (called in a later microtask, after garbage collection). */
  afterRemoved: (last: StoredObject) => void;
}

/** Deletes objects the way the real server and its garbage collector do. */
export class Deletion {
  #store: Store;
  #hooks: DeletionHooks;

  constructor(store: Store, hooks: DeletionHooks) {
    this.#store = store;
    this.#hooks = hooks;
  }

  /**
   * Deletes the object at `table`/`key` with a propagation policy: removed
   * at once when nothing holds it, else marked with `deletionTimestamp`
   * (and the policy's finalizer) until its finalizers are gone.
   */
  deleteAt(
    table: string,
    key: string,
    policy: string,
  ): { object: StoredObject; removed: boolean } {
    const store = this.#store;
    const existing = store.get(table, key)!;
    const finalizers = finalizersOf(existing);
    const extra = policy === "Foreground"
      ? "foregroundDeletion"
      : policy === "Orphan"
      ? "orphan"
      : undefined;
    const isNamespace = this.#hooks.isNamespaceTable(table);
    const system = this.#hooks.systemFinalizer(table);
    if (existing.metadata.deletionTimestamp) {
      return { object: existing, removed: false };
    }
    if (finalizers.length === 0 && !extra && !isNamespace && !system) {
      if (!this.#hooks.graceful(table)) {
        return { object: this.remove(table, key), removed: true };
      }
      // A graceful kind (Pods) not running anywhere goes at once, marked.
      const marked = structuredClone(existing);
      marked.metadata.deletionTimestamp = this.#hooks.timestamp();
      marked.metadata.deletionGracePeriodSeconds = 0;
      return { object: this.remove(table, key, marked), removed: true };
    }
    const next = structuredClone(existing);
    const m = next.metadata;
    const added = [extra, system].filter((f): f is string =>
      f !== undefined && !finalizers.includes(f)
    );
    if (added.length > 0) m.finalizers = [...finalizers, ...added];
    m.deletionTimestamp = this.#hooks.timestamp();
    if (!isNamespace && !system) {
      m.deletionGracePeriodSeconds = 0;
      if (typeof m.generation === "number") m.generation += 1;
    }
    if (isNamespace) next.status = { phase: "Terminating" };
    this.#hooks.onMarked(table, next);
    const rv = store.nextRv();
    m.resourceVersion = String(rv);
    store.put(table, { key, object: next, rv });
    const uid = String(m.uid);
    queueMicrotask(() => this.#hooks.onTerminating(table, next));
    if (extra === "orphan") {
      queueMicrotask(() => this.#orphanDependents(uid));
    } else if (extra === "foregroundDeletion") {
      queueMicrotask(() => this.#deleteDependents(uid, "Foreground"));
    }
    return { object: next, removed: false };
  }

  /**
   * What `deleteAt` would answer, changing nothing (a dry run): the object
   * marked for deletion, or removed.
   */
  preview(
    table: string,
    key: string,
    policy: string,
  ): { object: StoredObject; removed: boolean } {
    const existing = this.#store.get(table, key)!;
    const held = finalizersOf(existing).length > 0 ||
      policy === "Foreground" || policy === "Orphan" ||
      this.#hooks.isNamespaceTable(table) ||
      this.#hooks.systemFinalizer(table) !== undefined;
    if (existing.metadata.deletionTimestamp || held) {
      return { object: existing, removed: false };
    }
    return { object: existing, removed: true };
  }

  /**
   * Removes an object now: DELETED event (its object the stored state, or
   * `state`), then garbage collection.
   */
  remove(table: string, key: string, state?: StoredObject): StoredObject {
    const store = this.#store;
    const existing = store.get(table, key)!;
    const last = structuredClone(state ?? existing);
    const rv = store.nextRv();
    last.metadata.resourceVersion = String(rv);
    store.remove(table, { key, last, rv });
    const uid = String(existing.metadata.uid);
    this.#hooks.onRemoved(last, table);
    queueMicrotask(() => {
      this.#deleteDependents(uid, "Background");
      this.#finishForegroundOwners(last);
      this.#hooks.afterRemoved(last);
    });
    return last;
  }

  /** Deletes the object at `table`/`key` if none of its owners exists. */
  collectIfOrphaned(table: string, key: string): void {
    const obj = this.#store.get(table, key);
    if (obj && !this.#ownersAlive(obj)) {
      this.deleteAt(table, key, "Background");
    }
  }

  #ownersAlive(obj: StoredObject): boolean {
    const refs = obj.metadata.ownerReferences;
    if (!Array.isArray(refs) || refs.length === 0) return true;
    return refs.some((r) =>
      isObject(r) && typeof r.uid === "string" && this.#store.locate(r.uid)
    );
  }

  #deleteDependents(ownerUid: string, policy: string): void {
    const store = this.#store;
    for (const { table, key } of store.dependentsOf(ownerUid)) {
      const dep = store.get(table, key);
      if (!dep) continue;
      const ownerGone = !store.locate(ownerUid);
      if (policy === "Foreground" || (ownerGone && !this.#ownersAlive(dep))) {
        this.deleteAt(table, key, "Background");
      }
    }
    if (policy === "Foreground") {
      const at = store.locate(ownerUid);
      if (at) this.#finishForeground(at.table, at.key);
    }
  }

  #finishForegroundOwners(removed: StoredObject): void {
    const refs = removed.metadata.ownerReferences;
    if (!Array.isArray(refs)) return;
    for (const r of refs) {
      if (!isObject(r) || typeof r.uid !== "string") continue;
      const at = this.#store.locate(r.uid);
      if (at) this.#finishForeground(at.table, at.key);
    }
  }

  #finishForeground(table: string, key: string): void {
    const store = this.#store;
    const owner = store.get(table, key);
    if (!owner || !finalizersOf(owner).includes("foregroundDeletion")) return;
    const left = store.dependentsOf(String(owner.metadata.uid))
      .filter((d) => store.get(d.table, d.key));
    if (left.length > 0) return;
    this.dropFinalizer(table, key, "foregroundDeletion");
  }

  /**
   * Removes a finalizer, as a controller does with an update: when it was
   * the last one of a deleting object, the object goes (one DELETED event,
   * whose object still lists it).
   */
  dropFinalizer(table: string, key: string, finalizer: string): void {
    const store = this.#store;
    const obj = store.get(table, key);
    if (!obj || !finalizersOf(obj).includes(finalizer)) return;
    const rest = finalizersOf(obj).filter((f) => f !== finalizer);
    if (obj.metadata.deletionTimestamp && rest.length === 0) {
      this.remove(table, key);
      return;
    }
    const next = structuredClone(obj);
    next.metadata.finalizers = finalizersOf(obj).filter((f) => f !== finalizer);
    if ((next.metadata.finalizers as string[]).length === 0) {
      delete next.metadata.finalizers;
    }
    this.#hooks.track(table, obj, next);
    const rv = store.nextRv();
    next.metadata.resourceVersion = String(rv);
    store.put(table, { key, object: next, rv });
  }

  #orphanDependents(ownerUid: string): void {
    const store = this.#store;
    for (const { table, key } of store.dependentsOf(ownerUid)) {
      const dep = store.get(table, key);
      if (!dep) continue;
      const next = structuredClone(dep);
      const refs = (next.metadata.ownerReferences as Json[]).filter((r) =>
        !(isObject(r) && r.uid === ownerUid)
      );
      if (refs.length === 0) delete next.metadata.ownerReferences;
      else next.metadata.ownerReferences = refs;
      this.#hooks.track(table, dep, next);
      const rv = store.nextRv();
      next.metadata.resourceVersion = String(rv);
      store.put(table, { key, object: next, rv });
    }
    const at = store.locate(ownerUid);
    if (at) this.dropFinalizer(at.table, at.key, "orphan");
  }
}
