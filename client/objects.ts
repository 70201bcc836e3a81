/**
 * The object vocabulary of the Kubernetes API: which resource a request is
 * about (`ResourceType`), object metadata and owner references, lists, and
 * the URL path of a resource, a collection or an object.
 *
 * @module
 */

/**
 * Which API resource a request is about.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ResourceType, resourcePath } from "./mod.ts";
 * const deployments: ResourceType = {
 *   group: "apps",
 *   version: "v1",
 *   plural: "deployments",
 *   kind: "Deployment",
 *   namespaced: true,
 * };
 * assert.equal(resourcePath(deployments, { namespace: "prod", name: "web" }), "/apis/apps/v1/namespaces/prod/deployments/web");
 * ```
 */
export interface ResourceType {
  /** API group; `""` for the core group. */
  group: string;
  /** API version, e.g. `v1`. */
  version: string;
  /** The plural resource name used in URLs, e.g. `configmaps`. */
  plural: string;
  /** The kind, e.g. `ConfigMap`. */
  kind: string;
  /** Whether objects live in a namespace. */
  namespaced: boolean;
}

/**
 * A reference from a child to its owner.
 *
 * @example Making a Widget the controller of a child it creates
 * ```ts
 * import assert from "node:assert/strict";
 * import type { KubeObject, OwnerReference } from "@k8s-operator/k8s-operator/controller";
 * const widget: KubeObject = { metadata: { name: "web", namespace: "default", uid: "6f1c" } }; // as read
 * const owner: OwnerReference = {
 *   apiVersion: "example.com/v1",
 *   kind: "Widget",
 *   name: widget.metadata.name!,
 *   uid: widget.metadata.uid!,
 *   controller: true, // Controller.owns() maps child changes back through this
 *   blockOwnerDeletion: true,
 * };
 * const child: KubeObject = { metadata: { name: "web-config", namespace: "default", ownerReferences: [owner] } };
 * assert.equal(child.metadata.ownerReferences?.[0].uid, "6f1c");
 * ```
 */
export interface OwnerReference {
  /** The owner's apiVersion. */
  apiVersion: string;
  /** The owner's kind. */
  kind: string;
  /** The owner's name. */
  name: string;
  /** The owner's uid. */
  uid: string;
  /** Whether the owner is the managing controller. */
  controller?: boolean;
  /** Whether deletion of the owner waits for this child. */
  blockOwnerDeletion?: boolean;
}

/**
 * The metadata fields the controller reads and writes.
 *
 * @example
 * ```ts
 * import type { ObjectMeta } from "./mod.ts";
 * const metadata: ObjectMeta = {
 *   name: "web",
 *   namespace: "default",
 *   labels: { "app.kubernetes.io/name": "web" },
 *   annotations: { "example.com/owner": "team-a" },
 *   finalizers: ["example.com/cleanup"],
 * };
 * ```
 */
export interface ObjectMeta {
  /** Object name. */
  name?: string;
  /** Prefix for a server-generated name. */
  generateName?: string;
  /** Namespace, for namespaced objects. */
  namespace?: string;
  /** Unique id. */
  uid?: string;
  /** Opaque version string: compared only for equality, never parsed. */
  resourceVersion?: string;
  /** Incremented by the server on spec changes. */
  generation?: number;
  /** Labels. */
  labels?: Record<string, string>;
  /** Annotations. */
  annotations?: Record<string, string>;
  /** Finalizers blocking deletion. */
  finalizers?: string[];
  /** Set once deletion was requested. */
  deletionTimestamp?: string;
  /** Creation time (RFC 3339). */
  creationTimestamp?: string;
  /** Owners of this object. */
  ownerReferences?: OwnerReference[];
}

/**
 * Any Kubernetes object.
 *
 * @example A custom resource type
 * ```ts
 * import type { KubeObject } from "./mod.ts";
 * interface Widget extends KubeObject {
 *   spec: { replicas: number; image: string };
 *   status?: { readyReplicas?: number; observedGeneration?: number };
 * }
 * const widget: Widget = {
 *   apiVersion: "example.com/v1",
 *   kind: "Widget",
 *   metadata: { name: "web", namespace: "default" },
 *   spec: { replicas: 3, image: "nginx:1.27" },
 * };
 * ```
 */
export interface KubeObject {
  /** `group/version` or `v1`. */
  apiVersion?: string;
  /** Kind. */
  kind?: string;
  /** Metadata. */
  metadata: ObjectMeta;
}

/**
 * A list response.
 *
 * @example Reading every page of a list
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient, type KubeList, type KubeObject } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * for (const name of ["a", "b", "c"]) await client.create(configMaps, { metadata: { name, namespace: "default" } });
 * const all: KubeObject[] = [];
 * let page: KubeList<KubeObject> | undefined;
 * do {
 *   page = await client.list(configMaps, { namespace: "default", limit: 2, continue: page?.metadata.continue });
 *   all.push(...page.items);
 * } while (page.metadata.continue);
 * assert.deepEqual(all.map((o) => o.metadata.name), ["a", "b", "c"]);
 * ```
 */
export interface KubeList<T> {
  /** List metadata: the resourceVersion to watch from, the continue token. */
  metadata: { resourceVersion?: string; continue?: string };
  /** The objects. */
  items: T[];
}

/**
 * Where an object lives.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ObjectLocation, resourcePath } from "./mod.ts";
 * const widgets = { group: "example.com", version: "v1", plural: "widgets", kind: "Widget", namespaced: true };
 * const status: ObjectLocation = { namespace: "default", name: "web", subresource: "status" };
 * assert.equal(resourcePath(widgets, status), "/apis/example.com/v1/namespaces/default/widgets/web/status");
 * assert.equal(resourcePath(widgets, {}), "/apis/example.com/v1/widgets"); // every namespace
 * ```
 */
export interface ObjectLocation {
  /** Namespace (required for namespaced resources when naming one object). */
  namespace?: string;
  /** Object name; omitted for collections. */
  name?: string;
  /** Subresource such as `status`. */
  subresource?: string;
}

/**
 * The URL path of a resource, a collection or an object. Namespaced objects
 * get namespaced paths; a namespaced object without a namespace is an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resourcePath } from "./mod.ts";
 * const cm = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * assert.equal(resourcePath(cm, { namespace: "default", name: "a" }), "/api/v1/namespaces/default/configmaps/a");
 * ```
 */
export function resourcePath(
  resource: ResourceType,
  location: ObjectLocation = {},
): string {
  const base = resource.group === ""
    ? `/api/${resource.version}`
    : `/apis/${resource.group}/${resource.version}`;
  let path = base;
  if (resource.namespaced && location.namespace) {
    path += `/namespaces/${encodeURIComponent(location.namespace)}`;
  } else if (resource.namespaced && location.name !== undefined) {
    throw new TypeError(
      `Expected a namespace for namespaced ${resource.kind} ${location.name}, found none`,
    );
  }
  path += `/${resource.plural}`;
  if (location.name !== undefined) {
    path += `/${encodeURIComponent(location.name)}`;
    if (location.subresource) path += `/${location.subresource}`;
  }
  return path;
}

/**
 * The apiVersion string of a resource type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { apiVersionOf } from "./mod.ts";
 * assert.equal(apiVersionOf({ group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true }), "apps/v1");
 * assert.equal(apiVersionOf({ group: "", version: "v1", plural: "services", kind: "Service", namespaced: true }), "v1");
 * ```
 */
export function apiVersionOf(resource: ResourceType): string {
  return resource.group === ""
    ? resource.version
    : `${resource.group}/${resource.version}`;
}
