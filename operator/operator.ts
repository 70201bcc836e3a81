/**
 * The Operator builder: one call wires a StatefulSet pod into a
 * highly-available operator. Pod identity and peers come from discovery,
 * leadership from Raft over HTTP, and the controllers reconcile only on the
 * leader.
 *
 * @module
 */
import type { KubeClient } from "../client/kube_client.ts";
import { loadKubeConfig } from "../client/kubeconfig.ts";
import type { KubeObject, ResourceType } from "../client/objects.ts";
import type { Logger } from "../common/log.ts";
import type { Controller } from "../controller/controller.ts";
import type { LeaderElection } from "../controller/leader_election.ts";
import type { Reconciler } from "../controller/reconciler.ts";
import type { ShardGate } from "../controller/shard_gate.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { ReplicatedKv } from "../raft/kv.ts";
import type { NodeStatus, RaftNode } from "../raft/node.ts";
import type { NodeId } from "../raft/types.ts";
import { Running } from "./_running.ts";
import { type Registered, toResourceType } from "./_wiring.ts";
import {
  type EnvSource,
  type OperatorConfig,
  type OperatorEnvironment,
  readOperatorEnv,
} from "./config.ts";

/**
 * A resource as `defineCustomResource` describes it (`scope`) or as the
 * controller describes it (`namespaced`).
 *
 * @example
 * ```ts
 * import type { ResourceSource } from "@k8s-operator/k8s-operator";
 * const configMaps: ResourceSource = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * ```
 */
export type ResourceSource = ResourceType | CustomResourceRef;

/**
 * The fields of a `CustomResource` (from `defineCustomResource`) the
 * operator needs.
 *
 * @example
 * ```ts
 * import type { CustomResourceRef } from "@k8s-operator/k8s-operator";
 * const ref: CustomResourceRef = { group: "example.com", version: "v1", plural: "widgets", kind: "Widget", scope: "Namespaced" };
 * ```
 */
export interface CustomResourceRef {
  /** The API group. */
  readonly group: string;
  /** The served version. */
  readonly version: string;
  /** The plural name used in URLs. */
  readonly plural: string;
  /** The kind. */
  readonly kind: string;
  /** Whether objects live in a namespace. */
  readonly scope: "Namespaced" | "Cluster";
}

/**
 * A reconciler plus how its controller watches: the finalizer its
 * `cleanup` runs under, the child kinds it owns, the namespace.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type OperatorReconciler, ReconcileResult } from "@k8s-operator/k8s-operator";
 * import type { Website } from "../examples/resources.ts";
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const deployments = { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true };
 * const reconciler: OperatorReconciler<Website> = {
 *   finalizer: "example.k8s-operator.dev/cleanup",
 *   owns: [configMaps, deployments],
 *   async reconcile(site, ctx) { return ReconcileResult.done(); },
 *   async cleanup(site, ctx) { return ReconcileResult.done(); },
 * };
 * assert.equal(reconciler.owns?.length, 2);
 * ```
 */
export interface OperatorReconciler<T extends KubeObject>
  extends Reconciler<T> {
  /** The finalizer `cleanup` runs under (required with `cleanup`). */
  finalizer?: string;
  /** Child kinds: a change of a child reconciles its controller owner. */
  owns?: readonly ResourceSource[];
  /** Watch one namespace only (default: `WATCH_NAMESPACE`, else all). */
  namespace?: string;
  /** Only primaries matching this label selector. */
  labelSelector?: string;
  /** How many keys reconcile at once (default 4). */
  concurrency?: number;
  /** Which primary changes queue a reconcile (default: all). */
  predicate?: (object: T, old: T | undefined) => boolean;
  /**
   * How old a change, seen while another replica reconciled the object,
   * may be for a takeover to reconcile it first (default: the longest
   * takeover the Raft and sharding timing allow, plus 5 s; see
   * `changedWithinMs` in `controller/README.md`).
   */
  changedWithinMs?: number;
  /** The component events are reported as (default: the cluster id). */
  component?: string;
}

/**
 * How a controller added with {@linkcode Operator.controller} runs.
 *
 * @example A sharded controller: every replica reconciles its shards
 * ```ts
 * import { Operator, type ControllerRegistration, ReconcileResult } from "@k8s-operator/k8s-operator";
 * import { Website } from "../examples/resources.ts";
 * const sharded: ControllerRegistration = { sharded: true };
 * const operator = () =>
 *   Operator.fromEnv().controller(Website, { async reconcile() { return ReconcileResult.done(); } }, sharded);
 * ```
 */
export interface ControllerRegistration {
  /**
   * Every replica reconciles the objects of the shards whose grant it
   * holds, instead of the leader reconciling all (default `false`). At any
   * instant at most one replica reconciles a given object; see "Sharded
   * controllers" in `controller/README.md` for what a sharded reconciler
   * must not assume.
   */
  sharded?: boolean;
}

/**
 * Sharding's settings (for controllers added with `{ sharded: true }`, or
 * built on {@linkcode RunningOperator.shards} with `enabled: true`): the
 * same on every replica. See `sharding/README.md` for what each bounds.
 *
 * @example The defaults, spelled out
 * ```ts
 * import type { OperatorShardingOptions } from "@k8s-operator/k8s-operator";
 * const sharding: OperatorShardingOptions = {
 *   shards: 256, grantMs: 500, drift: 0.01, clockGranularityMs: 1, memberTimeoutMs: 500,
 * };
 * ```
 */
export interface OperatorShardingOptions {
  /**
   * Whether sharding runs. By default it runs when a controller was added
   * with `{ sharded: true }`; `true` runs it anyway, for a controller you
   * build yourself on {@linkcode RunningOperator.shards}. Same on every
   * replica. `false` with a sharded controller added is a `TypeError`.
   */
  enabled?: boolean;
  /** The number of shards `S` (default 256), fixed for the life of a cluster. */
  shards?: number;
  /** How long a grant holds after the request that renewed it (default 500 ms). */
  grantMs?: number;
  /** The bound on every replica's clock rate error (default 0.01). */
  drift?: number;
  /** The coarsest step of the clock's readings (default 1 ms). */
  clockGranularityMs?: number;
  /** How long a member may stay silent and still own shards (default `grantMs`). */
  memberTimeoutMs?: number;
  /**
   * Owner kinds that are cluster-scoped, so that an object owned by one
   * goes to its owner's shard (a namespaced owner is looked up in the
   * object's namespace).
   */
  clusterScopedKinds?: readonly string[];
}

/**
 * Raft timing the operator passes to its node (over `RAFT_TICK_MS` and
 * `RAFT_ELECTION_TICKS`).
 *
 * @example Slower timing for a high-latency network
 * ```ts
 * import { Operator, type OperatorRaftOptions } from "@k8s-operator/k8s-operator";
 * // Heartbeats every 100 ms, elections after 1-2 s; the lease holds 800 ms.
 * const raft: OperatorRaftOptions = { tickMs: 100, electionTicks: 10 };
 * const operator = Operator.fromEnv({
 *   env: { RAFT_NODE_ID: "0", RAFT_PEERS: "0=10.0.0.1:7000,1=10.0.0.2:7000,2=10.0.0.3:7000", RAFT_SECRET: "0123456789abcdef" },
 *   raft,
 * });
 * ```
 */
export interface OperatorRaftOptions {
  /** Milliseconds per tick, the heartbeat interval (default 50). */
  tickMs?: number;
  /** Minimum election timeout in ticks (default 6: 300–600 ms). */
  electionTicks?: number;
  /** Randomness in `[0, 1)` for election timeouts (default `Math.random`). */
  random?: () => number;
}

/**
 * Options of {@linkcode Operator.fromEnv}. Everything has a production
 * default; tests inject the environment, the kubeconfig and the clock.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Operator } from "@k8s-operator/k8s-operator";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start();
 * const operator = Operator.fromEnv({
 *   env: { RAFT_NODE_ID: "0", RAFT_PEERS: "0=127.0.0.1:7000", RAFT_SECRET: "0123456789abcdef" },
 *   kubeConfig: server.kubeConfig(),
 *   hostname: "127.0.0.1",
 *   signals: false,
 * });
 * assert.equal(operator.config.raft.nodeId, 0); // start() runs it
 * ```
 */
export interface OperatorOptions {
  /** The environment to read (default: the process's). */
  env?: EnvSource;
  /**
   * The cluster to talk to. Default: the files `KUBECONFIG` lists, merged as
   * kubectl merges them (see `loadKubeConfig`), else the in-cluster service
   * account when `KUBERNETES_SERVICE_HOST` is set, else `~/.kube/config`.
   */
  kubeConfig?: Parameters<typeof KubeClient.fromKubeConfig>[0];
  /** The address both servers listen on (default `0.0.0.0`). */
  hostname?: string;
  /** A monotonic clock in milliseconds (default `performance.now`). */
  clock?: () => number;
  /** Raft timing. */
  raft?: OperatorRaftOptions;
  /**
   * Sharding, for controllers added with `{ sharded: true }`: the shard
   * count and grant timing, the same on every replica (see
   * `sharding/README.md`). Ignored when no controller is sharded.
   */
  sharding?: OperatorShardingOptions;
  /** Where the operator and its controllers log (default: JSON lines on the console). */
  logger?: Logger;
  /**
   * Serves `GET /metrics`. Default: the operator's {@linkcode MetricsRegistry}
   * (controller-runtime style reconcile and work-queue metrics, watch
   * restarts, and the Raft node's role, term, indexes, elections, append
   * latency and peer reachability; see metrics/README.md). Register your own
   * metrics on {@linkcode RunningOperator.metrics} instead of replacing this.
   */
  metrics?: (request: Request) => Response | Promise<Response>;
  /** Stop gracefully on SIGTERM and SIGINT (default `true`). */
  signals?: boolean;
  /**
   * The `host:port` of the Raft endpoint of node `id`, for any ordinal
   * (tests on loopback). Default: the address in `RAFT_PEERS`, else the
   * StatefulSet pod's DNS name
   * `<statefulset>-<id>.<service>.<namespace>.svc.<domain>:<port>`, so a
   * node reaches pods added by a scale-up. `undefined` means unreachable.
   */
  peerAddress?: (id: NodeId) => string | undefined;
  /**
   * Whether the leader moves the Raft membership to the ordinals
   * `0..spec.replicas-1` of its own StatefulSet (default: the
   * `followStatefulSet` of the config, `RAFT_FOLLOW_STATEFULSET`). Never
   * with `RAFT_PEERS`.
   */
  followStatefulSet?: boolean;
  /**
   * How long, in milliseconds, the leader's requests to the API server
   * (a `GET /version` probe every second, and the controllers' lists and
   * watches) must have failed before it hands leadership to a caught-up
   * follower that reports reaching the API server (default: the config's
   * `OPERATOR_API_UNREACHABLE_TRANSFER_AFTER_MS`, else 10000; `0` never
   * hands over). Nothing happens while no follower reaches it; at most one
   * transfer is attempted per this interval.
   */
  apiUnreachableTransferAfterMs?: number;
  /**
   * With sharded controllers: how long, in milliseconds, this replica's
   * requests to the API server (as for `apiUnreachableTransferAfterMs`)
   * must have failed before it hands its shards to the other replicas,
   * through the handover of a SIGTERM (default: the config's
   * `OPERATOR_API_UNREACHABLE_RELEASE_AFTER_MS`, else 10000; `0` never
   * releases). It asks for shards again once a request succeeds. A failure
   * shorter than this moves nothing.
   */
  apiUnreachableReleaseAfterMs?: number;
}

/**
 * What `/readyz` reports: `RaftNode.readiness()`, ready once this node has
 * applied everything its leader had committed and heard from it within an
 * election timeout.
 *
 * @example
 * ```ts
 * import type { RunningOperator } from "@k8s-operator/k8s-operator";
 * // A readiness probe of your own (the operator serves /readyz itself).
 * function readyz(running: RunningOperator): Response {
 *   const { ready, reason } = running.readiness();
 *   return new Response(reason, { status: ready ? 200 : 503 });
 * }
 * ```
 */
export interface Readiness {
  /** Whether the node is caught up with the leader's commit. */
  ready: boolean;
  /** Why, in a sentence. */
  reason: string;
}

/**
 * A started operator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Operator, ReconcileResult } from "@k8s-operator/k8s-operator";
 * import { freeLoopbackPorts, TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * import { Website } from "../examples/resources.ts";
 * await using server = await TestApiServer.start(); // in a pod: its cluster, and Operator.fromEnv()
 * await Website.install(server.kubeConfig(), { fieldManager: "website-operator" });
 * const [raftPort] = await freeLoopbackPorts(1);
 * const running = await Operator.fromEnv({
 *   env: { RAFT_NODE_ID: "0", RAFT_PEERS: `0=127.0.0.1:${raftPort}`, RAFT_SECRET: "0123456789abcdef", OPERATOR_HTTP_PORT: "0" },
 *   kubeConfig: server.kubeConfig(),
 *   hostname: "127.0.0.1",
 *   signals: false,
 * }).controller(Website, { reconcile: () => Promise.resolve(ReconcileResult.done()) }).start();
 * assert.ok(running.httpPort > 0);
 * await running.stop();
 * ```
 */
export interface RunningOperator {
  /** The parsed environment. */
  readonly config: OperatorConfig;
  /** The Raft node. */
  readonly node: RaftNode;
  /** The leader election the node reports into (its guard gates reconciles). */
  readonly election: LeaderElection;
  /** A replicated key-value store on the same Raft log, for shared state. */
  readonly kv: ReplicatedKv;
  /**
   * The sharding runtime as a sharded controller sees it, `null` when
   * sharding is off (see {@linkcode OperatorShardingOptions.enabled}). A
   * controller you build yourself with `Controller.for` is sharded by
   * passing it as `shards`: every replica then reconciles the objects of
   * the shards whose grant it holds, and each write checks the grant
   * before it leaves (see "Sharded controllers" in `controller/README.md`).
   * The operator does not run or stop such a controller: stop it before
   * {@linkcode RunningOperator.stop}.
   *
   * @example A controller built by hand, sharded across the replicas
   * ```ts
   * import { Operator, ReconcileResult } from "@k8s-operator/k8s-operator";
   * import { Controller, KubeClient, type KubeObject, type ResourceType } from "@k8s-operator/k8s-operator/controller";
   * const configMaps: ResourceType = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
   * async function main(client: KubeClient, signal: AbortSignal): Promise<void> {
   *   const running = await Operator.fromEnv({ sharding: { enabled: true } }).start();
   *   await Controller.for<KubeObject>(configMaps, {
   *     client,
   *     guard: running.election.guard(),
   *     shards: running.shards!,
   *   }).run({ reconcile: () => Promise.resolve(ReconcileResult.done()) }, { signal });
   *   await running.stop();
   * }
   * ```
   */
  readonly shards: ShardGate | null;
  /** The controllers, in the order they were added. */
  readonly controllers: readonly Controller<KubeObject>[];
  /** The registry `/metrics` serves; register your own metrics on it. */
  readonly metrics: MetricsRegistry;
  /** The port `/raft/*` is served on. */
  readonly raftPort: number;
  /** The port `/healthz`, `/readyz` and `/metrics` are served on. */
  readonly httpPort: number;
  /** Resolves once stopped; rejects when a controller or the node failed. */
  readonly finished: Promise<void>;
  /** The node's status. */
  status(): NodeStatus;
  /** Whether the node is caught up with the leader's commit. */
  readiness(): Readiness;
  /**
   * Stops gracefully: a leader hands leadership to the most caught-up
   * follower first, then reconciles are cancelled, the servers close and
   * the log is flushed. Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * A highly-available operator: replicas of one process elect a leader with
 * Raft over HTTP, and only the leader reconciles.
 *
 * `fromEnv` reads the pod's environment (see the README for every
 * variable) and throws at once, naming the variable, when it is incomplete.
 * `run` starts the Raft node (its transport on the Raft port, 7000 by
 * default), an HTTP server on `OPERATOR_HTTP_PORT` (8080) with `/healthz`,
 * `/readyz` and `/metrics`, and the controllers, and resolves after a
 * graceful shutdown on SIGTERM or SIGINT.
 *
 * Storage: with `RAFT_DATA_DIR` the log, term and vote are kept on disk
 * (`FileStorage`). Without it they are in memory: a restarted node is a new
 * member (a new incarnation) that counts toward no quorum until the leader
 * re-added it and it caught up (it is not ready until then), so it cannot
 * vote twice in a term it forgot nor lose a committed entry; a whole
 * cluster restarted at once starts afresh (operators keep their state in
 * Kubernetes, so that only costs an election). See `raft/README.md`,
 * "Lost state: incarnations".
 *
 * @example The whole main of an operator
 * ```ts ignore
 * // Not run: a replica's whole main (examples/main.ts is one).
 * import { Operator } from "@k8s-operator/k8s-operator";
 * import { Website, websiteReconciler } from "./website.ts";
 *
 * await Operator.fromEnv().controller(Website, websiteReconciler).run();
 * ```
 */
export class Operator {
  /** The parsed and checked environment. */
  readonly config: OperatorConfig;
  readonly #options: OperatorOptions;
  readonly #kubeConfigEnv: OperatorEnvironment["kubeConfigEnv"];
  readonly #registered: Registered[] = [];

  private constructor(
    environment: OperatorEnvironment,
    options: OperatorOptions,
  ) {
    this.config = environment.config;
    this.#kubeConfigEnv = environment.kubeConfigEnv;
    this.#options = options;
  }

  /**
   * Reads the environment (the process's, or `options.env`). Throws
   * `MissingEnvError` / `MalformedEnvError` (discovery variables) or
   * {@linkcode OperatorConfigError} (the secret, cluster id, HTTP port),
   * each naming the variable.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Operator } from "@k8s-operator/k8s-operator";
   * const operator = Operator.fromEnv({
   *   env: { RAFT_NODE_ID: "1", RAFT_PEERS: "0=10.0.0.1:7000,1=10.0.0.2:7000,2=10.0.0.3:7000", RAFT_SECRET: "0123456789abcdef" },
   * });
   * assert.equal(operator.config.raft.nodeId, 1);
   * assert.equal(operator.config.httpPort, 8080);
   * ```
   */
  static fromEnv(options: OperatorOptions = {}): Operator {
    return new Operator(readOperatorEnv(options.env), options);
  }

  /**
   * Adds a controller of `resource` run by `reconciler` (which may also say
   * what the controller owns and its finalizer). Leader-only by default;
   * with `{ sharded: true }` every replica reconciles the objects of the
   * shards it holds (see "Sharded controllers" in `controller/README.md`).
   *
   * @example
   * ```ts
   * import { Operator, ReconcileResult } from "@k8s-operator/k8s-operator";
   * import { Website } from "../examples/resources.ts";
   * const operator = () => Operator.fromEnv().controller(Website, { async reconcile() { return ReconcileResult.done(); } });
   * ```
   */
  controller<T extends KubeObject>(
    resource: ResourceSource,
    reconciler: OperatorReconciler<T>,
    options: ControllerRegistration = {},
  ): this {
    if (reconciler.cleanup && !reconciler.finalizer) {
      throw new TypeError(
        `Expected a finalizer on the reconciler of ${resource.kind}, which has cleanup, found none`,
      );
    }
    if (options.sharded && this.#options.sharding?.enabled === false) {
      throw new TypeError(
        `Expected sharding enabled for the sharded controller of ${resource.kind}, found sharding.enabled false`,
      );
    }
    this.#registered.push({
      resource: toResourceType(resource),
      reconciler: reconciler as unknown as OperatorReconciler<KubeObject>,
      sharded: options.sharded ?? false,
    });
    return this;
  }

  /**
   * Starts everything and resolves once it listens; the returned handle
   * stops it.
   *
   * @example
   * ```ts
   * import { Operator, type OperatorReconciler } from "@k8s-operator/k8s-operator";
   * import { Website } from "../examples/resources.ts";
   * async function startAndStop(reconciler: OperatorReconciler<Website>): Promise<void> {
   *   const running = await Operator.fromEnv().controller(Website, reconciler).start();
   *   await running.stop();
   * }
   * ```
   */
  async start(): Promise<RunningOperator> {
    return await Running.start(this.config, {
      options: this.#options,
      kubeConfig: this.#options.kubeConfig ??
        loadKubeConfig({ env: this.#kubeConfigEnv }),
      registered: [...this.#registered],
    });
  }

  /**
   * Starts everything and resolves after a graceful shutdown (SIGTERM or
   * SIGINT); rejects when a port is taken or a controller fails.
   *
   * @example
   * ```ts
   * import { Operator, type OperatorReconciler } from "@k8s-operator/k8s-operator";
   * import { Website } from "../examples/resources.ts";
   * // A replica's main: runs until SIGTERM, then hands over and exits.
   * const main = (reconciler: OperatorReconciler<Website>) =>
   *   Operator.fromEnv().controller(Website, reconciler).run();
   * ```
   */
  async run(): Promise<void> {
    const running = await this.start();
    await running.finished;
  }
}
