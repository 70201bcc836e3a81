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
 * ```ts ignore
 * await websites.patch("blog", { spec: { replicas: 3 } }, { type: "merge" });
 * ```
 */
export type ResourcePatchType = Exclude<PatchType, "strategic">;

/**
 * One operation of a JSON Patch (RFC 6902): the client's
 * {@linkcode JsonPatchOp}, under the name the resource client used first.
 *
 * @example
 * ```ts ignore
 * const ops: JsonPatchOperation[] = [{ op: "replace", path: "/spec/replicas", value: 3 }];
 * await websites.patch("blog", ops, { type: "json" });
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
 * ```ts ignore
 * import { KubeConfig } from "@kubernetes/client-node";
 * const kubeConfig = new KubeConfig();
 * kubeConfig.loadFromDefault();
 * const websites = Website.client(kubeConfig);
 * const fencedWebsites = Website.client(kubeClient.fenced(guard.signal));
 * ```
 */
export type ClientSource =
  | Parameters<typeof KubeClient.fromKubeConfig>[0]
  | KubeClient;

/**
 * Options of the client as a whole.
 *
 * @example
 * ```ts ignore
 * const websites = Website.client(kubeConfig, { namespace: "web", requestTimeoutMs: 10_000 });
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
 * ```ts ignore
 * await websites.get("blog", { namespace: "web" });
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
 * ```ts ignore
 * const page = await websites.list({ labelSelector: "app=web", limit: 50 });
 * const next = await websites.list({ labelSelector: "app=web", limit: 50, continue: page.metadata.continue });
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
 * ```ts ignore
 * await websites.create(site, { fieldManager: "website-operator", dryRun: true });
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
 * ```ts ignore
 * await websites.patch("blog", { spec }, { type: "apply", fieldManager: "website-operator", force: true });
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
 * ```ts ignore
 * await websites.delete("blog", { propagationPolicy: "Foreground", preconditions: { resourceVersion: "42" } });
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
 * ```ts ignore
 * const list = await websites.list();
 * for await (const event of websites.watch({ resourceVersion: list.metadata.resourceVersion, signal })) {
 *   console.log(event.type, event.object.metadata.name);
 * }
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
 * ```ts ignore
 * const list: ResourceList<Website> = await websites.list();
 * console.log(list.items.length, list.metadata.resourceVersion);
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
 * ```ts ignore
 * for await (const event of websites.watch()) {
 *   if (event.type === "DELETED") console.log("gone", event.object.metadata.name);
 * }
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
 * ```ts ignore
 * const websites = Website.client(kubeConfig);
 * const created = await websites.create(Website.build({ metadata: { name: "blog" }, spec }));
 * await websites.patch("blog", { spec: { replicas: 3 } });
 * await websites.patchStatus("blog", { status: { readyReplicas: 3 } });
 * for await (const event of websites.watch({ signal })) console.log(event.type);
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
 * ```ts ignore
 * const target: ClientTarget = Website; // every CustomResource is one
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
