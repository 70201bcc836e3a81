/**
 * k8s-operator: Kubernetes operators in TypeScript that run as
 * highly-available clusters. Replicas find each other through a headless
 * Service, elect a leader with Raft over HTTP, and only the leader
 * reconciles.
 *
 * This entry point re-exports every part an operator runs with: `./raft`,
 * `./controller`, `./discovery`, `./crd` and `./metrics`, each also
 * importable alone, and the {@linkcode Operator} builder that wires them
 * into a complete operator. `./testing` (the test API server and the
 * replica harness) is for tests only and is not re-exported here: import
 * it from `./testing`.
 *
 * Importing any entry point first checks the runtime and throws
 * {@linkcode UnsupportedRuntimeError} on a Node older than 22.19.0 or a Deno
 * older than 2.9.6.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as operator from "@k8s-operator/k8s-operator";
 * assert.equal(typeof operator.Operator.fromEnv, "function");
 * assert.equal(typeof operator.RaftNode.start, "function"); // ./raft, ./controller, ... re-exported
 * ```
 *
 * @module
 */
import "./platform/check_runtime.ts";
export * from "./raft/mod.ts";
export * from "./controller/mod.ts";
export * from "./discovery/mod.ts";
export * from "./crd/mod.ts";
export * from "./metrics/mod.ts";
export * from "./operator/mod.ts";
export {
  checkRuntimeVersion,
  MIN_DENO_VERSION,
  MIN_NODE_VERSION,
  type RuntimeVersions,
  UnsupportedRuntimeError,
} from "./platform/runtime_version.ts";
