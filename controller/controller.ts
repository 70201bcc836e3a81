/**
 * The Controller: watches a primary resource (and owned or related ones),
 * keeps warm caches on every replica, and runs a {@linkcode Reconciler}
 * through a work queue on the leader only. Losing leadership aborts the
 * reconciles in flight (their `ctx.signal` and fenced client); winning it
 * queues every cached object at once (those that changed recently while it
 * followed first, the others behind every change), so a new leader starts
 * within milliseconds.
 *
 * @module
 */
import { objectKey, Reflector, type StoreEvent } from "./cache.ts";
import { FencedError } from "../client/errors.ts";
import { aborted, retryAfterMs } from "./_run_support.ts";
import { runSharded } from "./_sharded.ts";
import { ChangedKeys, queueTakeover } from "./_changed_keys.ts";
export { generationChanged } from "./predicates.ts";
import type { ShardGate } from "./shard_gate.ts";
import type { KubeClient } from "../client/kube_client.ts";
import {
  apiVersionOf,
  type KubeObject,
  type ResourceType,
} from "../client/objects.ts";
import { type Clock, systemClock, type TimerHandle } from "../common/clock.ts";
import { EventRecorder, type EventRecorderOptions } from "./events.ts";
import { deepFreeze } from "./_freeze.ts";
import { safeObserver } from "./_safe_observer.ts";
import { withFinalizer } from "./finalizers.ts";
import type { LeaderGuard } from "./leader_election.ts";
import { type Logger, silentLogger } from "../common/log.ts";
import type { Context, Reconciler, ReconcileResult } from "./reconciler.ts";
import type { WatcherOptions } from "./watcher.ts";
import type { WorkQueue, WorkQueueOptions } from "./work_queue.ts";
import { turningQueue } from "./_event_loop_turns.ts";

/**
 * Which object a related object's change should reconcile.
 *
 * @example Reconciling the Widget a Secret names
 * ```ts
 * import assert from "node:assert/strict";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * import { KubeClient, type KubeObject } from "@k8s-operator/k8s-operator/controller";
 * import { Controller, type ObjectRef } from "@k8s-operator/k8s-operator/controller";
 * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
 * const widgets = { group: "example.com", version: "v1", plural: "widgets", kind: "Widget", namespaced: true };
 * const secrets = { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true };
 * const toWidget = (secret: KubeObject): ObjectRef[] => {
 *   const widget = secret.metadata.annotations?.["example.com/widget"];
 *   return widget ? [{ name: widget, namespace: secret.metadata.namespace }] : [];
 * };
 * await using server = await TestApiServer.start(); // in a pod: loadKubeConfig()
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const controller = Controller.for(widgets, { client, guard: new LeaderElection(0).guard() })
 *   .watches(secrets, toWidget); // a changed Secret reconciles the Widget it names
 * assert.deepEqual(toWidget({ metadata: { namespace: "ops", annotations: { "example.com/widget": "web" } } }), [{ name: "web", namespace: "ops" }]);
 * assert.ok(controller);
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
 * import assert from "node:assert/strict";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * import { KubeClient, type KubeObject } from "@k8s-operator/k8s-operator/controller";
 * import { Controller, type ControllerOptions, generationChanged } from "@k8s-operator/k8s-operator/controller";
 * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
 * await using server = await TestApiServer.start(); // in a pod: loadKubeConfig()
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
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
 * assert.equal(controller.resource, widgets);
 * ```
 */
export interface ControllerOptions<T extends KubeObject> {
  /** The client to watch with and to hand to reconciles (fenced). */
  client: KubeClient;
  /**
   * Leadership: reconciles run only while it leads. With `shards`, a
   * sharded controller does not wait for it; its reconciles carry its term
   * (`ctx.term`) for information only.
   */
  guard: LeaderGuard;
  /**
   * Shard this controller (default: leader-only): every replica reconciles
   * the objects of the shards whose grant it holds, and only those; each
   * write checks the grant before it leaves, and `ctx.signal` aborts when
   * the grant ends. The Operator passes its runtime for
   * `.controller(resource, reconciler, { sharded: true })`; see
   * "Sharded controllers" in `controller/README.md`.
   */
  shards?: ShardGate;
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
   * `events.k8s.io/v1`), the reporting instance (e.g. the pod name), the
   * spam filter and similar-event combining, and the metrics hooks (for
   * failed writes among others). Failed writes are logged at `warn` on the
   * controller's logger.
   */
  events?: Pick<
    EventRecorderOptions,
    "api" | "instance" | "spam" | "aggregate" | "observer"
  >;
  /**
   * Re-queue every cached primary key this often, in milliseconds (a
   * resync, as controller-runtime's `SyncPeriod`; default: never). Keys
   * already queued or being reconciled are not queued twice; keys waiting
   * out a backoff or a `requeueAfter` run now. Every relist (after 410
   * Gone) re-queues them this way too.
   */
  resyncMs?: number;
  /**
   * Which primary changes queue a reconcile, or are noted for a takeover
   * (default: all). {@linkcode generationChanged} ignores status writes.
   */
  predicate?: (object: T, old: T | undefined) => boolean;
  /**
   * A takeover (a new term, or a shard acquired) reconciles first the
   * objects whose latest change, seen while another replica reconciled
   * them, is at most this many milliseconds old: changes the previous
   * leader or owner may not have handled. Older changes (the previous
   * owner's own status writes among them) go with the unchanged objects.
   * Default 10000: a takeover up to 5 s after the previous one stopped,
   * plus 5 s for changes it had seen but not reached; the Operator sets it
   * from its timing (see "How it behaves" in `controller/README.md`).
   */
  changedWithinMs?: number;
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
   * each with `key`, `term` (and `shard`, sharded), `result` and `durationMs`; leadership changes
   * at `info`; watch trouble and Events not recorded at `warn`; an
   * observer hook that threw at `error` ("observer failed").
   */
  logger?: Logger;
  /**
   * Metrics hooks (default none). A hook that throws is logged and
   * ignored; it never stops a worker or a watch (the same holds for the
   * `queue` and `watch` observers).
   */
  observer?: ControllerObserver;
}

/**
 * Options of {@linkcode Controller.run}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { Controller, type RunOptions } from "@k8s-operator/k8s-operator/controller";
 * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
 * import { ReconcileResult } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const election = new LeaderElection(0);
 * election.setRole("leader", 1); // a RaftNode reports its role here
 * const controller = Controller.for(configMaps, { client, guard: election.guard() });
 * const stop = new AbortController(); // abort it on SIGTERM
 * const options: RunOptions = { signal: stop.signal };
 * const reconciled = Promise.withResolvers<string>();
 * const running = controller.run({
 *   reconcile: (cm) => {
 *     reconciled.resolve(cm.metadata.name!);
 *     return Promise.resolve(ReconcileResult.done());
 *   },
 * }, options);
 * await client.create(configMaps, { metadata: { name: "web", namespace: "default" } });
 * assert.equal(await reconciled.promise, "web");
 * stop.abort();
 * await running; // resolved: watches ended, reconciles in flight were aborted
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
 * import assert from "node:assert/strict";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { Controller, type ControllerMetrics } from "@k8s-operator/k8s-operator/controller";
 * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
 * function failureRatio(m: ControllerMetrics): number {
 *   const total = m.reconciles + m.failures;
 *   return total === 0 ? 0 : m.failures / total;
 * }
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * await using server = await TestApiServer.start(); // in a pod: loadKubeConfig()
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const controller = Controller.for(configMaps, { client, guard: new LeaderElection(0).guard() });
 * assert.equal(failureRatio(controller.metrics), 0); // nothing ran yet
 * assert.equal(controller.metrics.cancelled, 0);
 * ```
 */
export interface ControllerMetrics {
  /** Reconciles that returned while this replica still led. */
  reconciles: number;
  /** Reconciles that threw while this replica still led. */
  failures: number;
  /**
   * Reconciles that ended (returned or threw) after leadership was lost or
   * the controller stopped; they run again in the next term.
   */
  cancelled: number;
}

interface Related {
  resource: ResourceType;
  map: (object: KubeObject) => ObjectRef[];
}

/**
 * A controller for one primary resource.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Controller, KubeClient, LeaderElection, ReconcileResult } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const secrets = { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true };
 * const election = new LeaderElection(0);
 * election.setRole("leader", 1);
 * const stop = new AbortController();
 * const cleaned = Promise.withResolvers<void>();
 * const running = Controller.for(configMaps, { client, guard: election.guard(), finalizer: "example.com/cleanup" })
 *   .owns(secrets)
 *   .run({
 *     async reconcile(cm, ctx) {
 *       return ReconcileResult.done();
 *     },
 *     async cleanup(cm, ctx) {
 *       cleaned.resolve(); // the finalizer holds the object until this returns
 *       return ReconcileResult.done();
 *     },
 *   }, { signal: stop.signal });
 * await client.create(configMaps, { metadata: { name: "web", namespace: "default" } });
 * while ((await client.get(configMaps, "web", { namespace: "default" })).metadata.finalizers === undefined) {
 *   await new Promise((resolve) => setTimeout(resolve, 5)); // the first reconcile adds the finalizer
 * }
 * await client.delete(configMaps, "web", { namespace: "default" });
 * await cleaned.promise;
 * stop.abort();
 * await running;
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
  /** Whether a leader term's workers run (changes queue keys only then). */
  #leading = false;
  /** Keys changed while not leading (sharded: shard not held): taken first. */
  readonly #changed: ChangedKeys;

  private constructor(resource: ResourceType, options: ControllerOptions<T>) {
    this.resource = resource;
    this.#logger = options.logger ?? silentLogger;
    const onError = (hook: string, error: unknown) =>
      this.#logger.error("observer failed", { hook, error });
    this.#options = {
      ...options,
      observer: safeObserver(options.observer, onError),
      queue: options.queue && {
        ...options.queue,
        observer: safeObserver(options.queue.observer, onError),
      },
      watch: options.watch && {
        ...options.watch,
        observer: safeObserver(options.watch.observer, onError),
      },
      events: options.events && {
        ...options.events,
        observer: safeObserver(options.events.observer, onError),
      },
    };
    this.#clock = options.clock ?? systemClock;
    this.#changed = new ChangedKeys({
      cached: (key) =>
        this.reflector.isSynced ? this.reflector.store.get(key) : undefined,
      shardOf: (object) => this.#options.shards?.shardOf(object) ?? 0,
      now: () => this.#clock.now(),
      withinMs: options.changedWithinMs,
    });
    this.queue = turningQueue({ ...this.#options.queue, clock: this.#clock });
    this.reflector = new Reflector<T>(this.#watchOptions(resource, {
      namespace: this.#options.namespace,
      labelSelector: this.#options.labelSelector,
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
   * its controller ownerReference, before and after the change (a child
   * whose owner changed reconciles both owners, as controller-runtime's
   * `EnqueueRequestForOwner`).
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

  /**
   * Also watch `resource`; `mapper` names the primaries a change affects.
   * It is called with the object before and after each change (and with
   * the last state of a deleted one), so a label that moves reconciles the
   * primary it left as well as the one it names now.
   */
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
    const unsubscribe = [
      this.reflector.subscribe((event: StoreEvent<T>) => {
        if (
          event.type === "apply" && predicate &&
          !predicate(event.object, event.old)
        ) {
          return;
        }
        this.#onChange(objectKey(event.object), event.type, event.object);
      }),
      // A relist emits only what changed; keys waiting out a long backoff
      // (say, after an outage) run now too, none twice.
      this.reflector.onRelist(() => this.#resync()),
    ];
    const runs: Promise<void>[] = [this.#runReflector(this.reflector, stopAll)];
    for (const related of this.#related) {
      const reflector = new Reflector<KubeObject>(
        this.#watchOptions(related.resource, {
          namespace: this.#options.namespace,
        }),
      );
      reflector.subscribe((event) => {
        const keys = new Set<string>();
        const states = event.type === "apply" && event.old
          ? [event.old, event.object]
          : [event.object];
        for (const state of states) {
          for (const ref of related.map(state)) {
            keys.add(ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name);
          }
        }
        // Noted only once this cache synced (its first list is no change).
        for (const key of keys) {
          if (reflector.isSynced || this.#wants(key)) {
            this.#onChange(key, "apply");
          }
        }
      });
      runs.push(this.#runReflector(reflector, stopAll));
    }
    let resyncTimer: TimerHandle | undefined;
    const resyncMs = this.#options.resyncMs;
    if (resyncMs !== undefined) {
      if (!(resyncMs > 0) || !Number.isFinite(resyncMs)) {
        throw new RangeError(
          `Expected resyncMs to be a positive number of milliseconds, found ${resyncMs}`,
        );
      }
      const tick = () => {
        if (stopAll.aborted) return;
        this.#resync();
        resyncTimer = this.#clock.setTimeout(tick, resyncMs);
      };
      resyncTimer = this.#clock.setTimeout(tick, resyncMs);
    }
    try {
      if (this.#options.shards === undefined) {
        await this.#lead(reconciler, stopAll);
      } else {
        await runSharded({
          reflector: this.reflector,
          queue: this.queue,
          gate: this.#options.shards,
          guard: this.#options.guard,
          logger: this.#logger,
          concurrency: this.#options.concurrency ?? 4,
          setRunning: (running) => this.#leading = running,
          wants: (key) => this.#wants(key),
          changed: (wanted) => this.#changed.take(wanted),
          pending: (key) => this.#changed.seen(key),
          fence: (signal, check) => {
            const client = this.#options.client.fenced(signal, { check });
            return { client, recorder: this.#recorder(client) };
          },
          reconcile: (key, ctx) => this.#reconcileKey(key, reconciler, ctx),
        }, stopAll);
      }
    } finally {
      internal.abort();
      if (resyncTimer !== undefined) this.#clock.clearTimeout(resyncTimer);
      for (const off of unsubscribe) off();
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
        if (!synced) {
          // Leadership ended before the cache synced (the API server may be
          // unreachable): say so, so each start and end is logged once.
          this.#logger.info("stopped leading, reconciles cancelled", { term });
          this.#options.observer?.leadership?.({ leading: false, term });
          continue;
        }
        // From now on changes queue keys; now all cached keys, changed first.
        this.#leading = true;
        queueTakeover(this.queue, {
          changed: this.#changed.take(),
          rest: this.reflector.store.keys(),
        });
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
        const recorder = this.#recorder(client);
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
        // A follower queues nothing (the next term queues every cached key),
        // so objects that come and go while it follows leave no keys behind.
        this.#leading = false;
        this.queue.clear();
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
      } catch (error) {
        // Nothing in #reconcileKey should throw; if something does, the
        // worker lives on and the key is retried, never lost.
        this.#logger.error("reconcile worker failed", { key, error });
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  /**
   * Whether a change of `key` queues it: while leading (or, sharded, while
   * running) and, sharded, only when this process holds its shard (a key
   * whose object is gone is queued, so that its reconcile forgets it).
   */
  #wants(key: string, object?: T): boolean {
    if (!this.#leading) return false;
    const gate = this.#options.shards;
    if (gate === undefined) return true;
    const o = object ?? this.reflector.store.get(key);
    return o === undefined || gate.holds(gate.shardOf(o));
  }

  /** Queues `key` if a change does now, else notes it for a takeover. */
  #onChange(key: string, type: "apply" | "delete", object?: T): void {
    if (this.#wants(key, object)) {
      this.queue.add(key);
      this.#changed.forget(key);
    } else {
      this.#changed.seen(key, type);
    }
  }

  #recorder(client: KubeClient): EventRecorder {
    return new EventRecorder(
      client,
      this.#options.component ?? "k8s-operator",
      { logger: this.#logger, ...this.#options.events },
    );
  }

  /** Queues every cached primary key, without running any twice. */
  #resync(): void {
    for (const key of this.reflector.store.keys()) {
      if (this.#wants(key)) this.queue.expedite(key);
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
    // The lease may have run out in an event-loop stall before the timer
    // that aborts ctx.signal ran: ask the guard now, as the client does
    // before each send, so that no reconcile starts without it. Asking
    // ends the term (ctx.signal aborts); the next one queues the key.
    if (!this.#stillLeads(ctx)) {
      this.queue.add(key);
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
        ...(ctx.shard === undefined ? {} : { shard: ctx.shard }),
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
          // The object after adding the finalizer is the server's answer,
          // not the cache's; frozen too, so every reconcile sees the same.
          apply: (o) => reconciler.reconcile(deepFreeze(o), ctx),
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
      const retryInMs = this.queue.addRateLimited(key, {
        minDelayMs: retryAfterMs(error),
      });
      report("error", { retryInMs, error });
      return;
    }
    if (ctx.signal.aborted) {
      // It returned, but leadership ended meanwhile: its writes may have
      // been refused; the next term runs it again.
      this.metrics.cancelled++;
      this.queue.add(key);
      report("cancelled");
      return;
    }
    this.metrics.reconciles++;
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

  /**
   * Whether the guard still leads `ctx.term` at this instant (sharded:
   * whether the shard is still held).
   */
  #stillLeads(ctx: Context): boolean {
    if (ctx.signal.aborted) return false;
    const gate = this.#options.shards;
    if (gate !== undefined && ctx.shard !== undefined) {
      return gate.holds(ctx.shard);
    }
    try {
      return ctx.guard.check() === ctx.term;
    } catch {
      return false;
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
