/**
 * The types of the replica harness (`startReplicas`): what it
 * runs replicas against, its options, what it reports of each replica, and
 * its error.
 *
 * @module
 */
import type { KubeConfig } from "./api_server.ts";
import type { LogFields } from "../common/log.ts";
import type { Operator, OperatorOptions } from "../operator/mod.ts";

/**
 * What the harness needs of a control plane: {@linkcode TestApiServer} and
 * `EnvTest` (a real kube-apiserver) both have it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ControlPlane, TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start();
 * const controlPlane: ControlPlane = server; // EnvTest is one too
 * assert.match(controlPlane.kubeConfigYaml(), /token/);
 * ```
 */
export interface ControlPlane {
  /** A kubeconfig for in-process replicas (and the harness's own client). */
  kubeConfig(): KubeConfig;
  /** The kubeconfig file text, written for replicas run as processes. */
  kubeConfigYaml(): string;
}

/**
 * Options of {@linkcode startReplicas}. Give exactly one of `operator` (in
 * this process), `main` or `command` (as processes).
 *
 * @example In this process
 * ```ts
 * import assert from "node:assert/strict";
 * import { Operator } from "../mod.ts";
 * import { Website } from "../examples/resources.ts";
 * import { websiteReconciler } from "../examples/website.ts";
 * import { type ReplicaOptions, TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start();
 * const options: ReplicaOptions = {
 *   controlPlane: server,
 *   operator: (options) => Operator.fromEnv(options).controller(Website, websiteReconciler),
 * };
 * assert.equal(options.replicas ?? 3, 3); // pass it to startReplicas
 * ```
 */
export interface ReplicaOptions {
  /** The API server every replica talks to. */
  controlPlane: ControlPlane;
  /** How many replicas (default 3). */
  replicas?: number;
  /**
   * How many of them {@linkcode startReplicas} starts, `0..initial-1`
   * (default all); start the others later with `start(id)`, as a scale-up
   * or a late joiner.
   */
  initial?: number;
  /**
   * Run the replicas as the pods `<name>-<i>` of this StatefulSet
   * (`POD_NAME`, `NAMESPACE`, `RAFT_PORT`, and `RAFT_REPLICAS` set to
   * `initial`, as the pod template's env says) instead of
   * `RAFT_NODE_ID`/`RAFT_PEERS`. The leader then follows the StatefulSet's
   * `spec.replicas` once the test creates it. Each replica finds its peers
   * by ordinal at the harness's ports, standing in for the headless
   * Service's DNS names: in this process the harness passes `peerAddress`;
   * a process gets every ordinal's address in `REPLICA_PEER_ADDRESSES`
   * (`0=127.0.0.1:41001,1=…`, the format of `RAFT_PEERS`), which its main
   * passes to `Operator.fromEnv` as `peerAddress` (parsed with
   * `StaticDiscovery.parse(text).peers()`).
   */
  statefulSet?: { name: string; namespace: string };
  /**
   * In-process mode: builds replica `i`'s operator from the options the
   * harness passes (`env`, `kubeConfig`, `hostname`, `signals: false`,
   * `logger`, and `peerAddress` with `statefulSet`); add your controllers
   * and return it unstarted.
   */
  operator?: (options: OperatorOptions) => Operator;
  /**
   * Process mode: the operator's main module. A `.ts` file runs with
   * `deno run -A` under Deno; any other file runs with this process's
   * executable (`node main.js` under Node).
   */
  main?: URL | string;
  /**
   * Process mode: the whole command line of a replica (for example a
   * single executable: `["./website-operator"]`), or of replica `id`.
   */
  command?: readonly string[] | ((id: number) => readonly string[]);
  /** More environment for every replica (over the harness's). */
  env?: Record<string, string>;
  /** `RAFT_TICK_MS` of the replicas (default: the operator's, 50). */
  tickMs?: number;
  /** `RAFT_CLUSTER_ID` (default `harness`). */
  clusterId?: string;
  /** How long any wait may take, in milliseconds (default 30 s). */
  timeoutMs?: number;
  /** Called with every log entry of every replica as it comes. */
  onLog?: (id: number, line: ReplicaLogLine) => void;
}

/**
 * One log entry of a replica: the JSON line the operator wrote (in process
 * mode, non-JSON lines have `message` set to the raw text and level
 * `stderr` or `stdout`).
 *
 * @example
 * ```ts
 * import type { ReplicaLogLine, Replicas } from "@k8s-operator/k8s-operator/testing";
 * const roleChanges = (replicas: Replicas): ReplicaLogLine[] =>
 *   replicas.logs(0).filter((l) => l.message === "role changed");
 * ```
 */
export interface ReplicaLogLine {
  /** `debug`, `info`, `warn`, `error`, or `stdout`/`stderr` for plain text. */
  level: string;
  /** The message. */
  message: string;
  /** The entry's other fields. */
  fields: LogFields;
}

/**
 * Where a replica's Raft node stands, as its log last told.
 *
 * @example
 * ```ts
 * import type { Replicas } from "@k8s-operator/k8s-operator/testing";
 * function describe(replicas: Replicas): string {
 *   const { role, term } = replicas.state(0);
 *   return `replica 0 is ${role} in term ${term}`;
 * }
 * ```
 */
export interface ReplicaState {
  /** Its node id and index, `0..replicas-1`. */
  id: number;
  /** `follower`, `candidate`, `leader`, or `down` when not running. */
  role: string;
  /** The term of its last role change. */
  term: number;
  /** Its Raft port. */
  raftPort: number;
  /** The port of `/healthz`, `/readyz`, `/metrics` once started, else 0. */
  httpPort: number;
  /** The process id (process mode, while running). */
  pid?: number;
}

/**
 * A leader, as {@linkcode Replicas.waitForLeader} found it.
 *
 * @example
 * ```ts
 * import type { Replicas } from "@k8s-operator/k8s-operator/testing";
 * async function failOver(replicas: Replicas): Promise<void> {
 *   const { id, term } = await replicas.waitForLeader();
 *   await replicas.kill(id);
 *   const next = await replicas.waitForLeader({ not: id });
 *   console.log(`node ${id} led term ${term}; node ${next.id} leads term ${next.term}`);
 * }
 * ```
 */
export interface Leader {
  /** The replica that leads. */
  id: number;
  /** Its term. */
  term: number;
}

/**
 * A replica did not do what a test awaited, or failed to start. The
 * message says what was expected and what was found; `logs` holds the tail
 * of every replica's log.
 *
 * @example
 * ```ts
 * import { ReplicaHarnessError, type Replicas } from "@k8s-operator/k8s-operator/testing";
 * async function leaderOrLogs(replicas: Replicas): Promise<void> {
 *   try {
 *     await replicas.waitForLeader({ timeoutMs: 100 });
 *   } catch (error) {
 *     if (error instanceof ReplicaHarnessError) console.error(error.logs);
 *     throw error;
 *   }
 * }
 * ```
 */
export class ReplicaHarnessError extends Error {
  /** The last log lines of each replica, for the test's output. */
  readonly logs: string;

  /** Creates the error. */
  constructor(message: string, logs = "") {
    super(logs === "" ? message : `${message}\n${logs}`);
    this.name = "ReplicaHarnessError";
    this.logs = logs;
  }
}
