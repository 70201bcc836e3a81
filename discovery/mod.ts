/**
 * Peer discovery: who this pod is (its StatefulSet ordinal is its Raft node
 * id), the fixed initial membership, and the peers behind a headless
 * Service, found through DNS.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RaftConfig } from "@k8s-operator/k8s-operator/discovery";
 * const config = RaftConfig.fromEnv({ POD_NAME: "my-op-0", NAMESPACE: "ops", RAFT_REPLICAS: "3" });
 * assert.equal(config.nodeId, 0);
 * assert.equal(config.peers.size, 3);
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
export type { NodeId } from "../raft/types.ts";
