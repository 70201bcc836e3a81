/**
 * Ready-made status schema pieces: the standard `conditions` array
 * (metav1.Condition items, a map list keyed by `type`) and
 * `observedGeneration`. A status schema without them makes the API server
 * prune what `StatusPatch` writes, silently: it then re-sends the same
 * patch (and records the same Event) on every reconcile.
 *
 * @module
 */
import type { KubeSchema, KubeSchemaOptions } from "./kube_types.ts";

/**
 * One condition as the {@linkcode Conditions} schema admits it: the shape
 * of metav1.Condition, with `reason` and `message` optional.
 *
 * @example
 * ```ts
 * import type { ResourceCondition } from "@k8s-operator/k8s-operator/crd";
 * const ready: ResourceCondition = { type: "Ready", status: "True", lastTransitionTime: "2024-05-01T12:00:00Z" };
 * ```
 */
export interface ResourceCondition {
  /** CamelCase type, e.g. `Ready`; the list's key. */
  type: string;
  /** True, False or Unknown. */
  status: "True" | "False" | "Unknown";
  /** CamelCase reason. */
  reason?: string;
  /** Human-readable detail. */
  message?: string;
  /** The generation the condition was computed from. */
  observedGeneration?: number;
  /** When `status` last changed (RFC 3339). */
  lastTransitionTime: string;
}

/**
 * The schema of `status.conditions`: an array of metav1.Condition items
 * with `x-kubernetes-list-type: map` keyed by `type`, so server-side apply
 * merges conditions by type and a type appears at most once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { Conditions, ObservedGeneration } from "@k8s-operator/k8s-operator/crd";
 *
 * const status = Type.Object({
 *   conditions: Type.Optional(Conditions()),
 *   observedGeneration: Type.Optional(ObservedGeneration()),
 * });
 * assert.deepEqual(status.properties.conditions["x-kubernetes-list-map-keys"], ["type"]);
 * ```
 */
export function Conditions(
  options: KubeSchemaOptions = {},
): KubeSchema<ResourceCondition[]> & {
  readonly "x-kubernetes-list-type": "map";
  readonly "x-kubernetes-list-map-keys": readonly ["type"];
} {
  return {
    description: "The latest observations of the object's state.",
    ...options,
    type: "array",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
    items: {
      type: "object",
      required: ["type", "status", "lastTransitionTime"],
      properties: {
        type: {
          type: "string",
          description: "The condition type, such as Ready.",
        },
        status: { type: "string", enum: ["True", "False", "Unknown"] },
        reason: { type: "string" },
        message: { type: "string" },
        observedGeneration: { type: "integer", minimum: 0 },
        lastTransitionTime: { type: "string", format: "date-time" },
      },
    },
  } as unknown as ReturnType<typeof Conditions>;
}

/**
 * The schema of `status.observedGeneration`: the `metadata.generation` the
 * status was computed from, an integer from 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ObservedGeneration } from "@k8s-operator/k8s-operator/crd";
 * const { type, minimum } = ObservedGeneration() as { type?: string; minimum?: number };
 * assert.deepEqual({ type, minimum }, { type: "integer", minimum: 0 });
 * ```
 */
export function ObservedGeneration(
  options: KubeSchemaOptions = {},
): KubeSchema<number> {
  return {
    description: "The metadata.generation this status was computed from.",
    ...options,
    type: "integer",
    minimum: 0,
  } as unknown as KubeSchema<number>;
}
