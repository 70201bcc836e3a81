/**
 * Who this pod is: its name, namespace, StatefulSet and ordinal (the
 * ordinal is its Raft node id).
 *
 * @module
 */
import type { NodeId } from "../common/leadership.ts";
import { isDnsLabel, splitOrdinal } from "./_names.ts";
import { DiscoveryConfigError } from "./errors.ts";

/**
 * The identity of a StatefulSet pod. Its Raft node id is its ordinal.
 *
 * @example
 * ```ts
 * import type { PodIdentity } from "@k8s-operator/k8s-operator/discovery";
 * const me: PodIdentity = { podName: "my-op-2", namespace: "ops", statefulSet: "my-op", ordinal: 2 };
 * ```
 */
export interface PodIdentity {
  /** The pod's name, for example `my-operator-2`. */
  podName: string;
  /** The pod's namespace. */
  namespace: string;
  /** The StatefulSet the pod belongs to, for example `my-operator`. */
  statefulSet: string;
  /** The pod's ordinal in its StatefulSet, which is its Raft node id. */
  ordinal: NodeId;
}

/**
 * Where a StatefulSet pod is: its name and namespace (in a pod, the
 * downward API's `metadata.name` and `metadata.namespace`).
 *
 * @example
 * ```ts
 * import type { PodLocation } from "@k8s-operator/k8s-operator/discovery";
 * const pod: PodLocation = { podName: "my-operator-2", namespace: "ops" };
 * ```
 */
export interface PodLocation {
  /** The pod's name, `<statefulSet>-<ordinal>`. */
  podName: string;
  /** The pod's namespace. */
  namespace: string;
}

/**
 * The identity of the StatefulSet pod at `pod`: its StatefulSet and ordinal
 * from the pod name. Throws {@linkcode DiscoveryConfigError} (with
 * `invalid.option` `podName` or `namespace`) when the pod name is not
 * `<statefulSet>-<ordinal>` or the namespace is not a DNS label. Reading
 * them from the environment is the composition root's:
 * `podIdentityFromEnv` of `@k8s-operator/k8s-operator`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { podIdentity } from "@k8s-operator/k8s-operator/discovery";
 * const me = podIdentity({ podName: "my-operator-2", namespace: "ops" });
 * assert.equal(me.statefulSet, "my-operator");
 * assert.equal(me.ordinal, 2);
 * ```
 */
export function podIdentity(pod: PodLocation): PodIdentity {
  const { podName, namespace } = pod;
  const parts = typeof podName === "string" ? splitOrdinal(podName) : null;
  if (parts === null) {
    throw DiscoveryConfigError.option("the pod name", {
      option: "podName",
      value: podName,
      expected:
        'a StatefulSet pod name "<statefulSet>-<ordinal>" such as "my-operator-0"',
    });
  }
  if (typeof namespace !== "string" || !isDnsLabel(namespace)) {
    throw DiscoveryConfigError.option("the namespace", {
      option: "namespace",
      value: namespace,
      expected:
        "a namespace name (a DNS label: lower-case letters, digits and '-')",
    });
  }
  return {
    podName,
    namespace,
    statefulSet: parts.statefulSet,
    ordinal: parts.ordinal,
  };
}
