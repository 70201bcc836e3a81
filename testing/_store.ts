/**
 * The object store: one table per resource, one resourceVersion counter
 * across all of them, a bounded history of changes for watches to resume
 * from, and indexes by uid and by owner for garbage collection.
 *
 * Stored objects are never mutated: every write stores a new object, so
 * history entries and watch events can share them.
 *
 * @module
 */
import { isObject, type JsonObject } from "./_patch.ts";

/** A stored object: a JSON object with metadata. */
export type StoredObject = JsonObject & { metadata: JsonObject };

/** The kinds of change a watch reports. */
export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

/** One change, at one resourceVersion. */
export interface StoreEvent {
  type: ChangeType;
  rv: number;
  table: string;
  object: StoredObject;
  /** The object before a MODIFIED or DELETED change. */
  previous?: StoredObject;
}

/** The table key of an object: `namespace/name` or `name`. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** Where an object lives. */
export interface Location {
  table: string;
  key: string;
}

function ownerUids(obj: StoredObject): string[] {
  const refs = obj.metadata.ownerReferences;
  if (!Array.isArray(refs)) return [];
  return refs.flatMap((r) =>
    isObject(r) && typeof r.uid === "string" ? [r.uid] : []
  );
}

/** The store. */
export class Store {
  /** The last resourceVersion handed out. */
  rv = 0;
  /** Events at or below this version are gone; watches from before it get 410. */
  compactedRv = 0;
  readonly historyLimit: number;
  #tables = new Map<string, Map<string, StoredObject>>();
  #history: StoreEvent[] = [];
  #uids = new Map<string, Location>();
  #dependents = new Map<string, Set<string>>();
  #listeners: ((event: StoreEvent) => void)[] = [];

  constructor(historyLimit: number) {
    this.historyLimit = historyLimit;
  }

  /** Calls `listener` synchronously on every change. */
  subscribe(listener: (event: StoreEvent) => void): void {
    this.#listeners.push(listener);
  }

  /** The objects of one resource, by key. */
  table(table: string): Map<string, StoredObject> {
    let t = this.#tables.get(table);
    if (!t) {
      t = new Map();
      this.#tables.set(table, t);
    }
    return t;
  }

  /** One object, or undefined. */
  get(table: string, key: string): StoredObject | undefined {
    return this.#tables.get(table)?.get(key);
  }

  /** Where the object with this uid lives, if it exists. */
  locate(uid: string): Location | undefined {
    return this.#uids.get(uid);
  }

  /** The locations of objects that name `uid` as an owner. */
  dependentsOf(uid: string): Location[] {
    const set = this.#dependents.get(uid);
    if (!set) return [];
    return [...set].map((s) => {
      const at = s.indexOf("|");
      return { table: s.slice(0, at), key: s.slice(at + 1) };
    });
  }

  /** The next resourceVersion. */
  nextRv(): number {
    return ++this.rv;
  }

  /** Stores a created or changed object (its resourceVersion already set). */
  put(
    table: string,
    fields: { key: string; object: StoredObject; rv: number },
  ): void {
    const t = this.table(table);
    const previous = t.get(fields.key);
    t.set(fields.key, fields.object);
    this.#index(table, fields.key, previous, fields.object);
    this.#record({
      type: previous ? "MODIFIED" : "ADDED",
      rv: fields.rv,
      table,
      object: fields.object,
      previous,
    });
  }

  /** Removes an object; `last` is its final state (with the new resourceVersion). */
  remove(
    table: string,
    fields: { key: string; last: StoredObject; rv: number },
  ): void {
    const t = this.table(table);
    const previous = t.get(fields.key);
    if (!previous) return;
    t.delete(fields.key);
    this.#index(table, fields.key, previous, undefined);
    this.#record({
      type: "DELETED",
      rv: fields.rv,
      table,
      object: fields.last,
      previous,
    });
  }

  /**
   * The objects of `table` as they were at `rv` (the current ones undone
   * back through history), or `undefined` when that history is gone.
   */
  tableAt(table: string, rv: number): Map<string, StoredObject> | undefined {
    if (rv < this.compactedRv) return undefined;
    const out = new Map(this.table(table));
    for (let i = this.#history.length - 1; i >= 0; i--) {
      const event = this.#history[i];
      if (event.rv <= rv) break;
      if (event.table !== table) continue;
      const key = objectKey(
        event.object.metadata.namespace as string | undefined,
        String(event.object.metadata.name),
      );
      if (event.type === "ADDED") out.delete(key);
      else if (event.previous) out.set(key, event.previous);
    }
    return out;
  }

  /** Drops a whole table without events (its resource stopped being served). */
  dropTable(table: string): void {
    const t = this.#tables.get(table);
    if (!t) return;
    for (const [key, obj] of t) this.#index(table, key, obj, undefined);
    this.#tables.delete(table);
  }

  /**
   * The events of `table` after `rv`, oldest first; `undefined` when some
   * of them are no longer retained.
   */
  eventsSince(table: string, rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    const h = this.#history;
    let lo = 0;
    let hi = h.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (h[mid].rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    const out: StoreEvent[] = [];
    for (let i = lo; i < h.length; i++) {
      if (h[i].table === table) out.push(h[i]);
    }
    return out;
  }

  /** Forgets history up to `rv` (default: all of it). */
  compact(rv: number = this.rv): void {
    const keep = this.#history.filter((e) => e.rv > rv);
    this.#history = keep;
    this.compactedRv = Math.max(this.compactedRv, Math.min(rv, this.rv));
  }

  #record(event: StoreEvent): void {
    this.#history.push(event);
    if (this.#history.length > this.historyLimit * 1.5) {
      const drop = this.#history.length - this.historyLimit;
      this.compactedRv = this.#history[drop - 1].rv;
      this.#history = this.#history.slice(drop);
    }
    for (const listener of this.#listeners) listener(event);
  }

  #index(
    table: string,
    key: string,
    before: StoredObject | undefined,
    after: StoredObject | undefined,
  ): void {
    const ref = `${table}|${key}`;
    const uidBefore = before?.metadata.uid;
    const uidAfter = after?.metadata.uid;
    if (typeof uidBefore === "string" && uidBefore !== uidAfter) {
      this.#uids.delete(uidBefore);
    }
    if (typeof uidAfter === "string") this.#uids.set(uidAfter, { table, key });
    const ownersBefore = before ? ownerUids(before) : [];
    const ownersAfter = after ? ownerUids(after) : [];
    for (const owner of ownersBefore) {
      if (ownersAfter.includes(owner)) continue;
      const set = this.#dependents.get(owner);
      set?.delete(ref);
      if (set?.size === 0) this.#dependents.delete(owner);
    }
    for (const owner of ownersAfter) {
      let set = this.#dependents.get(owner);
      if (!set) {
        set = new Set();
        this.#dependents.set(owner, set);
      }
      set.add(ref);
    }
  }
}
