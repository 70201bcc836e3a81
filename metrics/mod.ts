/**
 * Observability: Prometheus metrics for the controller (named as
 * controller-runtime names them) and for Raft, on a registry that renders the
 * text exposition format. Built on prom-client, which runs unchanged on Deno
 * and Node. Structured JSON logs are in the controller module
 * ({@linkcode jsonLogger}).
 *
 * @example Serving /metrics
 * ```ts ignore
 * import { controllerMetrics, MetricsRegistry } from "@k8s-operator/k8s-operator/metrics";
 * const registry = new MetricsRegistry();
 * const hooks = controllerMetrics({ registry, controller: "widgets" });
 * await Controller.for(widgets, {
 *   client, guard,
 *   observer: hooks.observer, queue: { observer: hooks.queue }, watch: { observer: hooks.watch },
 *   events: { observer: hooks.events },
 * }).run(reconciler);
 * const handler = registry.handler(); // mount on GET /metrics
 * ```
 *
 * @module
 */
import "../platform/check_runtime.ts";
export * from "./registry.ts";
export * from "./controller.ts";
export * from "./raft.ts";
export {
  jsonLogger,
  type JsonLoggerOptions,
  withFields,
} from "../common/log.ts";
