/**
 * The typed client of a custom resource: get, list, create, replace,
 * patch (merge, JSON patch, server-side apply), patchStatus, delete and a
 * minimal watch: the types. The implementation (`_client.ts`) sends every
 * request through the controller's `KubeClient`, so a fenced client (one
 * tied to leadership) fences these writes too.
 *
 * @module
 */
import type { KubeClient } from "../client/kube_client.ts";
import type { KubeList } from "../client/objects.ts";
import type { JsonPatchOp, PatchType } from "../client/patch.ts";
import type { FieldProblem } from "./errors.ts";

/**
 * How a patch is interpreted; each has its own Content-Type. The client's
 * {@linkcode PatchType}s but `strategic`, which custom resources do not
 * support.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type ResourcePatchType } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const websites = Website.client(kubeConfig, { namespace: "default" });
 * await websites.create(Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } }));
 * const type: ResourcePatchType = "merge";
 * const patched = await websites.patch("blog", { spec: { replicas: 3 } }, { type });
 * assert.equal(patched.spec.replicas, 3);
 * ```
 */
export type ResourcePatchType = Exclude<PatchType, "strategic">;

/**
 * One operation of a JSON Patch (RFC 6902): the client's
 * {@linkcode JsonPatchOp}, under the name the resource client used first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type JsonPatchOperation } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const websites = Website.client(kubeConfig, { namespace: "default" });
 * await websites.create(Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } }));
 * const ops: JsonPatchOperation[] = [{ op: "replace", path: "/spec/replicas", value: 3 }];
 * assert.equal((await websites.patch("blog", ops, { type: "json" })).spec.replicas, 3);
 * ```
 */
export type JsonPatchOperation = JsonPatchOp;

/**
 * Where the client sends requests: a `KubeConfig` from
 * `@kubernetes/client-node` (its current context's cluster, credentials and
 * namespace), or the controller's `KubeClient` (for example a fenced one,
 * whose writes stop the moment leadership is lost).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { type ClientSource, defineCustomResource } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * // A KubeConfig (in a pod: kubeConfig.loadFromDefault()), or the controller's
 * // KubeClient, such as a fenced one: kubeClient.fenced(guard.signal).
 * const source: ClientSource = kubeConfig;
 * const websites = Website.client(source, { namespace: "default" });
 * await websites.create(Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } }));
 * assert.equal((await websites.list()).items.length, 1);
 * ```
 */
export type ClientSource =
  | Parameters<typeof KubeClient.fromKubeConfig>[0]
  | KubeClient;

/**
 * Options of the client as a whole.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type ResourceClientOptions } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const options: ResourceClientOptions = { namespace: "default", requestTimeoutMs: 10_000 };
 * const websites = Website.client(kubeConfig, options);
 * await websites.create(Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } }));
 * assert.equal((await websites.get("blog")).metadata.namespace, "default"); // the client's namespace
 * ```
 */
export interface ResourceClientOptions {
  /** The namespace used when a call names none (default: the kubeconfig context's, else `default`). */
  namespace?: string;
  /**
   * Gives up on a request (not a watch) after this many milliseconds
   * (default 30 000). Only used with a `KubeConfig`; a `KubeClient` keeps
   * its own.
   */
  requestTimeoutMs?: number;
}

/**
 * Where a call goes: the namespace of a namespaced resource.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type NamespaceOptions } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const websites = Website.client(kubeConfig); // the kubeconfig context's namespace, else default
 * const inDefault: NamespaceOptions = { namespace: "default" };
 * await websites.create(Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } }), inDefault);
 * assert.equal((await websites.get("blog", inDefault)).metadata.name, "blog");
 * ```
 */
export interface NamespaceOptions {
  /** The namespace (namespaced resources only). */
  namespace?: string;
}

/**
 * Options of `list`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type ResourceListOptions } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const websites = Website.client(kubeConfig, { namespace: "default" });
 * for (const name of ["a", "b", "c"]) {
 *   await websites.create(Website.build({ metadata: { name, labels: { app: "web" } }, spec: { domain: `${name}.example.com`, replicas: 1 } }));
 * }
 * const options: ResourceListOptions = { labelSelector: "app=web", limit: 2 };
 * const page = await websites.list(options);
 * const next = await websites.list({ ...options, continue: page.metadata.continue });
 * assert.deepEqual([...page.items, ...next.items].map((w) => w.metadata.name), ["a", "b", "c"]);
 * ```
 */
export interface ResourceListOptions extends NamespaceOptions {
  /** List in every namespace (namespaced resources only). */
  allNamespaces?: boolean;
  /** Such as `app=web,tier!=db`. */
  labelSelector?: string;
  /** Such as `metadata.name=blog`. */
  fieldSelector?: string;
  /** The page size. */
  limit?: number;
  /** The `continue` token of the previous page. */
  continue?: string;
  /** List at least as new as this resourceVersion. */
  resourceVersion?: string;
}

/**
 * Options of the write calls.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type WriteOptions } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const websites = Website.client(kubeConfig, { namespace: "default" });
 * const site = Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } });
 * const dryRun: WriteOptions = { fieldManager: "website-operator", dryRun: true };
 * await websites.create(site, dryRun); // admitted, not stored
 * assert.equal((await websites.list()).items.length, 0);
 * ```
 */
export interface WriteOptions extends NamespaceOptions {
  /** The field manager recorded in managedFields (required for apply). */
  fieldManager?: string;
  /** Validate and admit, but do not persist. */
  dryRun?: boolean;
}

/**
 * Options of `patch` and `patchStatus`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type ResourcePatchOptions } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const websites = Website.client(kubeConfig, { namespace: "default" });
 * const apply: ResourcePatchOptions = { type: "apply", fieldManager: "website-operator", force: true };
 * const site = Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 2 } });
 * const applied = await websites.patch("blog", site, apply); // creates or updates the fields it owns
 * assert.equal(applied.spec.replicas, 2);
 * ```
 */
export interface ResourcePatchOptions extends WriteOptions {
  /** `merge` (default, RFC 7386), `json` (RFC 6902) or `apply` (server-side apply). */
  type?: ResourcePatchType;
  /** Server-side apply only: take over fields owned by other managers. */
  force?: boolean;
}

/**
 * Options of `delete`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type DeleteOptions } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const websites = Website.client(kubeConfig, { namespace: "default" });
 * const site = await websites.create(Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } }));
 * // Delete only the version we read: a newer one is left alone (409).
 * const options: DeleteOptions = { propagationPolicy: "Foreground", preconditions: { resourceVersion: site.metadata.resourceVersion } };
 * await websites.delete("blog", options);
 * assert.equal((await websites.list()).items.length, 0);
 * ```
 */
export interface DeleteOptions extends NamespaceOptions {
  /** How dependents are deleted. */
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  /** Seconds before the object is deleted. */
  gracePeriodSeconds?: number;
  /** Delete only if the object still has this uid / resourceVersion. */
  preconditions?: { uid?: string; resourceVersion?: string };
  /** Validate, but do not delete. */
  dryRun?: boolean;
}

/**
 * Options of `watch`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type WatchOptions } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const websites = Website.client(kubeConfig, { namespace: "default" });
 * const list = await websites.list();
 * const stop = new AbortController();
 * const options: WatchOptions = { resourceVersion: list.metadata.resourceVersion, signal: stop.signal };
 * const events = websites.watch(options)[Symbol.asyncIterator]();
 * const first = events.next(); // the watch is open once the request is sent
 * await websites.create(Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } }));
 * const { value: event } = await first;
 * assert.equal(event?.type, "ADDED");
 * assert.equal(event?.object.metadata.name, "blog");
 * stop.abort();
 * ```
 */
export interface WatchOptions extends NamespaceOptions {
  /** Watch every namespace (namespaced resources only). */
  allNamespaces?: boolean;
  /** Such as `app=web`. */
  labelSelector?: string;
  /** Such as `metadata.name=blog`. */
  fieldSelector?: string;
  /** Start after this resourceVersion (from a list). */
  resourceVersion?: string;
  /** Ask for BOOKMARK events. */
  allowWatchBookmarks?: boolean;
  /** The server ends the watch after this many seconds. */
  timeoutSeconds?: number;
  /** Ends the watch. */
  signal?: AbortSignal;
}

/**
 * A list of objects, as `list` returns it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type InferResource, type ResourceList } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const websites = Website.client(kubeConfig, { namespace: "default" });
 * await websites.create(Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } }));
 * const list: ResourceList<InferResource<typeof Website>> = await websites.list();
 * assert.equal(list.items.length, 1);
 * assert.equal(typeof list.metadata.resourceVersion, "string"); // watch from it
 * ```
 */
export interface ResourceList<T> extends KubeList<T> {
  /** `group/version`. */
  apiVersion: string;
  /** `<Kind>List`. */
  kind: string;
}

/**
 * One event of a watch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type InferResource, type WatchEvent } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const websites = Website.client(kubeConfig, { namespace: "default" });
 * const { resourceVersion } = (await websites.list()).metadata; // watch what follows
 * await websites.create(Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } }));
 * const stop = new AbortController();
 * const seen: WatchEvent<InferResource<typeof Website>>[] = [];
 * const watching = (async () => {
 *   for await (const event of websites.watch({ resourceVersion, signal: stop.signal })) {
 *     seen.push(event);
 *     if (event.type === "DELETED") stop.abort(); // gone: event.object is its last state
 *   }
 * })();
 * await websites.delete("blog");
 * await watching.catch(() => {}); // the abort ends the watch
 * assert.deepEqual(seen.map((e) => e.type), ["ADDED", "DELETED"]);
 * ```
 */
export interface WatchEvent<T> {
  /** What happened. */
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";
  /** The object after the change (for BOOKMARK, only its resourceVersion is meaningful). */
  object: T;
}

/**
 * The typed client of one custom resource. Create one with
 * `Resource.client(kubeConfig)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type InferResource, type ResourceClient } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const websites: ResourceClient<InferResource<typeof Website>> = Website.client(kubeConfig);
 * const created = await websites.create(Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } }));
 * await websites.patch("blog", { spec: { replicas: 3 } });
 * const ready = await websites.patchStatus("blog", { status: { readyReplicas: 3 } });
 * assert.equal(created.metadata.name, "blog");
 * assert.equal(ready.status?.readyReplicas, 3);
 * ```
 */
export interface ResourceClient<T> {
  /** Reads one object; `ApiError` with reason `NotFound` when absent. */
  get(name: string, options?: NamespaceOptions): Promise<T>;
  /** Lists objects (of the namespace, or of all with `allNamespaces`). */
  list(options?: ResourceListOptions): Promise<ResourceList<T>>;
  /** Validates, then creates the object; `ValidationError` before any request when invalid. */
  create(object: T, options?: WriteOptions): Promise<T>;
  /** Validates, then replaces the object (PUT; set metadata.resourceVersion for optimistic concurrency). */
  replace(object: T, options?: WriteOptions): Promise<T>;
  /** Patches the object with the Content-Type of the patch type. */
  patch(
    name: string,
    patch: unknown,
    options?: ResourcePatchOptions,
  ): Promise<T>;
  /** Patches the status subresource. */
  patchStatus(
    name: string,
    patch: unknown,
    options?: ResourcePatchOptions,
  ): Promise<T>;
  /** Deletes the object; returns it while finalizers hold it, else undefined. */
  delete(name: string, options?: DeleteOptions): Promise<T | undefined>;
  /**
   * A minimal watch: one request, events as they come, ends when the server
   * closes it; an ERROR event (such as 410 Gone) throws `ApiError`. No
   * reconnect, no relist: the controller's watcher does that.
   */
  watch(options?: WatchOptions): AsyncIterable<WatchEvent<T>>;
}

/**
 * What the client needs of a resource definition.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { type ClientTarget, defineCustomResource } from "@k8s-operator/k8s-operator/crd";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * const target: ClientTarget = Website; // every CustomResource is one
 * assert.equal(target.plural, "websites");
 * ```
 */
export interface ClientTarget {
  /** The API group. */
  readonly group: string;
  /** The version. */
  readonly version: string;
  /** `group/version`. */
  readonly apiVersion: string;
  /** The kind. */
  readonly kind: string;
  /** The plural name used in URLs. */
  readonly plural: string;
  /** Namespaced or cluster-scoped. */
  readonly scope: "Namespaced" | "Cluster";
  /** Whether objects live in a namespace (the controller's `ResourceType`). */
  readonly namespaced: boolean;
  /** Schema paths with CEL rules only the API server evaluates. */
  readonly serverOnlyRules?: readonly string[];
  /** Every problem of a candidate object for a write. */
  problems(
    value: unknown,
    options?: { operation?: "create" | "update" },
  ): FieldProblem[];
}
