/**
 * The reconcile runtime: leader election guard, watcher, cache, work queue,
 * Controller, finalizers, status and events. Each piece is usable on its
 * own; the {@linkcode Controller} composes them.
 *
 * @example Leader-only work
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaderElection, leaderOnly } from "@k8s-operator/k8s-operator/controller";
 * const election = new LeaderElection(0);
 * const reconcile = leaderOnly(election.guard(), ({ term }, name: string) => `${name}@${term}`);
 * election.setRole("leader", 1);
 * assert.equal(reconcile("web"), "web@1");
 * ```
 *
 * @example A controller
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   Controller, KubeClient, LeaderElection, ReconcileResult,
 * } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const election = new LeaderElection(0);
 * election.setRole("leader", 1); // a RaftNode reports its role here (raft/)
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const stop = new AbortController();
 * const reconciled = Promise.withResolvers<string>();
 * const running = Controller.for(configMaps, { client, guard: election.guard() }).run({
 *   async reconcile(cm, ctx) {
 *     reconciled.resolve(`${cm.metadata.name}@${ctx.term}`);
 *     return ReconcileResult.done();
 *   },
 * }, { signal: stop.signal });
 * await client.create(configMaps, { metadata: { name: "web", namespace: "default" } });
 * assert.equal(await reconciled.promise, "web@1"); // reconciled by the leader of term 1
 * stop.abort();
 * await running;
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
export * from "./shard_gate.ts";
export * from "./finalizers.ts";
export * from "./status.ts";
export * from "./events.ts";
