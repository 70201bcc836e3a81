/**
 * Who this pod is: its name, namespace, StatefulSet and ordinal, read from
 * the environment the downward API provides.
 *
 * @module
 */
import type { NodeId } from "../raft/types.ts";
import { type EnvSource, isDnsLabel, readEnv, splitOrdinal } from "./_names.ts";
import { MalformedEnvError, MissingEnvError } from "./errors.ts";

export type { EnvSource } from "./_names.ts";

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
 * Reads `POD_NAME` and `NAMESPACE` (set them from the downward API:
 * `metadata.name` and `metadata.namespace`) and derives the StatefulSet and
 * the ordinal from the pod name. `env` defaults to the process environment.
 *
 * Throws {@linkcode MissingEnvError} when a variable is unset or empty, and
 * {@linkcode MalformedEnvError} when `POD_NAME` is not `<statefulSet>-<ordinal>`
 * or `NAMESPACE` is not a DNS label.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { podIdentityFromEnv } from "@k8s-operator/k8s-operator/discovery";
 * const me = podIdentityFromEnv({ POD_NAME: "my-operator-2", NAMESPACE: "ops" });
 * assert.equal(me.statefulSet, "my-operator");
 * assert.equal(me.ordinal, 2);
 * ```
 */
export function podIdentityFromEnv(env?: EnvSource): PodIdentity {
  const podName = readEnv(env, "POD_NAME");
  if (podName === undefined) {
    throw new MissingEnvError(
      "POD_NAME",
      "the pod's name, from the downward API field metadata.name",
    );
  }
  const namespace = readEnv(env, "NAMESPACE");
  if (namespace === undefined) {
    throw new MissingEnvError(
      "NAMESPACE",
      "the pod's namespace, from the downward API field metadata.namespace",
    );
  }
  const parts = splitOrdinal(podName);
  if (parts === null) {
    throw new MalformedEnvError(
      "POD_NAME",
      podName,
      'a StatefulSet pod name "<statefulSet>-<ordinal>" such as "my-operator-0"',
    );
  }
  if (!isDnsLabel(namespace)) {
    throw new MalformedEnvError(
      "NAMESPACE",
      namespace,
      "a namespace name (a DNS label: lower-case letters, digits and '-')",
    );
  }
  return {
    podName,
    namespace,
    statefulSet: parts.statefulSet,
    ordinal: parts.ordinal,
  };
}
