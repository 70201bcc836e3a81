/**
 * k8s-operator: Kubernetes operators in TypeScript that run as
 * highly-available clusters. Replicas find each other through a headless
 * Service, elect a leader with Raft over HTTP, and only the leader
 * reconciles.
 *
 * This entry point re-exports every part; each is also importable alone
 * (`./raft`, `./controller`, `./discovery`, `./crd`, `./testing`). The
 * {@linkcode Operator} builder wires them into a complete operator.
 *
 * @example
 * ```ts ignore
 * import * as operator from "@k8s-operator/k8s-operator";
 * ```
 *
 * @module
 */
export * from "./raft/mod.ts";
export * from "./controller/mod.ts";
export * from "./discovery/mod.ts";
export * from "./crd/mod.ts";
export * from "./metrics/mod.ts";
export * from "./operator.ts";
