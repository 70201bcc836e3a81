/**
 * The reconcile contract: one function from an object and a
 * {@linkcode Context} to a {@linkcode ReconcileResult}.
 *
 * @module
 */
import type { KubeClient } from "../client/kube_client.ts";
import type { KubeObject } from "../client/objects.ts";
import type { EventRecorder } from "./events.ts";
import type { LeaderGuard } from "./leader_election.ts";

/**
 * What a reconcile asks the controller to do next.
 *
 * @example Reading what a reconcile asked for, e.g. in a unit test
 * ```ts
 * import { type ReconcileAction, ReconcileResult } from "./reconciler.ts";
 * function pollUntilReady(ready: boolean): ReconcileResult {
 *   return ready ? ReconcileResult.done() : ReconcileResult.requeueAfter(10_000);
 * }
 * const action: ReconcileAction = pollUntilReady(false).action;
 * if (action.kind === "requeueAfter") console.log(`again in ${action.delayMs} ms`); // again in 10000 ms
 * ```
 */
export type ReconcileAction =
  | { kind: "done" }
  | { kind: "requeue" }
  | { kind: "requeueAfter"; delayMs: number };

/**
 * The outcome of one reconcile.
 *
 * @example
 * ```ts
 * import { ReconcileResult } from "./reconciler.ts";
 * ReconcileResult.done();             // wait for the next change
 * ReconcileResult.requeue();          // again, after the per-key backoff
 * ReconcileResult.requeueAfter(30_000); // again in 30 s
 * ```
 */
export class ReconcileResult {
  /** The action. */
  readonly action: ReconcileAction;

  private constructor(action: ReconcileAction) {
    this.action = action;
  }

  static readonly #done = new ReconcileResult({ kind: "done" });
  static readonly #requeue = new ReconcileResult({ kind: "requeue" });

  /** Nothing more to do until the object (or a child) changes. */
  static done(): ReconcileResult {
    return ReconcileResult.#done;
  }

  /** Reconcile again after the key's exponential backoff. */
  static requeue(): ReconcileResult {
    return ReconcileResult.#requeue;
  }

  /** Reconcile again after `delayMs` milliseconds. */
  static requeueAfter(delayMs: number): ReconcileResult {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) {
      throw new RangeError(
        `Expected a finite delay >= 0 ms, found ${delayMs}`,
      );
    }
    return new ReconcileResult({ kind: "requeueAfter", delayMs });
  }
}

/**
 * What a reconcile gets besides the object.
 *
 * @example
 * ```ts
 * import type { KubeObject } from "./mod.ts";
 * import { type Context, ReconcileResult } from "./reconciler.ts";
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * async function reconcile(widget: KubeObject, ctx: Context): Promise<ReconcileResult> {
 *   const { name, namespace } = widget.metadata;
 *   // ctx.client is fenced: this write fails once leadership is lost
 *   await ctx.client.patch(configMaps, `${name}-config`, { data: { term: String(ctx.term) } }, { namespace });
 *   await ctx.recorder.normal(widget, { reason: "Configured", message: `updated ${ctx.key}` });
 *   return ReconcileResult.done();
 * }
 * ```
 */
export interface Context {
  /** A client fenced by `signal`: its requests fail once leadership is lost. */
  client: KubeClient;
  /** Records Events about objects. */
  recorder: EventRecorder;
  /** Aborts when leadership is lost or the controller stops. */
  signal: AbortSignal;
  /** The leadership guard the controller runs under. */
  guard: LeaderGuard;
  /** The leadership term this reconcile runs in (a fencing token). */
  term: number;
  /** The object's key, `namespace/name` (or `name`). */
  key: string;
  /**
   * A sharded controller's reconcile: the shard of the object, whose grant
   * fences `client` and ends `signal`. Absent in a leader-only controller.
   */
  shard?: number;
}

/**
 * The user's side of a controller.
 *
 * @example
 * ```ts
 * import { type Reconciler, ReconcileResult } from "./reconciler.ts";
 * import type { KubeObject } from "./mod.ts";
 * const reconciler: Reconciler<KubeObject> = {
 *   async reconcile(obj, ctx) {
 *     ctx.signal.throwIfAborted();
 *     return ReconcileResult.done();
 *   },
 * };
 * ```
 */
export interface Reconciler<T extends KubeObject> {
  /** Brings the world in line with `object`; idempotent. */
  reconcile(object: T, ctx: Context): Promise<ReconcileResult>;
  /**
   * Runs when the object is being deleted, under the controller's
   * finalizer; the finalizer is removed only once it returns
   * `ReconcileResult.done()` (`requeue()` / `requeueAfter(ms)` run it again
   * later with the finalizer kept; a throw is retried with backoff). This
   * is the place to act on deletion: `reconcile` never sees an object
   * that is gone.
   */
  cleanup?(object: T, ctx: Context): Promise<ReconcileResult>;
}
