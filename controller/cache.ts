/**
 * The cache: a {@linkcode Store} of watched objects indexed by
 * namespace/name with label-selector lookups, and a {@linkcode Reflector}
 * that keeps it in step with a watcher, emitting the deletions a relist
 * reveals.
 *
 * @module
 */
import type { KubeObject } from "../client/objects.ts";
import { deepFreeze } from "./_freeze.ts";
import { compileSelector } from "./_selector.ts";
import { silentLogger } from "../common/log.ts";
import { watcher, type WatcherEvent, type WatcherOptions } from "./watcher.ts";

export { LabelSelectorError } from "./_selector.ts";

/**
 * The cache key of an object: `namespace/name`, or `name` when
 * cluster-scoped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectKey } from "./cache.ts";
 * assert.equal(objectKey({ metadata: { namespace: "default", name: "web" } }), "default/web");
 * ```
 */
export function objectKey(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return namespace ? `${namespace}/${name}` : `${name}`;
}

/**
 * A change the store saw.
 *
 * @example
 * ```ts
 * import { Store, type StoreEvent } from "./cache.ts";
 * import type { KubeObject } from "./mod.ts";
 * type Deployment = KubeObject & { spec: { replicas: number } };
 * function onChange(event: StoreEvent<Deployment>): void {
 *   if (event.type === "delete") return console.log("deleted", event.object.metadata.name);
 *   if (event.old && event.old.spec.replicas !== event.object.spec.replicas) {
 *     console.log("scaled", event.object.metadata.name, "to", event.object.spec.replicas);
 *   }
 * }
 * const store = new Store<Deployment>();
 * store.apply({ metadata: { name: "web", resourceVersion: "1" }, spec: { replicas: 2 } });
 * const change = store.apply({ metadata: { name: "web", resourceVersion: "2" }, spec: { replicas: 3 } });
 * if (change) onChange(change); // scaled web to 3
 * ```
 */
export type StoreEvent<T> =
  | { type: "apply"; object: T; old: T | undefined }
  | { type: "delete"; object: T };

/**
 * Watched objects by key, with a namespace index and label selection.
 *
 * @example
 * ```ts
 * import { Store } from "./cache.ts";
 * const store = new Store();
 * store.apply({ metadata: { namespace: "a", name: "x", labels: { app: "web" } } });
 * store.get("a/x");
 * store.select("app=web");
 * ```
 */
export class Store<T extends KubeObject> {
  readonly #objects = new Map<string, T>();
  readonly #byNamespace = new Map<string, Set<string>>();

  /** How many objects are stored. */
  get size(): number {
    return this.#objects.size;
  }

  /** The object with `key` (`namespace/name` or `name`). */
  get(key: string): T | undefined {
    return this.#objects.get(key);
  }

  /** The object named `name` in `namespace` (omit it when cluster-scoped). */
  getBy(name: string, namespace?: string): T | undefined {
    return this.#objects.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Every key. */
  keys(): string[] {
    return [...this.#objects.keys()];
  }

  /** Every object, or those of one namespace. */
  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.#objects.values()];
    const keys = this.#byNamespace.get(namespace) ?? new Set();
    return [...keys].map((key) => this.#objects.get(key)!);
  }

  /**
   * Objects whose labels match `selector` (API string syntax or an equality
   * map), optionally in one namespace.
   */
  select(
    selector: string | Record<string, string>,
    namespace?: string,
  ): T[] {
    const matches = compileSelector(selector);
    return this.list(namespace).filter((o) => matches(o.metadata.labels));
  }

  /** Inserts or replaces an object; returns the change, or `null` when the stored one has the same resourceVersion. */
  apply(object: T): StoreEvent<T> | null {
    const key = objectKey(object);
    const old = this.#objects.get(key);
    this.#objects.set(key, object);
    const namespace = object.metadata.namespace ?? "";
    let keys = this.#byNamespace.get(namespace);
    if (!keys) this.#byNamespace.set(namespace, keys = new Set());
    keys.add(key);
    if (
      old && old.metadata.resourceVersion !== undefined &&
      old.metadata.resourceVersion === object.metadata.resourceVersion
    ) {
      return null;
    }
    return { type: "apply", object, old };
  }

  /** Removes an object; returns the change, or `null` when it was absent. */
  delete(object: T): StoreEvent<T> | null {
    const key = objectKey(object);
    const old = this.#objects.get(key);
    if (!old) return null;
    this.#objects.delete(key);
    const namespace = old.metadata.namespace ?? "";
    const keys = this.#byNamespace.get(namespace);
    keys?.delete(key);
    if (keys?.size === 0) this.#byNamespace.delete(namespace);
    return { type: "delete", object };
  }

  /**
   * Replaces the whole content (after a relist); returns the changes: an
   * apply for each new or changed object, a delete for each one gone.
   */
  replace(objects: Iterable<T>): StoreEvent<T>[] {
    const changes: StoreEvent<T>[] = [];
    const seen = new Set<string>();
    for (const object of objects) {
      seen.add(objectKey(object));
      const change = this.apply(object);
      if (change) changes.push(change);
    }
    for (const [key, object] of this.#objects) {
      if (!seen.has(key)) {
        const change = this.delete(object);
        if (change) changes.push(change);
      }
    }
    return changes;
  }
}

/**
 * Feeds a {@linkcode Store} from a watcher and tells listeners about every
 * change. A relist is applied as a whole when it completes, so deletions
 * missed while disconnected are emitted too, and `onRelist` listeners hear
 * of it. The objects it stores are deep-frozen: read-only for everyone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Reflector } from "./cache.ts";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const resource = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * await client.create(resource, { metadata: { name: "web", namespace: "default" } });
 * const stop = new AbortController();
 * const reflector = new Reflector({ client, resource, signal: stop.signal });
 * const names: string[] = [];
 * reflector.subscribe((event) => names.push(event.object.metadata.name!));
 * const running = reflector.run();
 * await reflector.synced;
 * assert.equal(reflector.store.list().length, 1);
 * assert.deepEqual(names, ["web"]);
 * stop.abort();
 * await running;
 * ```
 */
export class Reflector<T extends KubeObject> {
  /** The store this reflector fills. */
  readonly store: Store<T> = new Store<T>();
  /** Resolves once the first list has been applied. */
  readonly synced: Promise<void>;
  readonly #options: WatcherOptions;
  readonly #listeners = new Set<(event: StoreEvent<T>) => void>();
  readonly #relistListeners = new Set<() => void>();
  #resolveSynced!: () => void;
  #isSynced = false;

  /** A reflector for the watcher that `options` describe. */
  constructor(options: WatcherOptions) {
    this.#options = options;
    this.synced = new Promise((resolve) => this.#resolveSynced = resolve);
  }

  /** Whether the first list has been applied. */
  get isSynced(): boolean {
    return this.#isSynced;
  }

  /**
   * Calls `listener` on each change; returns an unsubscribe function. A
   * listener that throws is logged (`cache listener failed`, with the key)
   * and does not stop the reflector or the other listeners.
   */
  subscribe(listener: (event: StoreEvent<T>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Calls `listener` after each relist (every full list but the first, e.g.
   * after 410 Gone) has been applied and its changes emitted; returns an
   * unsubscribe function. A relist emits only what changed, so this is
   * where to revisit everything (the Controller re-queues every key).
   */
  onRelist(listener: () => void): () => void {
    this.#relistListeners.add(listener);
    return () => this.#relistListeners.delete(listener);
  }

  /** Runs until `signal` (or the options' signal) aborts. */
  async run(signal?: AbortSignal): Promise<void> {
    await this.consume(
      watcher<T>({ ...this.#options, signal: signal ?? this.#options.signal }),
    );
  }

  /**
   * Applies the events of any watcher-like source (for tests and
   * composition). Objects are deep-frozen as they enter the store: every
   * reader (listeners, `store.get`, reconcilers) shares them, so none can
   * change what the others see.
   */
  async consume(events: AsyncIterable<WatcherEvent<T>>): Promise<void> {
    let buffer: T[] | null = null;
    for await (const event of events) {
      switch (event.type) {
        case "init":
          buffer = [];
          break;
        case "initApply":
          (buffer ??= []).push(deepFreeze(event.object));
          break;
        case "initDone": {
          this.#emit(this.store.replace(buffer ?? []));
          buffer = null;
          if (!this.#isSynced) {
            this.#isSynced = true;
            this.#resolveSynced();
          } else {
            this.#relisted();
          }
          break;
        }
        case "apply": {
          const change = this.store.apply(deepFreeze(event.object));
          if (change) this.#emit([change]);
          break;
        }
        case "delete": {
          const change = this.store.delete(deepFreeze(event.object));
          if (change) this.#emit([change]);
          break;
        }
      }
    }
  }

  #relisted(): void {
    for (const listener of this.#relistListeners) {
      try {
        listener();
      } catch (error) {
        (this.#options.logger ?? silentLogger).error(
          "relist listener failed",
          { error },
        );
      }
    }
  }

  #emit(changes: StoreEvent<T>[]): void {
    for (const change of changes) {
      for (const listener of this.#listeners) {
        try {
          listener(change);
        } catch (error) {
          // A listener's bug must not stop the watch (or the others).
          (this.#options.logger ?? silentLogger).error(
            "cache listener failed",
            { key: objectKey(change.object), error },
          );
        }
      }
    }
  }
}
