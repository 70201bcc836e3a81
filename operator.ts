/**
 * The Operator builder: one call wires a StatefulSet pod into a
 * highly-available operator. Pod identity and peers come from discovery,
 * leadership from Raft over HTTP, and the controllers reconcile only on the
 * leader.
 *
 * @module
 */
import type { KubeConfig } from "@kubernetes/client-node";
import {
  KubeClient,
  type KubeObject,
  loadKubeConfig,
  type ResourceType,
} from "./controller/client.ts";
import { Controller, type ControllerOptions } from "./controller/controller.ts";
import { LeaderElection } from "./controller/leader_election.ts";
import {
  consoleLogger,
  type LogFields,
  type Logger,
} from "./controller/log.ts";
import type { Reconciler } from "./controller/reconciler.ts";
import type { EnvSource } from "./discovery/pod_identity.ts";
import { followReplicas } from "./_follow_replicas.ts";
import { peerUrls } from "./_peer_urls.ts";
import { legacyStateReason } from "./raft/_validate.ts";
import { FileStorage } from "./raft/file_storage.ts";
import { KeyValueStore, ReplicatedKv } from "./raft/kv.ts";
import { MemoryStorage } from "./raft/memory_storage.ts";
import { type NodeStatus, RaftNode } from "./raft/node.ts";
import { HttpTransport, type TransportError } from "./raft/transport.ts";
import type { Message, NodeId } from "./raft/types.ts";
import type { Storage } from "./raft/storage.ts";
import { getEnv, onSignal, serve } from "./platform/mod.ts";
import type { HttpServer } from "./platform/mod.ts";
import { type OperatorConfig, readOperatorEnv } from "./_operator_env.ts";
import { ApiHealth, probeApi, watchObserver } from "./_api_health.ts";
import { ApiFailover, DEFAULT_TRANSFER_AFTER_MS } from "./_api_failover.ts";
import { controllerMetrics } from "./metrics/controller.ts";
import { RaftMetrics } from "./metrics/raft.ts";
import { MetricsRegistry } from "./metrics/registry.ts";

export { OperatorConfigError } from "./_operator_env.ts";

export type { OperatorConfig } from "./_operator_env.ts";

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
 * ```ts ignore
 * const reconciler: OperatorReconciler<Website> = {
 *   finalizer: "example.k8s-operator.dev/cleanup",
 *   owns: [configMaps, deployments],
 *   async reconcile(site, ctx) { return ReconcileResult.done(); },
 *   async cleanup(site, ctx) { return ReconcileResult.done(); },
 * };
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
  /** The component events are reported as (default: the cluster id). */
  component?: string;
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
 * ```ts ignore
 * const operator = Operator.fromEnv({
 *   env: { RAFT_NODE_ID: "0", RAFT_PEERS: "0=127.0.0.1:7000", RAFT_SECRET: "0123456789abcdef" },
 *   kubeConfig: server.kubeConfig(),
 *   hostname: "127.0.0.1",
 *   signals: false,
 * });
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
}

/**
 * What `/readyz` reports: `RaftNode.readiness()`, ready once this node has
 * applied everything its leader had committed and heard from it within an
 * election timeout.
 *
 * @example
 * ```ts ignore
 * const { ready, reason } = running.readiness();
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
 * ```ts ignore
 * const running = await Operator.fromEnv().controller(Website, reconciler).start();
 * console.log(running.httpPort, running.status().role);
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

interface Registered {
  resource: ResourceType;
  reconciler: OperatorReconciler<KubeObject>;
}

/**
 * Opens the Raft data directory. State of k8s-operator 0.1.0, which a node
 * refuses (memberships without incarnations), is set aside first into
 * `k8s-operator-0.1.0/` inside it: the member then joins as a new one, and
 * when every member does so at once (an upgrade restarts them all), they
 * start a new cluster. The operator's state lives in Kubernetes; the log
 * only elected.
 */
async function openFileStorage(
  dir: string,
  logger: Logger,
): Promise<FileStorage> {
  const storage = await FileStorage.open(dir);
  const reason = legacyStateReason(storage.load());
  if (reason === null) return storage;
  await storage.close();
  const aside = await FileStorage.setAside(dir, "k8s-operator-0.1.0");
  logger.warn(
    "raft: the data directory holds state of k8s-operator 0.1.0; set it aside, this member joins as a new one",
    { dir, aside, reason },
  );
  return await FileStorage.open(dir);
}

function toResourceType(source: ResourceSource): ResourceType {
  if ("namespaced" in source) return source;
  return {
    group: source.group,
    version: source.version,
    plural: source.plural,
    kind: source.kind,
    namespaced: source.scope === "Namespaced",
  };
}

function defaultKubeConfig(env: EnvSource | undefined): KubeConfig {
  const read = (name: string) => env === undefined ? getEnv(name) : env[name];
  return loadKubeConfig({
    env: {
      KUBECONFIG: read("KUBECONFIG"),
      KUBERNETES_SERVICE_HOST: read("KUBERNETES_SERVICE_HOST"),
    },
  });
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
  readonly #registered: Registered[] = [];

  private constructor(config: OperatorConfig, options: OperatorOptions) {
    this.config = config;
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
   * import { Operator } from "@k8s-operator/k8s-operator";
   * const operator = Operator.fromEnv({
   *   env: { RAFT_NODE_ID: "1", RAFT_PEERS: "0=10.0.0.1:7000,1=10.0.0.2:7000,2=10.0.0.3:7000", RAFT_SECRET: "0123456789abcdef" },
   * });
   * console.log(operator.config.raft.nodeId, operator.config.httpPort); // 1 8080
   * ```
   */
  static fromEnv(options: OperatorOptions = {}): Operator {
    return new Operator(readOperatorEnv(options.env), options);
  }

  /**
   * Adds a controller of `resource` run by `reconciler` (which may also say
   * what the controller owns and its finalizer).
   *
   * @example
   * ```ts ignore
   * Operator.fromEnv().controller(Website, { async reconcile() { return ReconcileResult.done(); } });
   * ```
   */
  controller<T extends KubeObject>(
    resource: ResourceSource,
    reconciler: OperatorReconciler<T>,
  ): this {
    if (reconciler.cleanup && !reconciler.finalizer) {
      throw new TypeError(
        `Expected a finalizer on the reconciler of ${resource.kind}, which has cleanup, found none`,
      );
    }
    this.#registered.push({
      resource: toResourceType(resource),
      reconciler: reconciler as unknown as OperatorReconciler<KubeObject>,
    });
    return this;
  }

  /**
   * Starts everything and resolves once it listens; the returned handle
   * stops it.
   *
   * @example
   * ```ts ignore
   * const running = await Operator.fromEnv().controller(Website, reconciler).start();
   * await running.stop();
   * ```
   */
  start(): Promise<RunningOperator> {
    return Running.start(this.config, {
      options: this.#options,
      registered: [...this.#registered],
    });
  }

  /**
   * Starts everything and resolves after a graceful shutdown (SIGTERM or
   * SIGINT); rejects when a port is taken or a controller fails.
   *
   * @example
   * ```ts ignore
   * await Operator.fromEnv().controller(Website, reconciler).run();
   * ```
   */
  async run(): Promise<void> {
    const running = await this.start();
    await running.finished;
  }
}

class Running implements RunningOperator {
  readonly config: OperatorConfig;
  readonly node: RaftNode;
  readonly election: LeaderElection;
  readonly kv: ReplicatedKv;
  readonly controllers: Controller<KubeObject>[];
  readonly metrics: MetricsRegistry;
  readonly raftPort: number;
  readonly httpPort: number;
  readonly finished: Promise<void>;
  readonly #transport: HttpTransport;
  readonly #server: HttpServer;
  readonly #stopControllers: AbortController;
  readonly #cleanup: (() => void)[];
  readonly #logger: Logger;
  readonly #stopped: PromiseWithResolvers<void>;
  #stopping: Promise<void> | null = null;
  #failure: Error | null = null;

  private constructor(init: {
    config: OperatorConfig;
    node: RaftNode;
    election: LeaderElection;
    kv: ReplicatedKv;
    controllers: Controller<KubeObject>[];
    metrics: MetricsRegistry;
    transport: HttpTransport;
    server: HttpServer;
    stopControllers: AbortController;
    runs: Promise<void>[];
    cleanup: (() => void)[];
    logger: Logger;
  }) {
    this.config = init.config;
    this.node = init.node;
    this.election = init.election;
    this.kv = init.kv;
    this.controllers = init.controllers;
    this.metrics = init.metrics;
    this.#transport = init.transport;
    this.#server = init.server;
    this.raftPort = init.transport.port ?? init.config.raft.listenPort;
    this.httpPort = init.server.port;
    this.#stopControllers = init.stopControllers;
    this.#cleanup = init.cleanup;
    this.#logger = init.logger;
    this.#stopped = Promise.withResolvers<void>();
    this.finished = this.#stopped.promise;
    Promise.all(init.runs).catch((error) => {
      this.#failure ??= error as Error;
      this.#logger.error("a controller failed, stopping", { error });
      this.stop().catch((error) =>
        this.#logger.error("shutdown failed", { error })
      );
    });
  }

  static async start(
    config: OperatorConfig,
    init: { options: OperatorOptions; registered: Registered[] },
  ): Promise<Running> {
    const { options, registered } = init;
    const logger = options.logger ?? consoleLogger;
    const clock = options.clock ?? (() => performance.now());
    const kubeConfig = options.kubeConfig ?? defaultKubeConfig(options.env);
    const client = KubeClient.fromKubeConfig(kubeConfig);
    const { raft } = config;
    const election = new LeaderElection(raft.nodeId, {
      requireLease: true,
      now: clock,
    });
    const metrics = new MetricsRegistry({
      defaultLabels: { node: String(raft.nodeId) },
    });
    const storage: Storage = RaftMetrics.instrumentStorage(
      config.dataDir === null
        ? new MemoryStorage()
        : await openFileStorage(config.dataDir, logger),
      { registry: metrics },
    );
    const peerUrl = peerUrls(raft, options.peerAddress);
    const apiHealth = new ApiHealth(clock);
    let failover: ApiFailover | null = null;
    let node: RaftNode | null = null;
    let raftMetrics: RaftMetrics | null = null;
    // Refusals are logged once a minute per peer and reason: a peer on
    // another version or secret would otherwise log every heartbeat.
    const logged = new Map<string, number>();
    const warnOnce = (key: string, message: string, fields: LogFields) => {
      const now = clock();
      if ((logged.get(key) ?? -Infinity) + 60_000 > now) return;
      logged.set(key, now);
      logger.warn(message, fields);
    };
    const transport = new HttpTransport({
      id: raft.nodeId,
      clusterId: config.clusterId,
      secret: config.secret,
      acceptedSecrets: config.acceptedSecrets,
      peerUrl,
      onSendError: (peer, error) => {
        raftMetrics?.sendFailed(peer);
        const reason = (error as TransportError).reason;
        if (reason === "version" || reason === "signature") {
          warnOnce(`send ${peer} ${reason}`, "a peer refused our messages", {
            peer,
            reason,
            error: (error as Error).message,
          });
        }
      },
      onRefused: (refusal) => {
        raftMetrics?.refused(refusal.reason);
        warnOnce(
          `refused ${refusal.peer} ${refusal.reason}`,
          "refused a peer request",
          { ...refusal },
        );
      },
      onMessages: (messages: Message[]) => {
        raftMetrics?.received(messages);
        failover?.receive(messages);
        node?.receive(messages);
      },
    });
    const store = new KeyValueStore();
    node = await RaftNode.start({
      id: raft.nodeId,
      storage,
      bootstrap: { voters: raft.voters(), learners: [] },
      stateMachine: store,
      send: (messages) => {
        raftMetrics?.sent(messages);
        return transport.send(failover?.mark(messages) ?? messages);
      },
      tickMs: options.raft?.tickMs ?? config.tickMs ?? undefined,
      electionTicks: options.raft?.electionTicks ?? config.electionTicks ??
        undefined,
      random: options.raft?.random,
      clock,
      election,
    });
    const started = node;
    raftMetrics = new RaftMetrics(started, { registry: metrics });
    failover = new ApiFailover({
      node: started,
      health: apiHealth,
      clock,
      transferAfterMs: options.apiUnreachableTransferAfterMs ??
        config.apiUnreachableTransferAfterMs ?? DEFAULT_TRANSFER_AFTER_MS,
      // An answer older than the minimum election timeout (the node's
      // default is 6 ticks) is too old to vouch for a follower.
      maxTicksSinceAck: options.raft?.electionTicks ?? config.electionTicks ??
        6,
      logger,
    });
    const checkFailover = setInterval(() => failover?.check(), 250);
    const cleanup: (() => void)[] = [
      () => raftMetrics?.stop(),
      () => clearInterval(checkFailover),
    ];
    cleanup.push(
      started.onRoleChange((change) => {
        logger.info("role changed", {
          node: raft.nodeId,
          role: change.role,
          term: change.term,
          leader: change.leader,
        });
      }),
    );
    try {
      await transport.listen({
        port: raft.listenPort,
        hostname: options.hostname,
      });
      // Peers that backed off from this node while it was down hear from it
      // now, before its election timer runs out.
      const { conf } = started.status();
      transport.connect([
        ...raft.peers.keys(),
        ...conf.voters,
        ...conf.learners,
      ]);
    } catch (error) {
      for (const off of cleanup) off();
      await started.stop({ transfer: false });
      await transport.close();
      throw error;
    }
    const stopControllers = new AbortController();
    const controllers = registered.map(({ resource, reconciler }) => {
      const hooks = controllerMetrics({
        registry: metrics,
        controller: resource.plural,
        concurrency: reconciler.concurrency,
      });
      const controllerOptions: ControllerOptions<KubeObject> = {
        observer: hooks.observer,
        queue: { observer: hooks.queue },
        watch: { observer: watchObserver(apiHealth, hooks.watch) },
        events: { observer: hooks.events },
        client,
        guard: election.guard(),
        namespace: reconciler.namespace ?? config.watchNamespace ?? undefined,
        labelSelector: reconciler.labelSelector,
        concurrency: reconciler.concurrency,
        finalizer: reconciler.finalizer,
        predicate: reconciler.predicate,
        component: reconciler.component ?? config.clusterId,
        logger,
      };
      const controller = Controller.for<KubeObject>(
        resource,
        controllerOptions,
      );
      for (const child of reconciler.owns ?? []) {
        controller.owns(toResourceType(child));
      }
      return controller;
    });
    if (
      raft.identity !== null &&
      (options.followStatefulSet ?? config.followStatefulSet)
    ) {
      cleanup.push(followWhileLeading(started, {
        client,
        namespace: raft.identity.namespace,
        name: raft.identity.statefulSet,
        logger,
      }));
    }
    let running: Running | null = null;
    let server: HttpServer;
    try {
      server = await serve(
        (request) =>
          running === null ? unavailable() : running.#handle(request, options),
        { port: config.httpPort, hostname: options.hostname },
      );
    } catch (error) {
      for (const off of cleanup) off();
      await started.stop({ transfer: false });
      await transport.close();
      throw error;
    }
    const runs = controllers.map((controller, i) =>
      controller.run(registered[i].reconciler, {
        signal: stopControllers.signal,
      })
    );
    probeApi(client, {
      health: apiHealth,
      clock,
      signal: stopControllers.signal,
    });
    running = new Running({
      config,
      node: started,
      election,
      kv: new ReplicatedKv(started, store),
      controllers,
      metrics,
      transport,
      server,
      stopControllers,
      runs,
      cleanup,
      logger,
    });
    const self = running;
    if (options.signals ?? true) {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        cleanup.push(onSignal(signal, () => {
          logger.info("stopping", { node: raft.nodeId, signal });
          self.stop().catch((error) =>
            logger.error("shutdown failed", { error })
          );
        }));
      }
    }
    logger.info("operator started", {
      node: raft.nodeId,
      raftPort: self.raftPort,
      httpPort: self.httpPort,
      storage: config.dataDir === null ? "memory" : config.dataDir,
      peers: Object.fromEntries(raft.peers),
    });
    logger.info(watchingMessage(registered, config), {
      node: raft.nodeId,
      namespaces: Object.fromEntries(
        registered.map(({ resource, reconciler }) => [
          resourceName(resource),
          reconciler.namespace ?? config.watchNamespace ?? "*",
        ]),
      ),
    });
    return self;
  }

  status(): NodeStatus {
    return this.node.status();
  }

  readiness(): Readiness {
    return this.node.readiness();
  }

  async #handle(request: Request, options: OperatorOptions): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, "Expected GET");
    }
    if (path === "/healthz") {
      const failure = this.node.failure;
      return failure === null
        ? text(200, "ok")
        : text(503, `Raft node failed: ${failure.message}`);
    }
    if (path === "/readyz") {
      const { ready, reason } = this.readiness();
      return text(ready ? 200 : 503, reason);
    }
    if (path === "/metrics") {
      return options.metrics
        ? await options.metrics(request)
        : await this.metrics.handler()(request);
    }
    return text(404, "Not found: try /healthz, /readyz or /metrics");
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown().then(
      () => {
        if (this.#failure === null) this.#stopped.resolve();
        else this.#stopped.reject(this.#failure);
      },
      (error) => {
        this.#stopped.reject(error);
        throw error;
      },
    );
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    for (const off of this.#cleanup.splice(0)) off();
    // Hand leadership over first (this ends our leadership, so reconciles
    // in flight are cancelled), then stop watching, then close the doors.
    const handedTo = await this.node.transferLeadership().catch((error) => {
      this.#logger.warn("leadership handover failed", { error });
      return null;
    });
    if (handedTo !== null) {
      this.#logger.info("handed leadership over", {
        node: this.config.raft.nodeId,
        to: handedTo,
      });
    }
    await this.node.stop({ transfer: false });
    this.#stopControllers.abort();
    await this.#transport.close();
    await this.#server.shutdown();
    this.#logger.info("operator stopped", { node: this.config.raft.nodeId });
  }
}

/**
 * Follows the StatefulSet's replicas whenever `node` leads, until the
 * returned function is called.
 */
function followWhileLeading(
  node: RaftNode,
  init: { client: KubeClient; namespace: string; name: string; logger: Logger },
): () => void {
  let following: AbortController | null = null;
  const update = (leading: boolean) => {
    if (leading && following === null) {
      const stop = new AbortController();
      following = stop;
      followReplicas({ node, ...init, signal: stop.signal }).finally(() => {
        if (following === stop) following = null;
      });
    } else if (!leading && following !== null) {
      following.abort();
      following = null;
    }
  };
  const off = node.onRoleChange((change) => update(change.role === "leader"));
  update(node.status().role === "leader");
  return () => {
    off();
    update(false);
  };
}

function resourceName(resource: ResourceType): string {
  return resource.group === ""
    ? resource.plural
    : `${resource.plural}.${resource.group}`;
}

/**
 * Which namespaces the controllers watch, in one sentence (objects
 * elsewhere are ignored, silently otherwise).
 */
function watchingMessage(
  registered: readonly Registered[],
  config: OperatorConfig,
): string {
  if (registered.length === 0) return "watching nothing: no controller added";
  const parts = registered.map(({ resource, reconciler }) => {
    const namespace = reconciler.namespace ?? config.watchNamespace;
    const where = namespace === null
      ? "in all namespaces"
      : `in namespace ${namespace} only${
        reconciler.namespace === undefined ? " (WATCH_NAMESPACE)" : ""
      }`;
    return `${resourceName(resource)} ${where}`;
  });
  return `watching ${parts.join(", ")}`;
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

function unavailable(): Response {
  return text(503, "Starting");
}
