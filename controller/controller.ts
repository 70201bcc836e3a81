/**
 * The Controller: watches a primary resource (and owned or related ones),
 * keeps warm caches on every replica, and runs a {@linkcode Reconciler}
 * through a work queue on the leader only. Losing leadership aborts the
 * reconciles in flight (their `ctx.signal` and fenced client); winning it
 * queues every cached object at once, so a new leader starts within
 * milliseconds.
 *
 * @module
 */
import { objectKey, Reflector, type StoreEvent } from "./cache.ts";
import {
  apiVersionOf,
  FencedError,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from "./client.ts";
import { type Clock, systemClock } from "./clock.ts";
import { EventRecorder, type EventRecorderOptions } from "./events.ts";
import { withFinalizer } from "./finalizers.ts";
import type { LeaderGuard } from "./leader_election.ts";
import { type Logger, silentLogger } from "./log.ts";
import type { Context, Reconciler, ReconcileResult } from "./reconciler.ts";
import type { WatcherOptions } from "./watcher.ts";
import { WorkQueue, type WorkQueueOptions } from "./work_queue.ts";

/**
 * Which object a related object's change should reconcile.
 *
 * @example Reconciling the Widget a Secret names
 * ```ts
 * import type { KubeObject } from "./client.ts";
 * import type { Controller, ObjectRef } from "./controller.ts";
 * declare const controller: Controller<KubeObject>;
 * const secrets = { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true };
 * controller.watches(secrets, (secret: KubeObject): ObjectRef[] => {
 *   const widget = secret.metadata.annotations?.["example.com/widget"];
 *   return widget ? [{ name: widget, namespace: secret.metadata.namespace }] : [];
 * });
 * ```
 */
export interface ObjectRef {
  /** Name of the primary object. */
  name: string;
  /** Its namespace (omit for cluster-scoped primaries). */
  namespace?: string;
}

/**
 * How a reconcile ended: `success` (done), `requeue`, `requeue_after`,
 * `error` (it threw; retried after the key's backoff) or `cancelled`
 * (leadership was lost or the controller stopped while it ran; it runs
 * again in the next term). The names are controller-runtime's `result`
 * labels plus `cancelled`.
 *
 * @example
 * ```ts
 * import type { ControllerObserver, ReconcileOutcome } from "./controller.ts";
 * const counts: Record<ReconcileOutcome, number> = {
 *   success: 0,
 *   requeue: 0,
 *   requeue_after: 0,
 *   error: 0,
 *   cancelled: 0,
 * };
 * const observer: ControllerObserver = {
 *   reconciled: ({ outcome }) => {
 *     counts[outcome]++;
 *   },
 * };
 * ```
 */
export type ReconcileOutcome =
  | "success"
  | "requeue"
  | "requeue_after"
  | "error"
  | "cancelled";

/**
 * One finished reconcile, as a {@linkcode ControllerObserver} sees it.
 *
 * @example Logging failed and slow reconciles
 * ```ts
 * import type { ControllerObserver, ReconcileEvent } from "./controller.ts";
 * function onReconciled(event: ReconcileEvent): void {
 *   if (event.outcome === "error") {
 *     console.error(`${event.key} failed, retry in ${event.retryInMs} ms`, event.error);
 *   } else if (event.durationMs > 1_000) {
 *     console.warn(`${event.key} took ${event.durationMs} ms in term ${event.term}`);
 *   }
 * }
 * const observer: ControllerObserver = { reconciled: onReconciled };
 * ```
 */
export interface ReconcileEvent {
  /** The object's key, `namespace/name` (or `name`). */
  key: string;
  /** The leadership term it ran in. */
  term: number;
  /** How it ended. */
  outcome: ReconcileOutcome;
  /** How long the reconcile (or cleanup) took, in milliseconds. */
  durationMs: number;
  /** When it runs again, if scheduled: backoff, `requeueAfter`, retry. */
  retryInMs?: number;
  /** What it threw, for `error`. */
  error?: unknown;
}

/**
 * Hooks a {@linkcode Controller} calls, for metrics and tracing. Every
 * method is optional; times come from the controller's clock. A hook must
 * not throw. Queue and watch hooks are set through
 * `queue.observer` ({@linkcode WorkQueueObserver}) and `watch.observer`
 * ({@linkcode WatcherObserver}).
 *
 * @example
 * ```ts
 * import type { ControllerObserver } from "./controller.ts";
 * const totals = new Map<string, number>();
 * const observer: ControllerObserver = {
 *   reconciled: (e) => totals.set(e.outcome, (totals.get(e.outcome) ?? 0) + 1),
 *   leadership: (e) => console.log(e.leading ? "leading" : "not leading", e.term),
 * };
 * ```
 */
export interface ControllerObserver {
  /** A reconcile (or cleanup) ended. */
  reconciled?(event: ReconcileEvent): void;
  /** This replica started (`leading: true`) or stopped reconciling in `term`. */
  leadership?(event: { leading: boolean; term: number }): void;
}

/**
 * Options of {@linkcode Controller.for}.
 *
 * @example
 * ```ts
 * import type { KubeClient, KubeObject } from "./client.ts";
 * import { Controller, type ControllerOptions, generationChanged } from "./controller.ts";
 * import { LeaderElection } from "./leader_election.ts";
 * declare const client: KubeClient;
 * const widgets = { group: "example.com", version: "v1", plural: "widgets", kind: "Widget", namespaced: true };
 * const options: ControllerOptions<KubeObject> = {
 *   client,
 *   guard: new LeaderElection(0).guard(),
 *   concurrency: 8,
 *   predicate: generationChanged,
 *   queue: { baseDelayMs: 100, maxDelayMs: 60_000, qps: 20, burst: 200 },
 *   watch: { pageSize: 250, backoffBaseMs: 1_000, backoffMaxMs: 60_000 },
 * };
 * const controller = Controller.for(widgets, options);
 * ```
 */
export interface ControllerOptions<T extends KubeObject> {
  /** The client to watch with and to hand to reconciles (fenced). */
  client: KubeClient;
  /** Leadership: reconciles run only while it leads. */
  guard: LeaderGuard;
  /** Watch one namespace only (default: all). */
  namespace?: string;
  /** Only primaries matching this label selector. */
  labelSelector?: string;
  /** How many keys reconcile at once (default 4). */
  concurrency?: number;
  /** The finalizer under which `cleanup` runs (required with `cleanup`). */
  finalizer?: string;
  /** The component name events are reported as (default `k8s-operator`). */
  component?: string;
  /**
   * How `ctx.recorder` writes Events: which API (`v1` by default, or
   * `events.k8s.io/v1`) and the reporting instance (e.g. the pod name).
   */
  events?: Pick<EventRecorderOptions, "api" | "instance">;
  /**
   * Which primary changes queue a reconcile (default: all). For instance
   * {@linkcode generationChanged} ignores status-only updates.
   */
  predicate?: (object: T, old: T | undefined) => boolean;
  /** Work queue settings (backoff, rate limit). */
  queue?: Omit<WorkQueueOptions<string>, "clock">;
  /** Watch settings for every watched resource. */
  watch?: Pick<
    WatcherOptions,
    | "pageSize"
    | "timeoutSeconds"
    | "idleTimeoutMs"
    | "backoffBaseMs"
    | "backoffMaxMs"
    | "random"
    | "observer"
  >;
  /** Time source for the queue and the watchers (default the system clock). */
  clock?: Clock;
  /**
   * Where log lines go: every reconcile at `debug` ("reconciled",
   * "reconcile cancelled") and failures at `error` ("reconcile failed"),
   * each with `key`, `term`, `result` and `durationMs`; leadership changes
   * at `info`; watch trouble at `warn`.
   */
  logger?: Logger;
  /** Metrics hooks (default none). */
  observer?: ControllerObserver;
}

/**
 * Options of {@linkcode Controller.run}.
 *
 * @example
 * ```ts
 * import type { KubeObject } from "./client.ts";
 * import type { Controller, RunOptions } from "./controller.ts";
 * import { ReconcileResult } from "./reconciler.ts";
 * declare const controller: Controller<KubeObject>;
 * const stop = new AbortController(); // abort it on SIGTERM
 * const options: RunOptions = { signal: stop.signal };
 * await controller.run({ reconcile: () => Promise.resolve(ReconcileResult.done()) }, options);
 * // resolved: watches ended, reconciles in flight were aborted
 * ```
 */
export interface RunOptions {
  /** Stops the controller: watches end, reconciles are aborted. */
  signal?: AbortSignal;
}

/**
 * Counters a controller keeps.
 *
 * @example
 * ```ts
 * import type { KubeObject } from "./client.ts";
 * import type { Controller, ControllerMetrics } from "./controller.ts";
 * declare const controller: Controller<KubeObject>;
 * function failureRatio(m: ControllerMetrics): number {
 *   const total = m.reconciles + m.failures;
 *   return total === 0 ? 0 : m.failures / total;
 * }
 * console.log(failureRatio(controller.metrics), controller.metrics.cancelled);
 * ```
 */
export interface ControllerMetrics {
  /** Reconciles that returned. */
  reconciles: number;
  /** Reconciles that threw. */
  failures: number;
  /** Reconciles cancelled by loss of leadership or shutdown. */
  cancelled: number;
}

/**
 * Queues only when `metadata.generation` changed (or on creation): status
 * writes do not trigger another reconcile.
 *
 * @example
 * ```ts ignore
 * Controller.for(widgets, { client, guard, predicate: generationChanged });
 * ```
 */
export function generationChanged(
  object: KubeObject,
  old: KubeObject | undefined,
): boolean {
  return old === undefined ||
    object.metadata.generation !== old.metadata.generation ||
    object.metadata.deletionTimestamp !== old.metadata.deletionTimestamp;
}

interface Related {
  resource: ResourceType;
  map: (object: KubeObject) => ObjectRef[];
}

/**
 * A controller for one primary resource.
 *
 * @example
 * ```ts ignore
 * import { Controller, ReconcileResult } from "@k8s-operator/k8s-operator/controller";
 * await Controller.for(widgets, { client, guard: election.guard(), finalizer: "example.com/cleanup" })
 *   .owns(configMaps)
 *   .run({
 *     async reconcile(widget, ctx) {
 *       return ReconcileResult.done();
 *     },
 *     async cleanup(widget, ctx) {
 *       return ReconcileResult.done();
 *     },
 *   }, { signal });
 * ```
 */
export class Controller<T extends KubeObject> {
  /** The primary resource. */
  readonly resource: ResourceType;
  /** The primary cache (warm on every replica). */
  readonly reflector: Reflector<T>;
  /** The work queue of primary keys. */
  readonly queue: WorkQueue<string>;
  /** Counters. */
  readonly metrics: ControllerMetrics = {
    reconciles: 0,
    failures: 0,
    cancelled: 0,
  };
  readonly #options: ControllerOptions<T>;
  readonly #related: Related[] = [];
  readonly #logger: Logger;
  readonly #clock: Clock;

  private constructor(resource: ResourceType, options: ControllerOptions<T>) {
    this.resource = resource;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
    this.queue = new WorkQueue<string>({
      ...options.queue,
      clock: this.#clock,
    });
    this.reflector = new Reflector<T>(this.#watchOptions(resource, {
      namespace: options.namespace,
      labelSelector: options.labelSelector,
    }));
  }

  /** A controller of `resource`. */
  static for<T extends KubeObject>(
    resource: ResourceType,
    options: ControllerOptions<T>,
  ): Controller<T> {
    return new Controller<T>(resource, options);
  }

  /**
   * Also watch `child`; a change to a child reconciles the primary named by
   * its controller ownerReference.
   */
  owns(child: ResourceType): this {
    const apiVersion = apiVersionOf(this.resource);
    const group = this.resource.group;
    const kind = this.resource.kind;
    this.#related.push({
      resource: child,
      map: (object) => {
        const refs: ObjectRef[] = [];
        for (const owner of object.metadata.ownerReferences ?? []) {
          if (owner.controller !== true || owner.kind !== kind) continue;
          const ownerGroup = owner.apiVersion.includes("/")
            ? owner.apiVersion.split("/")[0]
            : "";
          if (ownerGroup !== group && owner.apiVersion !== apiVersion) continue;
          refs.push(
            this.resource.namespaced
              ? { name: owner.name, namespace: object.metadata.namespace }
              : { name: owner.name },
          );
        }
        return refs;
      },
    });
    return this;
  }

  /** Also watch `resource`; `mapper` names the primaries a change affects. */
  watches<U extends KubeObject>(
    resource: ResourceType,
    mapper: (object: U) => ObjectRef[],
  ): this {
    this.#related.push({
      resource,
      map: mapper as (object: KubeObject) => ObjectRef[],
    });
    return this;
  }

  /**
   * Watches until `signal` aborts; reconciles whenever the guard leads.
   * Resolves once stopped.
   */
  async run(
    reconciler: Reconciler<T>,
    options: RunOptions = {},
  ): Promise<void> {
    if (reconciler.cleanup && !this.#options.finalizer) {
      throw new TypeError(
        "Expected a finalizer name in the options of a reconciler with cleanup, found none",
      );
    }
    const stop = options.signal ?? new AbortController().signal;
    const internal = new AbortController();
    const stopAll = AbortSignal.any([stop, internal.signal]);
    const predicate = this.#options.predicate;
    this.reflector.subscribe((event: StoreEvent<T>) => {
      if (
        event.type === "apply" && predicate &&
        !predicate(event.object, event.old)
      ) {
        return;
      }
      this.queue.add(objectKey(event.object));
    });
    const runs: Promise<void>[] = [this.#runReflector(this.reflector, stopAll)];
    for (const related of this.#related) {
      const reflector = new Reflector<KubeObject>(
        this.#watchOptions(related.resource, {
          namespace: this.#options.namespace,
        }),
      );
      reflector.subscribe((event) => {
        for (const ref of related.map(event.object)) {
          this.queue.add(
            ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name,
          );
        }
      });
      runs.push(this.#runReflector(reflector, stopAll));
    }
    try {
      await this.#lead(reconciler, stopAll);
    } finally {
      internal.abort();
      this.queue.shutDown();
      await Promise.allSettled(runs);
    }
  }

  async #lead(reconciler: Reconciler<T>, stop: AbortSignal): Promise<void> {
    const guard = this.#options.guard;
    // Workers of a lost term may still be finishing a reconcile that ignores
    // its signal; the next term does not wait for them (the queue keeps
    // their keys from running twice), only shutdown does.
    const running = new Set<Promise<void>>();
    try {
      while (!stop.aborted) {
        let term: number;
        try {
          term = await guard.waitForLeadership({ signal: stop });
        } catch {
          return;
        }
        const termSignal = guard.signal;
        if (termSignal.aborted) continue;
        const signal = AbortSignal.any([termSignal, stop]);
        const ended = aborted(signal);
        this.#logger.info("leading, starting reconciles", { term });
        this.#options.observer?.leadership?.({ leading: true, term });
        const synced = await Promise.race([
          this.reflector.synced.then(() => true),
          ended.then(() => false),
        ]);
        if (!synced) continue;
        for (const key of this.reflector.store.keys()) this.queue.add(key);
        // The signal aborts when a timer notices the end of leadership; a
        // stalled event loop can delay that timer past the lease. The check
        // compares the lease with the clock at each send instead.
        const client = this.#options.client.fenced(signal, {
          check: () => {
            const now = guard.check();
            if (now !== term) {
              throw new FencedError(
                `Expected to lead term ${term} to send, found term ${now}`,
              );
            }
          },
        });
        const recorder = new EventRecorder(
          client,
          this.#options.component ?? "k8s-operator",
          this.#options.events,
        );
        for (let i = 0; i < (this.#options.concurrency ?? 4); i++) {
          const worker = this.#work(reconciler, {
            client,
            recorder,
            signal,
            guard,
            term,
          });
          running.add(worker);
          const forget = () => running.delete(worker);
          worker.then(forget, forget);
        }
        await ended;
        this.#logger.info("stopped leading, reconciles cancelled", { term });
        this.#options.observer?.leadership?.({ leading: false, term });
      }
    } finally {
      await Promise.allSettled(running);
    }
  }

  async #work(
    reconciler: Reconciler<T>,
    base: Omit<Context, "key">,
  ): Promise<void> {
    const { signal } = base;
    while (!signal.aborted) {
      const key = await this.queue.get(signal);
      if (key === undefined) return;
      try {
        await this.#reconcileKey(key, reconciler, { ...base, key });
      } finally {
        this.queue.done(key);
      }
    }
  }

  async #reconcileKey(
    key: string,
    reconciler: Reconciler<T>,
    ctx: Context,
  ): Promise<void> {
    const object = this.reflector.store.get(key);
    if (!object) {
      this.queue.forget(key);
      return;
    }
    const started = this.#clock.now();
    const report = (
      outcome: ReconcileOutcome,
      more: { retryInMs?: number; error?: unknown } = {},
    ) => {
      const event: ReconcileEvent = {
        key,
        term: ctx.term,
        outcome,
        durationMs: this.#clock.now() - started,
        ...more,
      };
      this.#options.observer?.reconciled?.(event);
      const fields = {
        key,
        term: ctx.term,
        result: outcome,
        durationMs: Math.round(event.durationMs * 1000) / 1000,
        ...(more.retryInMs === undefined
          ? {}
          : { retryInMs: Math.round(more.retryInMs) }),
      };
      if (outcome === "error") {
        this.#logger.error("reconcile failed", {
          ...fields,
          error: more.error,
        });
      } else if (outcome === "cancelled") {
        this.#logger.debug?.("reconcile cancelled", fields);
      } else {
        this.#logger.debug?.("reconciled", fields);
      }
    };
    let result: ReconcileResult;
    try {
      result = reconciler.cleanup && this.#options.finalizer
        ? await withFinalizer(object, {
          client: ctx.client,
          resource: this.resource,
          finalizer: this.#options.finalizer,
          signal: ctx.signal,
          apply: (o) => reconciler.reconcile(o, ctx),
          cleanup: (o) => reconciler.cleanup!(o, ctx),
        })
        : await reconciler.reconcile(object, ctx);
    } catch (error) {
      if (ctx.signal.aborted) {
        this.metrics.cancelled++;
        this.queue.add(key);
        report("cancelled");
        return;
      }
      this.metrics.failures++;
      const retryInMs = this.queue.addRateLimited(key);
      report("error", { retryInMs, error });
      return;
    }
    this.metrics.reconciles++;
    if (ctx.signal.aborted) {
      this.queue.add(key);
      report("cancelled");
      return;
    }
    const action = result.action;
    if (action.kind === "requeue") {
      report("requeue", { retryInMs: this.queue.addRateLimited(key) });
    } else {
      this.queue.forget(key);
      if (action.kind === "requeueAfter") {
        this.queue.addAfter(key, action.delayMs);
        report("requeue_after", { retryInMs: action.delayMs });
      } else {
        report("success");
      }
    }
  }

  async #runReflector(
    reflector: Reflector<KubeObject> | Reflector<T>,
    stop: AbortSignal,
  ): Promise<void> {
    try {
      await reflector.run(stop);
    } catch (error) {
      if (!stop.aborted) {
        this.#logger.error("watch loop ended unexpectedly", { error });
        throw error;
      }
    }
  }

  #watchOptions(
    resource: ResourceType,
    selection: { namespace?: string; labelSelector?: string },
  ): WatcherOptions {
    return {
      ...this.#options.watch,
      ...selection,
      client: this.#options.client,
      resource,
      clock: this.#options.clock,
      logger: this.#options.logger,
    };
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
