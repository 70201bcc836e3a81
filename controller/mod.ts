/**
 * The reconcile runtime: leader election guard, watcher, cache, work queue,
 * Controller, finalizers, status and events.
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
 * @module
 */
export * from "./leader_election.ts";
export { NotLeaderError } from "../raft/errors.ts";
