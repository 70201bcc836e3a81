/**
 * Peer discovery: who this pod is (its StatefulSet ordinal is its Raft node
 * id), the fixed initial membership, and the peers behind a headless
 * Service, found through DNS.
 *
 * @example
 * ```ts
 * import { RaftConfig } from "@k8s-operator/k8s-operator/discovery";
 * const config = RaftConfig.forStatefulSet({ podName: "my-op-0", namespace: "ops", replicas: 3 });
 * console.log(config.nodeId, [...config.peers.values()]);
 * ```
 *
 * @module
 */
import "../platform/check_runtime.ts";
export * from "./errors.ts";
export * from "./peer.ts";
export * from "./pod_identity.ts";
export * from "./static.ts";
export * from "./headless_service.ts";
export * from "./config.ts";
export type { NodeId } from "../common/leadership.ts";
