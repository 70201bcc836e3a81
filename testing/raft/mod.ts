/**
 * The Raft test harness (in the manner of etcd's `rafttest`): one seeded
 * generator, one network of links, and clusters at three levels, for tests
 * of code that uses the Raft core or the runtime node.
 *
 * - {@linkcode CoreCluster}: pure cores, ticked and delivered step by step by
 *   the test (scenario tests of the core).
 * - {@linkcode NodeCluster}: runtime `RaftNode`s in one process with their
 *   `LeaderElection`s, on the test's clock (tests of code that uses a node).
 * - {@linkcode RaftTestNetwork}: the simulator's faulty delivery (delays,
 *   loss, duplication) on the same {@linkcode Links}.
 * - {@linkcode Prng}, {@linkcode seeded}: the seeded randomness all of them,
 *   the simulator and the benchmarks draw from.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoreCluster } from "@k8s-operator/k8s-operator/testing";
 * const net = new CoreCluster({ voters: [1, 2, 3], seed: 7 });
 * net.elect(2);
 * assert.deepEqual(net.leaders(), [2]);
 * ```
 *
 * @module
 */
export {
  bootstrapEntry,
  CoreCluster,
  type CoreClusterOptions,
  type CoreFactory,
  type CoreTuning,
  type Machine,
  memberState,
  testIncarnation,
  withIncarnations,
} from "./cores.ts";
export {
  type GuardChange,
  NodeCluster,
  type NodeClusterOptions,
  type NodeMember,
  type NodeOptions,
  type Route,
} from "./nodes.ts";
export {
  cloneMessage,
  Links,
  type NetworkFaults,
  type NetworkStats,
  RaftTestNetwork,
} from "./network.ts";
export { below, Prng, seeded } from "./random.ts";
