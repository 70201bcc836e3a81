/**
 * The metrics registry: prom-client's `Registry` behind a small surface
 * (`render()`, `contentType`, `handler()`), so the Operator can serve
 * `/metrics` and users can register their own prom-client metrics beside
 * ours.
 *
 * @module
 */
import { type Metric, Registry } from "prom-client";
import { bindProm } from "./_families.ts";

/**
 * A metric made with prom-client (`Counter`, `Gauge`, `Histogram`,
 * `Summary`), created with `registers: []` and handed to
 * {@linkcode MetricsRegistry.register}.
 *
 * @example Counting backups next to the controller metrics
 * ```ts
 * import { MetricsRegistry } from "@k8s-operator/k8s-operator/metrics";
 * import { Counter } from "prom-client";
 * const metrics = new MetricsRegistry();
 * // `registers: []` keeps it out of prom-client's global registry.
 * const backups = new Counter({
 *   name: "myop_backups_total",
 *   help: "Backups taken, by result.",
 *   labelNames: ["result"],
 *   registers: [],
 * });
 * metrics.register(backups); // throws if the name is already registered
 * backups.inc({ result: "success" });
 * ```
 */
export interface CustomMetric {
  /** prom-client's snapshot of the metric's values. */
  get(): Promise<unknown>;
}

/**
 * Options of a {@linkcode MetricsRegistry}.
 *
 * @example Telling replicas apart
 * ```ts
 * import { controllerMetrics, MetricsRegistry } from "@k8s-operator/k8s-operator/metrics";
 * const metrics = new MetricsRegistry({ defaultLabels: { pod: "my-op-0" } });
 * controllerMetrics({ registry: metrics, controller: "widgets" });
 * console.log(await metrics.render()); // ...controller_runtime_active_workers{controller="widgets",pod="my-op-0"} 0...
 * ```
 */
export interface MetricsRegistryOptions {
  /** Labels added to every series (for instance `{ pod: "op-0" }`). */
  defaultLabels?: Record<string, string>;
}

/**
 * A registry of metrics rendered in the Prometheus text exposition format.
 *
 * Every instrument of this library takes a registry; give each node its own
 * registry. Add metrics of your own, made with prom-client, through
 * {@linkcode MetricsRegistry.register}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry } from "@k8s-operator/k8s-operator/metrics";
 * import { Counter } from "prom-client";
 * const metrics = new MetricsRegistry();
 * const mine = new Counter({ name: "my_total", help: "Mine.", registers: [] });
 * metrics.register(mine);
 * mine.inc();
 * assert.equal(await metrics.render(), "# HELP my_total Mine.\n# TYPE my_total counter\nmy_total 1\n");
 * ```
 */
export class MetricsRegistry {
  readonly #prom: Registry;

  /** Creates an empty registry. */
  constructor(options: MetricsRegistryOptions = {}) {
    this.#prom = new Registry();
    if (options.defaultLabels) {
      this.#prom.setDefaultLabels(options.defaultLabels);
    }
    bindProm(this, this.#prom);
  }

  /**
   * Adds a prom-client metric of your own. Throws when a metric of the same
   * name is already registered.
   */
  register(metric: CustomMetric): void {
    this.#prom.registerMetric(metric as Metric);
  }

  /** The `Content-Type` of {@linkcode MetricsRegistry.render}'s output. */
  get contentType(): string {
    return this.#prom.contentType;
  }

  /**
   * Every metric in the text exposition format (version 0.0.4). Gauges that
   * read live state (queue depth, Raft role) are read now.
   */
  render(): Promise<string> {
    return this.#prom.metrics();
  }

  /**
   * A request handler that answers with {@linkcode MetricsRegistry.render}
   * (mount it on `GET /metrics`).
   *
   * @example
   * ```ts
   * import { MetricsRegistry } from "@k8s-operator/k8s-operator/metrics";
   * const handler = new MetricsRegistry().handler();
   * const response = await handler(new Request("http://localhost/metrics"));
   * console.log(response.headers.get("content-type"));
   * ```
   */
  handler(): (request: Request) => Promise<Response> {
    return async (request) => {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new Response("Expected GET or HEAD\n", {
          status: 405,
          headers: { allow: "GET, HEAD" },
        });
      }
      const body = await this.render();
      return new Response(request.method === "HEAD" ? null : body, {
        headers: { "content-type": this.contentType },
      });
    };
  }
}
