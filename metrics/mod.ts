/**
 * Observability: Prometheus metrics for the controller (named as
 * controller-runtime names them) and for Raft, on a registry that renders the
 * text exposition format. Built on prom-client, which runs unchanged on Deno
 * and Node. Structured JSON logs are in the controller module
 * ({@linkcode jsonLogger}).
 *
 * @example Serving /metrics
 * ```ts ignore
 * import { instrumentReconciler, MetricsRegistry, observeController } from "@k8s-operator/k8s-operator/metrics";
 * const metrics = new MetricsRegistry();
 * const controller = Controller.for(widgets, { client, guard });
 * observeController(controller, { registry: metrics, controller: "widgets" });
 * controller.run(instrumentReconciler(reconciler, { registry: metrics, controller: "widgets" }));
 * const handler = metrics.handler(); // GET /metrics
 * ```
 *
 * @module
 */
export * from "./registry.ts";
export * from "./controller.ts";
export * from "./raft.ts";
export { jsonLogger, type JsonLoggerOptions } from "../controller/log.ts";
