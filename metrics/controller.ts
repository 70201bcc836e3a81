/**
 * Controller metrics named as controller-runtime names them, so existing
 * dashboards and alerts fit: `controller_runtime_reconcile_total{controller,
 * result}`, `controller_runtime_reconcile_errors_total`,
 * `controller_runtime_reconcile_time_seconds`,
 * `controller_runtime_active_workers`, `workqueue_depth{name}`; plus the
 * structured reconcile log line (key and term on every line).
 *
 * @module
 */
import { Counter, Gauge, Histogram } from "prom-client";
import type { Controller } from "../controller/controller.ts";
import type { KubeObject } from "../controller/client.ts";
import { type Logger, silentLogger } from "../controller/log.ts";
import type {
  Context,
  Reconciler,
  ReconcileResult,
} from "../controller/reconciler.ts";
import { family, promOf } from "./_families.ts";
import type { MetricsRegistry } from "./registry.ts";

/** controller-runtime's buckets of `controller_runtime_reconcile_time_seconds`. */
export const RECONCILE_TIME_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.15,
  0.2,
  0.25,
  0.3,
  0.35,
  0.4,
  0.45,
  0.5,
  0.6,
  0.7,
  0.8,
  0.9,
  1,
  1.25,
  1.5,
  1.75,
  2,
  2.5,
  3,
  3.5,
  4,
  4.5,
  5,
  6,
  7,
  8,
  9,
  10,
  15,
  20,
  25,
  30,
  40,
  50,
  60,
];

/**
 * The `result` label of `controller_runtime_reconcile_total`: controller-
 * runtime's four, plus `cancelled` for a reconcile cut short by loss of
 * leadership or shutdown (not an error: it runs again in the next term).
 */
export type ReconcileOutcome =
  | "success"
  | "error"
  | "requeue"
  | "requeue_after"
  | "cancelled";

/** Options of {@linkcode instrumentReconciler}. */
export interface InstrumentReconcilerOptions {
  /** Where the metrics go. */
  registry: MetricsRegistry;
  /** The `controller` label (for instance the resource's plural). */
  controller: string;
  /**
   * Gets one line per reconcile: `debug` "reconciled" on success,
   * `error` "reconcile failed" on a throw, each with `controller`, `key`,
   * `term`, `result` and `durationMs`.
   */
  logger?: Logger;
  /** A monotonic clock in milliseconds (default `performance.now`). */
  now?: () => number;
}

interface ReconcileFamilies {
  total: Counter<"controller" | "result">;
  errors: Counter<"controller">;
  time: Histogram<"controller">;
}

function reconcileFamilies(registry: MetricsRegistry): ReconcileFamilies {
  const registers = [promOf(registry)];
  return {
    total: family(
      registry,
      "controller_runtime_reconcile_total",
      () =>
        new Counter({
          name: "controller_runtime_reconcile_total",
          help: "Total number of reconciliations per controller",
          labelNames: ["controller", "result"] as const,
          registers,
        }),
    ),
    errors: family(
      registry,
      "controller_runtime_reconcile_errors_total",
      () =>
        new Counter({
          name: "controller_runtime_reconcile_errors_total",
          help: "Total number of reconciliation errors per controller",
          labelNames: ["controller"] as const,
          registers,
        }),
    ),
    time: family(
      registry,
      "controller_runtime_reconcile_time_seconds",
      () =>
        new Histogram({
          name: "controller_runtime_reconcile_time_seconds",
          help: "Length of time per reconciliation per controller",
          labelNames: ["controller"] as const,
          buckets: [...RECONCILE_TIME_BUCKETS],
          registers,
        }),
    ),
  };
}

function outcomeOf(result: ReconcileResult): ReconcileOutcome {
  switch (result.action.kind) {
    case "done":
      return "success";
    case "requeue":
      return "requeue";
    case "requeueAfter":
      return "requeue_after";
  }
}

/**
 * Wraps `reconciler` so every reconcile (and cleanup) is counted by result,
 * timed, and logged with its key and term. The reconciler's behaviour is
 * unchanged: results and errors pass through.
 *
 * @example
 * ```ts ignore
 * import { instrumentReconciler, MetricsRegistry } from "@k8s-operator/k8s-operator/metrics";
 * import { jsonLogger } from "@k8s-operator/k8s-operator/controller";
 * const metrics = new MetricsRegistry();
 * await Controller.for(widgets, { client, guard }).run(
 *   instrumentReconciler(reconciler, { registry: metrics, controller: "widgets", logger: jsonLogger() }),
 * );
 * ```
 */
export function instrumentReconciler<T extends KubeObject>(
  reconciler: Reconciler<T>,
  options: InstrumentReconcilerOptions,
): Reconciler<T> {
  const families = reconcileFamilies(options.registry);
  const controller = options.controller;
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? (() => performance.now());
  families.errors.inc({ controller }, 0);
  const timed =
    (fn: (object: T, ctx: Context) => Promise<ReconcileResult>) =>
    async (object: T, ctx: Context): Promise<ReconcileResult> => {
      const started = now();
      const fields = (result: ReconcileOutcome) => ({
        controller,
        key: ctx.key,
        term: ctx.term,
        result,
        durationMs: Math.round((now() - started) * 1000) / 1000,
      });
      let result: ReconcileResult;
      try {
        result = await fn(object, ctx);
      } catch (error) {
        const outcome: ReconcileOutcome = ctx.signal.aborted
          ? "cancelled"
          : "error";
        families.time.observe({ controller }, (now() - started) / 1000);
        families.total.inc({ controller, result: outcome });
        if (outcome === "error") {
          families.errors.inc({ controller });
          logger.error("reconcile failed", { ...fields(outcome), error });
        } else {
          logger.debug?.("reconcile cancelled", fields(outcome));
        }
        throw error;
      }
      const outcome = outcomeOf(result);
      families.time.observe({ controller }, (now() - started) / 1000);
      families.total.inc({ controller, result: outcome });
      logger.debug?.("reconciled", fields(outcome));
      return result;
    };
  const cleanup = reconciler.cleanup;
  return {
    reconcile: timed((object, ctx) => reconciler.reconcile(object, ctx)),
    ...(cleanup
      ? {
        cleanup: timed((object, ctx) => cleanup.call(reconciler, object, ctx)),
      }
      : {}),
  };
}

/** Options of {@linkcode observeController}. */
export interface ObserveControllerOptions {
  /** Where the metrics go. */
  registry: MetricsRegistry;
  /** The `controller` and work queue `name` label. */
  controller: string;
  /** How many keys reconcile at once (the controller's `concurrency`, default 4). */
  concurrency?: number;
}

interface Source {
  controller: string;
  queue: { length: number; processing: number };
  concurrency: number;
}

const sources = new WeakMap<MetricsRegistry, Set<Source>>();

/**
 * Reads a controller's work queue at every scrape: `workqueue_depth{name}`,
 * `controller_runtime_active_workers{controller}` and
 * `controller_runtime_max_concurrent_reconciles{controller}`. Returns a
 * function that stops observing.
 *
 * @example
 * ```ts ignore
 * import { MetricsRegistry, observeController } from "@k8s-operator/k8s-operator/metrics";
 * const controller = Controller.for(widgets, { client, guard, concurrency: 8 });
 * const stop = observeController(controller, { registry: new MetricsRegistry(), controller: "widgets", concurrency: 8 });
 * ```
 */
export function observeController<T extends KubeObject>(
  controller: Controller<T>,
  options: ObserveControllerOptions,
): () => void {
  const registry = options.registry;
  let set = sources.get(registry);
  if (set === undefined) {
    const all = new Set<Source>();
    set = all;
    sources.set(registry, all);
    const registers = [promOf(registry)];
    const gauge = (
      name: string,
      help: string,
      label: "name" | "controller",
      read: (source: Source) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers,
        collect() {
          this.reset();
          for (const source of all) {
            this.set({ [label]: source.controller }, read(source));
          }
        },
      });
    gauge(
      "workqueue_depth",
      "Current depth of workqueue",
      "name",
      (s) => s.queue.length,
    );
    gauge(
      "controller_runtime_active_workers",
      "Number of currently used workers per controller",
      "controller",
      (s) => s.queue.processing,
    );
    gauge(
      "controller_runtime_max_concurrent_reconciles",
      "Maximum number of concurrent reconciles per controller",
      "controller",
      (s) => s.concurrency,
    );
  }
  const source: Source = {
    controller: options.controller,
    queue: controller.queue,
    concurrency: options.concurrency ?? 4,
  };
  set.add(source);
  return () => {
    set.delete(source);
  };
}
