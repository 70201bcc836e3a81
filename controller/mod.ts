/**
 * The reconcile runtime: leader election guard, watcher, cache, work queue,
 * Controller, finalizers, status and events. Each piece is usable on its
 * own; the {@linkcode Controller} composes them.
 *
 * @example Leader-only work
 * ```ts
 * import { LeaderElection, leaderOnly } from "@k8s-operator/k8s-operator/controller";
 * const election = new LeaderElection(0);
 * const reconcile = leaderOnly(election.guard(), ({ term }, name: string) => `${name}@${term}`);
 * election.setRole("leader", 1);
 * console.log(reconcile("web")); // "web@1"
 * ```
 *
 * @example A controller
 * ```ts ignore
 * import { KubeConfig } from "@kubernetes/client-node";
 * import {
 *   Controller, KubeClient, LeaderElection, ReconcileResult, StatusCondition, StatusPatch,
 * } from "@k8s-operator/k8s-operator/controller";
 * const kc = new KubeConfig();
 * kc.loadFromDefault();
 * const client = KubeClient.fromKubeConfig(kc);
 * const election = new LeaderElection(0);
 * const widgets = { group: "example.com", version: "v1", plural: "widgets", kind: "Widget", namespaced: true };
 * await Controller.for(widgets, { client, guard: election.guard() }).run({
 *   async reconcile(widget, ctx) {
 *     await new StatusPatch(widget, { client: ctx.client, resource: widgets })
 *       .condition(StatusCondition.ready(true)).observedGeneration().apply();
 *     return ReconcileResult.done();
 *   },
 * });
 * ```
 *
 * @module
 */
import "../platform/check_runtime.ts";
export * from "./leader_election.ts";
export {
  type NodeId,
  NotLeaderError,
  RaftError,
  type Role,
} from "../common/leadership.ts";
export * from "../common/clock.ts";
export * from "../client/kube_client.ts";
export * from "../client/kubeconfig.ts";
export * from "../client/objects.ts";
export * from "../client/errors.ts";
export {
  type JsonPatchOp,
  jsonPointer,
  type PatchType,
} from "../client/patch.ts";
export * from "../common/log.ts";
export * from "./work_queue.ts";
export * from "./watcher.ts";
export * from "./cache.ts";
export * from "./reconciler.ts";
export * from "./controller.ts";
export * from "./finalizers.ts";
export * from "./status.ts";
export * from "./events.ts";
