/**
 * Patches: the flavours and their content types, JSON Patch operations and
 * pointers, and resourceVersion preconditions.
 *
 * @module
 */

/**
 * The patch flavours and their content types.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient, type KubeObject, type PatchType } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const deployments = { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true };
 * await client.create(deployments, {
 *   metadata: { name: "web", namespace: "default" },
 *   spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx" }] } } },
 * } as KubeObject);
 * // "merge" (the default): application/merge-patch+json
 * await client.patch(deployments, "web", { spec: { replicas: 5 } }, { namespace: "default" });
 * const type: PatchType = "json"; // application/json-patch+json
 * const ops = [{ op: "replace", path: "/spec/replicas", value: 6 }];
 * const patched = await client.patch<KubeObject & { spec: { replicas: number } }>(deployments, "web", ops, { namespace: "default", type });
 * assert.equal(patched.spec.replicas, 6);
 * ```
 */
export type PatchType = "merge" | "json" | "apply" | "strategic";

/** The Content-Type of each patch flavour. */
export const PATCH_CONTENT_TYPES: Readonly<Record<PatchType, string>> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
  strategic: "application/strategic-merge-patch+json",
};

/**
 * One JSON Patch (RFC 6902) operation. A `test` op makes the whole patch
 * fail (422) unless the value at `path` is still what the writer read: a
 * precondition narrower than the resourceVersion, for writes that must not
 * be reordered with another writer's.
 *
 * @example Scale only if nobody changed the replicas meanwhile
 * ```ts
 * import assert from "node:assert/strict";
 * import { type JsonPatchOp, KubeClient, type KubeObject } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const deployments = { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true };
 * await client.create(deployments, {
 *   metadata: { name: "web", namespace: "default" },
 *   spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx" }] } } },
 * } as KubeObject);
 * const patch: JsonPatchOp[] = [
 *   { op: "test", path: "/spec/replicas", value: 3 }, // the patch fails (422) if it is not 3 any more
 *   { op: "replace", path: "/spec/replicas", value: 5 },
 * ];
 * await client.patch(deployments, "web", patch, { namespace: "default", type: "json" });
 * const again = await client.patch(deployments, "web", patch, { namespace: "default", type: "json" }).catch((e) => e);
 * assert.equal(again.status, 422); // it is 5 now
 * ```
 */
export type JsonPatchOp =
  | { op: "test"; path: string; value: unknown }
  | { op: "add"; path: string; value: unknown }
  | { op: "replace"; path: string; value: unknown }
  | { op: "remove"; path: string }
  | { op: "move"; from: string; path: string }
  | { op: "copy"; from: string; path: string };

/**
 * A JSON Pointer (RFC 6901) from path segments, escaping `~` and `/`.
 *
 * @example A label key with a slash
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonPointer } from "./mod.ts";
 * assert.equal(jsonPointer("metadata", "labels", "app.kubernetes.io/name"), "/metadata/labels/app.kubernetes.io~1name");
 * ```
 */
export function jsonPointer(...segments: Array<string | number>): string {
  return segments.map((s) =>
    "/" + String(s).replaceAll("~", "~0").replaceAll("/", "~1")
  ).join("");
}

/**
 * `patch` with a resourceVersion precondition: a JSON patch gets a leading
 * `test` of `/metadata/resourceVersion`, any other flavour the version in
 * its `metadata`.
 */
export function withResourceVersion(
  patch: unknown,
  type: PatchType,
  resourceVersion: string,
): unknown {
  if (type === "json") {
    if (!Array.isArray(patch)) {
      throw new TypeError(
        `Expected a JSON patch to be an array of operations, found ${typeof patch}`,
      );
    }
    return [
      { op: "test", path: "/metadata/resourceVersion", value: resourceVersion },
      ...patch,
    ];
  }
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
    throw new TypeError(
      `Expected a ${type} patch to be an object to carry a resourceVersion, found ${
        Array.isArray(patch) ? "an array" : String(patch)
      }`,
    );
  }
  const body = patch as { metadata?: Record<string, unknown> };
  return {
    ...body,
    metadata: { ...body.metadata, resourceVersion },
  };
}
