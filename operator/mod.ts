/**
 * The composition root: the {@linkcode Operator} builder reads the
 * environment once into an {@linkcode OperatorConfig}, then wires discovery,
 * the Raft node and its transport, leader election, the controllers,
 * metrics and the HTTP server (`/healthz`, `/readyz`, `/metrics`), and
 * tears them down in reverse order.
 *
 * Re-exported by the root entry point (`@k8s-operator/k8s-operator`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Operator } from "./mod.ts";
 * const operator = Operator.fromEnv({
 *   env: { RAFT_NODE_ID: "0", RAFT_PEERS: "0=127.0.0.1:7000", RAFT_SECRET: "0123456789abcdef" },
 * });
 * assert.equal(operator.config.httpPort, 8080);
 * ```
 *
 * @module
 */
export * from "./operator.ts";
export {
  type EnvSource,
  type OperatorConfig,
  OperatorConfigError,
  podIdentityFromEnv,
  raftConfigFromEnv,
} from "./config.ts";
