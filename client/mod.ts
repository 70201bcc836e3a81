/**
 * The Kubernetes client layer, the lowest that knows Kubernetes (as
 * kube-client sits under kube-runtime): the REST client (`KubeClient`: verbs,
 * patch flavours, fencing, rate limit), kubeconfig loading, the object,
 * patch and error types, and structural schemas as a real kube-apiserver
 * applies them (`schema.ts`).
 *
 * Not an entry point of its own: `./controller` re-exports the client,
 * `./crd` what it needs of the schemas.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resourcePath } from "./mod.ts";
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * assert.equal(resourcePath(configMaps, { namespace: "default", name: "web" }), "/api/v1/namespaces/default/configmaps/web");
 * ```
 *
 * @module
 */
export * from "./kube_client.ts";
export * from "./kubeconfig.ts";
export * from "./objects.ts";
export * from "./errors.ts";
export * from "./patch.ts";
export * from "./schema.ts";
