/**
 * Predicates for a controller's `predicate` option: which primary changes
 * queue a reconcile (and, while another replica reconciles, which are
 * noted for a takeover).
 *
 * @module
 */
import type { KubeObject } from "../client/objects.ts";

/**
 * Queues only when `metadata.generation` changed (or on creation): status
 * writes do not trigger another reconcile.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generationChanged } from "@k8s-operator/k8s-operator/controller";
 * const before = { metadata: { name: "web", generation: 2 } };
 * const statusWritten = { metadata: { name: "web", generation: 2 }, status: { ready: true } };
 * assert.equal(generationChanged(statusWritten, before), false); // a status write
 * assert.equal(generationChanged({ metadata: { name: "web", generation: 3 } }, before), true); // a spec change
 * // Controller.for(widgets, { client, guard, predicate: generationChanged })
 * ```
 */
export function generationChanged(
  object: KubeObject,
  old: KubeObject | undefined,
): boolean {
  return old === undefined ||
    object.metadata.generation !== old.metadata.generation ||
    object.metadata.deletionTimestamp !== old.metadata.deletionTimestamp;
}
