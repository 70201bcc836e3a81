/**
 * Observability: Prometheus metrics for the controller (named as
 * controller-runtime names them) and for Raft, on a registry that renders the
 * text exposition format. Built on prom-client, which runs unchanged on Deno
 * and Node. Structured JSON logs are in the controller module
 * ({@linkcode jsonLogger}).
 *
 * @example Serving /metrics
 * ```ts
 * import assert from "node:assert/strict";
 * import { controllerMetrics, MetricsRegistry } from "@k8s-operator/k8s-operator/metrics";
 * const registry = new MetricsRegistry();
 * const hooks = controllerMetrics({ registry, controller: "widgets" }); // for Controller.for (see controllerMetrics)
 * const handler = registry.handler(); // mount on GET /metrics
 * const response = await handler(new Request("http://localhost/metrics"));
 * assert.equal(response.status, 200);
 * assert.match(await response.text(), /workqueue_depth\{name="widgets"\} 0/);
 * ```
 *
 * @module
 */
import "../platform/check_runtime.ts";
export * from "./registry.ts";
export * from "./controller.ts";
export * from "./raft.ts";
export * from "./sharding.ts";
export {
  jsonLogger,
  type JsonLoggerOptions,
  withFields,
} from "../common/log.ts";
