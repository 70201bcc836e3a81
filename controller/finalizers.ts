/**
 * Finalizers added and removed with conflict-safe JSON Patches (a `test`
 * op guards every write, so other controllers' finalizers survive and a
 * stale write fails), and {@linkcode withFinalizer}, which runs cleanup on
 * deletion and removes the finalizer only once it returned `done()`.
 *
 * @module
 */
import { isApiError } from "../client/errors.ts";
import type { KubeClient } from "../client/kube_client.ts";
import type { KubeObject, ResourceType } from "../client/objects.ts";
import type { JsonPatchOp } from "../client/patch.ts";
import { ReconcileResult } from "./reconciler.ts";

/**
 * Whether `object` carries `finalizer`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasFinalizer } from "./finalizers.ts";
 * assert.equal(hasFinalizer({ metadata: { finalizers: ["a/b"] } }, "a/b"), true);
 * ```
 */
export function hasFinalizer(object: KubeObject, finalizer: string): boolean {
  return object.metadata.finalizers?.includes(finalizer) ?? false;
}

/**
 * Whether deletion of `object` was requested.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isBeingDeleted } from "./finalizers.ts";
 * assert.equal(isBeingDeleted({ metadata: { deletionTimestamp: "2024-01-01T00:00:00Z" } }), true);
 * ```
 */
export function isBeingDeleted(object: KubeObject): boolean {
  return object.metadata.deletionTimestamp !== undefined &&
    object.metadata.deletionTimestamp !== null;
}

/**
 * The JSON Patch that adds `finalizer`, or `null` when present. It tests the
 * current list (or, when there is none, the resourceVersion) first.
 *
 * @example
 * ```ts
 * import { addFinalizerPatch } from "./finalizers.ts";
 * addFinalizerPatch({ metadata: { finalizers: ["other"] } }, "mine");
 * // [{ op: "test", path: "/metadata/finalizers", value: ["other"] },
 * //  { op: "add", path: "/metadata/finalizers/-", value: "mine" }]
 * ```
 */
export function addFinalizerPatch(
  object: KubeObject,
  finalizer: string,
): JsonPatchOp[] | null {
  const finalizers = object.metadata.finalizers;
  if (finalizers?.includes(finalizer)) return null;
  if (finalizers && finalizers.length > 0) {
    return [
      { op: "test", path: "/metadata/finalizers", value: finalizers },
      { op: "add", path: "/metadata/finalizers/-", value: finalizer },
    ];
  }
  const resourceVersion = object.metadata.resourceVersion;
  if (resourceVersion === undefined) {
    throw new TypeError(
      "Expected metadata.resourceVersion to guard the finalizer patch, found none",
    );
  }
  return [
    { op: "test", path: "/metadata/resourceVersion", value: resourceVersion },
    { op: "add", path: "/metadata/finalizers", value: [finalizer] },
  ];
}

/**
 * The JSON Patch that removes `finalizer` by index after testing that the
 * index still holds it, or `null` when absent.
 *
 * @example
 * ```ts
 * import { removeFinalizerPatch } from "./finalizers.ts";
 * removeFinalizerPatch({ metadata: { finalizers: ["other", "mine"] } }, "mine");
 * // [{ op: "test", path: "/metadata/finalizers/1", value: "mine" },
 * //  { op: "remove", path: "/metadata/finalizers/1" }]
 * ```
 */
export function removeFinalizerPatch(
  object: KubeObject,
  finalizer: string,
): JsonPatchOp[] | null {
  const index = object.metadata.finalizers?.indexOf(finalizer) ?? -1;
  if (index < 0) return null;
  return [
    { op: "test", path: `/metadata/finalizers/${index}`, value: finalizer },
    { op: "remove", path: `/metadata/finalizers/${index}` },
  ];
}

/**
 * Options of the finalizer functions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient, type KubeObject } from "@k8s-operator/k8s-operator/controller";
 * import { addFinalizer, type FinalizerOptions, removeFinalizer } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * let widget: KubeObject = await client.create(configMaps, { metadata: { name: "web", namespace: "default" } });
 * const options: FinalizerOptions = {
 *   client, // in a reconcile: ctx.client, fenced: writes stop once leadership is lost
 *   resource: configMaps,
 *   finalizer: "example.com/cleanup",
 *   attempts: 3,
 *   signal: AbortSignal.timeout(5_000), // in a reconcile: ctx.signal
 * };
 * widget = await addFinalizer(widget, options);
 * assert.deepEqual(widget.metadata.finalizers, ["example.com/cleanup"]);
 * // ... later, once the external resources are gone:
 * await removeFinalizer(widget, options);
 * ```
 */
export interface FinalizerOptions {
  /** The client (use `ctx.client` so writes are fenced). */
  client: KubeClient;
  /** The object's resource type. */
  resource: ResourceType;
  /** The finalizer name, e.g. `example.com/cleanup`. */
  finalizer: string;
  /** Attempts when the guarded patch loses a race (default 5). */
  attempts?: number;
  /** Cancels the requests. */
  signal?: AbortSignal;
}

/**
 * Adds the finalizer with a guarded JSON Patch; on a lost race, re-reads the
 * object and tries again. Returns the updated object (or the object as is
 * when the finalizer was already there).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient, type KubeObject } from "@k8s-operator/k8s-operator/controller";
 * import { addFinalizer } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * let obj: KubeObject = await client.create(configMaps, { metadata: { name: "web", namespace: "default" } });
 * obj = await addFinalizer(obj, { client, resource: configMaps, finalizer: "example.com/cleanup" }); // in a reconcile: ctx.client
 * assert.deepEqual(obj.metadata.finalizers, ["example.com/cleanup"]);
 * ```
 */
export async function addFinalizer<T extends KubeObject>(
  object: T,
  options: FinalizerOptions,
): Promise<T> {
  const updated = await guardedPatch(object, options, addFinalizerPatch);
  if (updated === null) {
    throw new TypeError(
      `Expected ${object.metadata.name} to exist while adding a finalizer, found it gone`,
    );
  }
  return updated;
}

/**
 * Removes the finalizer with a guarded JSON Patch, keeping the others; on
 * a lost race, re-reads and tries again. Returns the object as the patch
 * left it (when it was being deleted and this was its last finalizer, the
 * server deletes it right after), or `null` when it was already gone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { removeFinalizer } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const obj = await client.create(configMaps, { metadata: { name: "web", namespace: "default", finalizers: ["example.com/cleanup"] } });
 * await client.delete(configMaps, "web", { namespace: "default" }); // held by the finalizer
 * const last = await removeFinalizer(obj, { client, resource: configMaps, finalizer: "example.com/cleanup" });
 * assert.deepEqual(last?.metadata.finalizers ?? [], []);
 * await assert.rejects(client.get(configMaps, "web", { namespace: "default" })); // the removal let the server delete it
 * ```
 */
export function removeFinalizer<T extends KubeObject>(
  object: T,
  options: FinalizerOptions,
): Promise<T | null> {
  return guardedPatch(object, options, removeFinalizerPatch, true);
}

async function guardedPatch<T extends KubeObject>(
  object: T,
  options: FinalizerOptions,
  build: (object: KubeObject, finalizer: string) => JsonPatchOp[] | null,
  goneIsFine = false,
): Promise<T | null> {
  const attempts = options.attempts ?? 5;
  const { name, namespace } = object.metadata;
  if (name === undefined) {
    throw new TypeError(
      "Expected metadata.name to patch finalizers, found none",
    );
  }
  let current = object;
  for (let attempt = 1;; attempt++) {
    const patch = build(current, options.finalizer);
    if (patch === null) return current;
    try {
      return await options.client.patch<T>(options.resource, name, patch, {
        namespace,
        type: "json",
        signal: options.signal,
      });
    } catch (error) {
      if (goneIsFine && isApiError(error, 404)) return null;
      const lostRace = isApiError(error, 409) || isApiError(error, 422);
      if (!lostRace || attempt >= attempts) throw error;
      try {
        current = await options.client.get<T>(options.resource, name, {
          namespace,
          signal: options.signal,
        });
      } catch (readError) {
        if (goneIsFine && isApiError(readError, 404)) {
          return null;
        }
        throw readError;
      }
    }
  }
}

/**
 * Options of {@linkcode withFinalizer}.
 *
 * @example Deleting a bucket before the Widget goes
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient, type KubeObject } from "@k8s-operator/k8s-operator/controller";
 * import { withFinalizer, type WithFinalizerOptions } from "@k8s-operator/k8s-operator/controller";
 * import { ReconcileResult } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const deleted: string[] = [];
 * const deleteBucket = (name: string) => Promise.resolve(void deleted.push(name)); // the external resource
 * const options: WithFinalizerOptions<KubeObject> = {
 *   client, // in a reconcile: ctx.client and ctx.signal
 *   resource: configMaps,
 *   finalizer: "example.com/bucket",
 *   apply: () => Promise.resolve(ReconcileResult.requeueAfter(60_000)),
 *   cleanup: async (w) => {
 *     await deleteBucket(w.metadata.name!);
 *     return ReconcileResult.done();
 *   },
 * };
 * const widget = await client.create(configMaps, { metadata: { name: "web", namespace: "default" } });
 * await withFinalizer(widget, options); // adds the finalizer, then apply
 * await client.delete(configMaps, "web", { namespace: "default" }); // held by the finalizer
 * const deleting = await client.get(configMaps, "web", { namespace: "default" });
 * await withFinalizer(deleting, options); // cleanup, then the finalizer goes
 * assert.deepEqual(deleted, ["web"]);
 * ```
 */
export interface WithFinalizerOptions<T extends KubeObject>
  extends FinalizerOptions {
  /** The normal reconcile, run with the finalizer in place. */
  apply(object: T): Promise<ReconcileResult>;
  /**
   * Runs once deletion is requested. The finalizer goes only when it
   * returns `done()`; `requeue()` or `requeueAfter(ms)` keep it and run
   * cleanup again later; a throw keeps it and is retried with backoff.
   */
  cleanup(object: T): Promise<ReconcileResult>;
}

/**
 * The finalizer protocol: while the object lives, make sure the finalizer
 * is on it and run `apply`; once it is being deleted, run `cleanup` and
 * remove the finalizer only if cleanup returned `done()` (a `requeue` or
 * `requeueAfter` keeps it and is returned, so the controller runs cleanup
 * again; a throw keeps it, and the controller retries with backoff).
 *
 * @example
 * ```ts
 * import type { KubeObject, ResourceType } from "@k8s-operator/k8s-operator/controller";
 * import { withFinalizer } from "@k8s-operator/k8s-operator/controller";
 * import { type Context, ReconcileResult } from "@k8s-operator/k8s-operator/controller";
 * async function reconcile(obj: KubeObject, ctx: Context, resource: ResourceType) {
 *   return await withFinalizer(obj, {
 *     client: ctx.client, resource, finalizer: "example.com/cleanup",
 *     apply: async (o) => ReconcileResult.done(),
 *     cleanup: async (o) => ReconcileResult.done(),
 *   });
 * }
 * ```
 */
export async function withFinalizer<T extends KubeObject>(
  object: T,
  options: WithFinalizerOptions<T>,
): Promise<ReconcileResult> {
  if (isBeingDeleted(object)) {
    if (!hasFinalizer(object, options.finalizer)) {
      return ReconcileResult.done();
    }
    const result = await options.cleanup(object);
    options.signal?.throwIfAborted();
    // requeue / requeueAfter: cleanup is not finished (a volume still
    // detaching); the finalizer stays and cleanup runs again.
    if (result.action.kind !== "done") return result;
    await removeFinalizer(object, options);
    return result;
  }
  const withIt = await addFinalizer(object, options);
  return await options.apply(withIt);
}
