/**
 * Controller metrics named as controller-runtime and client-go name them,
 * so existing dashboards and alerts fit. They are fed by the controller's
 * observer hooks: {@linkcode controllerMetrics} returns the three observers
 * to hand to `Controller.for`.
 *
 * @module
 */
import { Counter, Gauge, Histogram } from "prom-client";
import type {
  ControllerObserver,
  ReconcileEvent,
} from "../controller/controller.ts";
import type { EventRecorderObserver } from "../controller/events.ts";
import type { WatcherObserver } from "../controller/watcher.ts";
import type { WorkQueueObserver } from "../controller/work_queue.ts";
import { exponentialBuckets, family, promOf } from "./_families.ts";
import type { MetricsRegistry } from "./registry.ts";

/**
 * controller-runtime's buckets of `controller_runtime_reconcile_time_seconds`.
 *
 * @example Timing a step of your reconcile on the same scale
 * ```ts
 * import { MetricsRegistry, RECONCILE_TIME_BUCKETS } from "@k8s-operator/k8s-operator/metrics";
 * import { Histogram } from "prom-client";
 * const metrics = new MetricsRegistry();
 * const backupSeconds = new Histogram({
 *   name: "myop_backup_duration_seconds",
 *   help: "Time to take a backup.",
 *   buckets: [...RECONCILE_TIME_BUCKETS], // prom-client wants a mutable array
 *   registers: [],
 * });
 * metrics.register(backupSeconds);
 * const done = backupSeconds.startTimer();
 * // ... take the backup ...
 * done();
 * ```
 */
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
 * client-go's buckets of `workqueue_queue_duration_seconds` and
 * `workqueue_work_duration_seconds`: 10 ns to 1,000 s, times 10.
 *
 * @example Wait time of a queue of your own
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry, WORKQUEUE_BUCKETS } from "@k8s-operator/k8s-operator/metrics";
 * import { Histogram } from "prom-client";
 * const metrics = new MetricsRegistry();
 * const waitSeconds = new Histogram({
 *   name: "myop_job_queue_duration_seconds",
 *   help: "How long a job waits before a worker takes it.",
 *   labelNames: ["queue"],
 *   buckets: [...WORKQUEUE_BUCKETS],
 *   registers: [],
 * });
 * metrics.register(waitSeconds);
 * waitSeconds.observe({ queue: "backups" }, 0.042);
 * assert.equal(WORKQUEUE_BUCKETS[0], 1e-8);
 * assert.equal(WORKQUEUE_BUCKETS.at(-1), 1000);
 * ```
 */
export const WORKQUEUE_BUCKETS: readonly number[] = exponentialBuckets(
  1e-8,
  10,
  12,
);

/**
 * Options of {@linkcode controllerMetrics}.
 *
 * @example
 * ```ts
 * import { controllerMetrics, type ControllerMetricsOptions, MetricsRegistry } from "@k8s-operator/k8s-operator/metrics";
 * const registry = new MetricsRegistry();
 * const options: ControllerMetricsOptions = {
 *   registry,
 *   controller: "widgets",
 *   concurrency: 8, // the same value as the controller's `concurrency`
 * };
 * const hooks = controllerMetrics(options);
 * console.log(await registry.render()); // ...controller_runtime_max_concurrent_reconciles{controller="widgets"} 8...
 * ```
 */
export interface ControllerMetricsOptions {
  /** Where the metrics go. */
  registry: MetricsRegistry;
  /** The `controller` label, and the work queue's `name` label. */
  controller: string;
  /** The controller's `concurrency` (default 4), for `controller_runtime_max_concurrent_reconciles`. */
  concurrency?: number;
}

/**
 * The hooks to hand to `Controller.for` (see {@linkcode controllerMetrics}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Controller, type KubeClient, type LeaderGuard } from "@k8s-operator/k8s-operator/controller";
 * import { controllerMetrics, MetricsRegistry } from "@k8s-operator/k8s-operator/metrics";
 * const registry = new MetricsRegistry();
 * const hooks = controllerMetrics({ registry, controller: "configmaps" });
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const controllerFor = (client: KubeClient, guard: LeaderGuard) =>
 *   Controller.for(configMaps, {
 *     client,
 *     guard,
 *     observer: hooks.observer,
 *     queue: { observer: hooks.queue },
 *     watch: { observer: hooks.watch },
 *     events: { observer: hooks.events },
 *   });
 * hooks.queue.added?.("default/web", { depth: 1 }); // what the controller's queue reports
 * assert.match(await registry.render(), /workqueue_depth\{name="configmaps"\} 1/);
 * ```
 */
export interface ControllerMetricsHooks {
  /** For the `observer` option. */
  observer: ControllerObserver;
  /** For the `queue: { observer }` option. */
  queue: WorkQueueObserver<string>;
  /** For the `watch: { observer }` option. */
  watch: WatcherObserver;
  /** For the `events: { observer }` option. */
  events: EventRecorderObserver;
}

type Label =
  | "controller"
  | "name"
  | "result"
  | "resource"
  | "reason"
  | "type"
  | "outcome";

function counter<L extends Label>(
  registry: MetricsRegistry,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> {
  return family(
    registry,
    name,
    () =>
      new Counter({ name, help, labelNames, registers: [promOf(registry)] }),
  );
}

function gauge<L extends Label>(
  registry: MetricsRegistry,
  name: string,
  help: string,
  labelNames: L[],
): Gauge<L> {
  return family(
    registry,
    name,
    () => new Gauge({ name, help, labelNames, registers: [promOf(registry)] }),
  );
}

function histogram<L extends Label>(
  registry: MetricsRegistry,
  name: string,
  help: string,
  options: { labelNames: L[]; buckets: readonly number[] },
): Histogram<L> {
  return family(
    registry,
    name,
    () =>
      new Histogram({
        name,
        help,
        labelNames: options.labelNames,
        buckets: [...options.buckets],
        registers: [promOf(registry)],
      }),
  );
}

/**
 * Metrics of one controller, fed by its observer hooks. Several controllers
 * can share a registry; each gets its own `controller` label.
 *
 * - Reconciles: `controller_runtime_reconcile_total{controller, result}`
 *   (`success`, `error`, `requeue`, `requeue_after`, and `cancelled` for a
 *   reconcile cut short by lost leadership, which is not an error),
 *   `controller_runtime_reconcile_errors_total{controller}`,
 *   `controller_runtime_reconcile_time_seconds{controller}`,
 *   `controller_runtime_active_workers{controller}`,
 *   `controller_runtime_max_concurrent_reconciles{controller}`.
 * - Work queue (client-go's names): `workqueue_depth{name}`,
 *   `workqueue_adds_total{name}`, `workqueue_queue_duration_seconds{name}`,
 *   `workqueue_work_duration_seconds{name}`, `workqueue_retries_total{name}`.
 * - Watches: `k8s_operator_watch_restarts_total{controller, resource,
 *   reason}` (`closed`, `expired`, `idle`, `error`),
 *   `k8s_operator_watch_relists_total{controller, resource}` (full lists
 *   after the first, i.e. after 410 Gone),
 *   `k8s_operator_watch_list_duration_seconds{controller, resource}`.
 * - Leadership: `k8s_operator_controller_leading{controller}` (1 while this
 *   replica reconciles) and `k8s_operator_controller_term{controller}`.
 * - Events: `k8s_operator_events_total{controller, type, outcome}`
 *   (`created`, `updated`, `filtered` by the spam filter, `failed`: a write
 *   the API server refused or that never reached it; recording never fails
 *   the reconcile, so this is where failures show).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Controller, type KubeClient, type KubeObject, type LeaderGuard, type Reconciler, type ResourceType } from "@k8s-operator/k8s-operator/controller";
 * import { controllerMetrics, MetricsRegistry } from "@k8s-operator/k8s-operator/metrics";
 * const registry = new MetricsRegistry();
 * const hooks = controllerMetrics({ registry, controller: "widgets", concurrency: 8 });
 * assert.match(await registry.render(), /controller_runtime_max_concurrent_reconciles\{controller="widgets"\} 8/);
 * // Hand the hooks to the controller they count:
 * async function run(widgets: ResourceType, wiring: { client: KubeClient; guard: LeaderGuard; reconciler: Reconciler<KubeObject> }) {
 *   const { client, guard, reconciler } = wiring;
 *   await Controller.for(widgets, {
 *     client, guard, concurrency: 8,
 *     observer: hooks.observer,
 *     queue: { observer: hooks.queue },
 *     watch: { observer: hooks.watch },
 *     events: { observer: hooks.events },
 *   }).run(reconciler);
 * }
 * ```
 */
export function controllerMetrics(
  options: ControllerMetricsOptions,
): ControllerMetricsHooks {
  const r = options.registry;
  const controller = options.controller;
  const name = controller;
  const { total, errors, time, active, maxConcurrent } = reconcileFamilies(r);
  const { depth, adds, queueDuration, workDuration, retries } = queueFamilies(
    r,
  );
  const { restarts, relists, listDuration } = watchFamilies(r);
  const { leading, term } = leadershipFamilies(r);
  const events = eventFamily(r);
  for (const type of ["Normal", "Warning"]) {
    events.inc({ controller, type, outcome: "failed" }, 0);
  }
  errors.inc({ controller }, 0);
  active.set({ controller }, 0);
  maxConcurrent.set({ controller }, options.concurrency ?? 4);
  depth.set({ name }, 0);
  adds.inc({ name }, 0);
  retries.inc({ name }, 0);
  leading.set({ controller }, 0);
  return {
    observer: {
      reconciled(event: ReconcileEvent) {
        total.inc({ controller, result: event.outcome });
        time.observe({ controller }, event.durationMs / 1000);
        if (event.outcome === "error") errors.inc({ controller });
      },
      leadership(event) {
        leading.set({ controller }, event.leading ? 1 : 0);
        term.set({ controller }, event.term);
      },
    },
    queue: {
      added(_key, event) {
        adds.inc({ name });
        depth.set({ name }, event.depth);
      },
      taken(_key, event) {
        queueDuration.observe({ name }, event.waitMs / 1000);
        depth.set({ name }, event.depth);
        active.inc({ controller });
      },
      done(_key, event) {
        workDuration.observe({ name }, event.workMs / 1000);
        active.dec({ controller });
      },
      cleared() {
        depth.set({ name }, 0);
      },
      retried() {
        retries.inc({ name });
      },
    },
    watch: {
      listed(event) {
        const labels = { controller, resource: event.resource };
        listDuration.observe(labels, event.durationMs / 1000);
        if (event.relist) relists.inc(labels);
      },
      restarted(event) {
        restarts.inc({
          controller,
          resource: event.resource,
          reason: event.reason,
        });
      },
    },
    events: {
      recorded(event) {
        events.inc({ controller, type: event.type, outcome: event.outcome });
      },
    },
  };
}

/** controller-runtime's reconcile metrics, registered once per registry. */
function reconcileFamilies(r: MetricsRegistry) {
  const total = counter(
    r,
    "controller_runtime_reconcile_total",
    "Total number of reconciliations per controller",
    ["controller", "result"],
  );
  const errors = counter(
    r,
    "controller_runtime_reconcile_errors_total",
    "Total number of reconciliation errors per controller",
    ["controller"],
  );
  const time = histogram(
    r,
    "controller_runtime_reconcile_time_seconds",
    "Length of time per reconciliation per controller",
    { labelNames: ["controller"], buckets: RECONCILE_TIME_BUCKETS },
  );
  const active = gauge(
    r,
    "controller_runtime_active_workers",
    "Number of currently used workers per controller",
    ["controller"],
  );
  const maxConcurrent = gauge(
    r,
    "controller_runtime_max_concurrent_reconciles",
    "Maximum number of concurrent reconciles per controller",
    ["controller"],
  );
  return { total, errors, time, active, maxConcurrent };
}

/** client-go's work queue metrics. */
function queueFamilies(r: MetricsRegistry) {
  const depth = gauge(r, "workqueue_depth", "Current depth of workqueue", [
    "name",
  ]);
  const adds = counter(
    r,
    "workqueue_adds_total",
    "Total number of adds handled by workqueue",
    ["name"],
  );
  const queueDuration = histogram(
    r,
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested",
    { labelNames: ["name"], buckets: WORKQUEUE_BUCKETS },
  );
  const workDuration = histogram(
    r,
    "workqueue_work_duration_seconds",
    "How long in seconds processing an item from workqueue takes",
    { labelNames: ["name"], buckets: WORKQUEUE_BUCKETS },
  );
  const retries = counter(
    r,
    "workqueue_retries_total",
    "Total number of retries handled by workqueue",
    ["name"],
  );
  return { depth, adds, queueDuration, workDuration, retries };
}

/** The watch metrics: restarts by reason, relists, list durations. */
function watchFamilies(r: MetricsRegistry) {
  const restarts = counter(
    r,
    "k8s_operator_watch_restarts_total",
    "Watches started again, by reason (closed, expired, idle, error)",
    ["controller", "resource", "reason"],
  );
  const relists = counter(
    r,
    "k8s_operator_watch_relists_total",
    "Full lists after the first one (after 410 Gone)",
    ["controller", "resource"],
  );
  const listDuration = histogram(
    r,
    "k8s_operator_watch_list_duration_seconds",
    "How long a full list took",
    { labelNames: ["controller", "resource"], buckets: RECONCILE_TIME_BUCKETS },
  );
  return { restarts, relists, listDuration };
}

/** Whether the controller leads, and in which term. */
function leadershipFamilies(r: MetricsRegistry) {
  const leading = gauge(
    r,
    "k8s_operator_controller_leading",
    "1 while this replica's controller reconciles (leads)",
    ["controller"],
  );
  const term = gauge(
    r,
    "k8s_operator_controller_term",
    "The leadership term the controller last started or stopped in",
    ["controller"],
  );
  return { leading, term };
}

/** Event writes by outcome. */
function eventFamily(r: MetricsRegistry) {
  return counter(
    r,
    "k8s_operator_events_total",
    "Event writes by outcome (created, updated, filtered by the spam filter, failed)",
    ["controller", "type", "outcome"],
  );
}
