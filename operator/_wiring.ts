/**
 * Internal: builds and starts the parts of an operator, in order: the Raft
 * storage, transport and node, the API failover, metrics, the controllers
 * (built, not yet run), following the StatefulSet, and the HTTP server. A
 * failure part-way tears down what had started (`_teardown.ts`) before it
 * is thrown.
 *
 * @module
 */
import { KubeClient } from "../client/kube_client.ts";
import type { KubeConfig } from "../client/kubeconfig.ts";
import type { KubeObject, ResourceType } from "../client/objects.ts";
import { consoleLogger, type LogFields, type Logger } from "../common/log.ts";
import {
  Controller,
  type ControllerOptions,
} from "../controller/controller.ts";
import { LeaderElection } from "../controller/leader_election.ts";
import { controllerMetrics } from "../metrics/controller.ts";
import { RaftMetrics } from "../metrics/raft.ts";
import { shardingMetrics } from "../metrics/sharding.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import { type HttpServer, serve } from "../platform/mod.ts";
import { openSettingLegacyAside } from "../raft/file_storage.ts";
import { KeyValueStore } from "../raft/kv.ts";
import { MemoryStorage } from "../raft/memory_storage.ts";
import { RaftNode } from "../raft/node.ts";
import type { Storage } from "../raft/storage.ts";
import { HttpTransport, type TransportError } from "../raft/transport.ts";
import type { Message } from "../raft/types.ts";
import { ApiFailover, DEFAULT_TRANSFER_AFTER_MS } from "./_api_failover.ts";
import { ApiHealth, watchObserver } from "./_api_health.ts";
import { ApiStandAside, DEFAULT_RELEASE_AFTER_MS } from "./_api_stand_aside.ts";
import {
  followReplicas,
  type FollowReplicasOptions,
} from "./_follow_replicas.ts";
import { answer, type Probed } from "./_http.ts";
import { peerUrls } from "./_peer_urls.ts";
import { changedWithinMs } from "./_changed_within.ts";
import { ShardRuntime } from "./_shards.ts";
import { type Parts, tearDown } from "./_teardown.ts";
import type { OperatorConfig } from "./config.ts";
import type {
  OperatorOptions,
  OperatorReconciler,
  ResourceSource,
} from "./operator.ts";

/** A controller to run: its resource and its reconciler. */
export interface Registered {
  /** The primary resource. */
  resource: ResourceType;
  /** The reconciler and how its controller watches. */
  reconciler: OperatorReconciler<KubeObject>;
  /** Whether the controller is sharded (default: leader-only). */
  sharded: boolean;
}

/** What {@linkcode wire} is given. */
export interface WireInit {
  /** The builder's options. */
  options: OperatorOptions;
  /** The cluster to talk to. */
  kubeConfig: KubeConfig;
  /** The controllers, in the order they were added. */
  registered: readonly Registered[];
}

/** An operator's parts, started; the controllers are built, not yet run. */
export interface Wired {
  /** What {@linkcode tearDown} stops; `node` and `server` are set. */
  parts: Parts;
  /** The Raft node. */
  node: RaftNode;
  /** The HTTP server of `/healthz`, `/readyz` and `/metrics`. */
  server: HttpServer;
  /** The state machine the node applies to. */
  store: KeyValueStore;
  /** The leader election the node reports into. */
  election: LeaderElection;
  /** The client of the controllers, the probe and the follower. */
  client: KubeClient;
  /** Whether this replica reaches the API server. */
  apiHealth: ApiHealth;
  /** The registry `/metrics` serves. */
  metrics: MetricsRegistry;
  /** The controllers, in the order they were added. */
  controllers: Controller<KubeObject>[];
  /** The HTTP server answers `503 Starting` until this is called. */
  open(probed: Probed): void;
}

/**
 * Starts every part of the operator but the controllers' runs. On a
 * failure (a port taken, a data directory unreadable) what had started is
 * torn down before the error is thrown.
 */
export async function wire(
  config: OperatorConfig,
  init: WireInit,
): Promise<Wired> {
  const wiring = await prepare(config, init);
  try {
    return await startParts(wiring, init.registered);
  } catch (error) {
    await tearDown(wiring.parts, { handOver: false, logger: wiring.logger });
    throw error;
  }
}

/** The parts the others are built on, and how they reach each other. */
interface Wiring {
  config: OperatorConfig;
  options: OperatorOptions;
  logger: Logger;
  clock: () => number;
  client: KubeClient;
  metrics: MetricsRegistry;
  storage: Storage;
  apiHealth: ApiHealth;
  /** The transport's callbacks reach parts created after it. */
  late: LateParts;
  transport: HttpTransport;
  /** What {@linkcode tearDown} stops. */
  parts: Parts;
}

/** The parts the transport's callbacks reach, once they exist. */
interface LateParts {
  node: RaftNode | null;
  failover: ApiFailover | null;
  raftMetrics: RaftMetrics | null;
  shards: ShardRuntime | null;
}

/**
 * The client, the metrics registry, the Raft storage and the transport
 * (built, not yet listening): nothing that must be torn down.
 */
async function prepare(
  config: OperatorConfig,
  init: WireInit,
): Promise<Wiring> {
  const { options } = init;
  const logger = options.logger ?? consoleLogger;
  const clock = options.clock ?? (() => performance.now());
  const client = KubeClient.fromKubeConfig(init.kubeConfig);
  const { raft } = config;
  const metrics = new MetricsRegistry({
    defaultLabels: { node: String(raft.nodeId) },
  });
  const storage = RaftMetrics.instrumentStorage(
    await openStorage(config.dataDir, logger),
    { registry: metrics },
  );
  const apiHealth = new ApiHealth(clock);
  const late: LateParts = {
    node: null,
    failover: null,
    raftMetrics: null,
    shards: null,
  };
  const transport = raftTransport(config, {
    peerUrl: peerUrls(raft, options.peerAddress),
    clock,
    logger,
    late,
  });
  const parts: Parts = {
    id: raft.nodeId,
    cleanup: [],
    stopControllers: new AbortController(),
    transport,
    node: null,
    shards: null,
    server: null,
  };
  return {
    config,
    options,
    logger,
    clock,
    client,
    metrics,
    storage,
    apiHealth,
    late,
    transport,
    parts,
  };
}

/**
 * Starts the parts in order: the Raft node (with sharding when a
 * controller is sharded), the API failover, the transport's listener, the
 * controllers (built), the follower of the StatefulSet, the HTTP server.
 */
async function startParts(
  wiring: Wiring,
  registered: readonly Registered[],
): Promise<Wired> {
  const { config, options, clock, parts } = wiring;
  const election = new LeaderElection(config.raft.nodeId, {
    requireLease: true,
    now: clock,
  });
  const store = new KeyValueStore();
  const electionTicks = options.raft?.electionTicks ?? config.electionTicks;
  const tickMs = options.raft?.tickMs ?? config.tickMs ?? undefined;
  const shards = shardRuntime(wiring, { registered, tickMs });
  wiring.late.shards = shards;
  const node = await startNode(wiring, {
    election,
    store,
    shards,
    electionTicks,
    tickMs,
  });
  startFailover(wiring, { node, shards, electionTicks });
  await listenToPeers(wiring, node);
  const controllers = registered.map((r) =>
    buildController(r, {
      config,
      client: wiring.client,
      election,
      shards,
      changedWithinMs: changedWithinMs({
        grants: r.sharded && shards !== null ? shards.timing : null,
        memberTimeoutMs: options.sharding?.memberTimeoutMs,
        tickMs,
        electionTicks,
      }),
      metrics: wiring.metrics,
      apiHealth: wiring.apiHealth,
      logger: wiring.logger,
    })
  );
  followStatefulSet(wiring, { node, shards });
  let probed: Probed | null = null;
  const server = await serve(
    (request) => answer(request, probed),
    { port: config.httpPort, hostname: options.hostname },
  );
  parts.server = server;
  return {
    parts,
    node,
    server,
    store,
    election,
    client: wiring.client,
    apiHealth: wiring.apiHealth,
    metrics: wiring.metrics,
    controllers,
    open: (target) => {
      probed = target;
    },
  };
}

/**
 * The sharding runtime, with its metrics. Sharding runs only when a
 * controller is sharded (or it is enabled for one built on
 * `RunningOperator.shards`): otherwise no byte on the wire and no entry in
 * the log differs.
 */
function shardRuntime(
  wiring: Wiring,
  init: { registered: readonly Registered[]; tickMs: number | undefined },
): ShardRuntime | null {
  const { options, metrics } = wiring;
  let recordHandover = (_ms: number) => {};
  const sharding = options.sharding?.enabled ??
    init.registered.some((r) => r.sharded);
  const shards = sharding
    ? new ShardRuntime({
      ...options.sharding,
      id: wiring.config.raft.nodeId,
      clock: wiring.clock,
      tickMs: init.tickMs,
      logger: wiring.logger,
      onHandover: (ms) => recordHandover(ms),
    })
    : null;
  if (shards !== null) {
    recordHandover = shardingMetrics({
      registry: metrics,
      stats: () => shards.stats(),
    });
  }
  return shards;
}

/** Starts the Raft node on the storage, sending through the transport. */
async function startNode(
  wiring: Wiring,
  init: {
    election: LeaderElection;
    store: KeyValueStore;
    shards: ShardRuntime | null;
    electionTicks: number | null | undefined;
    tickMs: number | undefined;
  },
): Promise<RaftNode> {
  const { config: { raft }, late, transport, parts } = wiring;
  const { shards } = init;
  const node = await RaftNode.start({
    id: raft.nodeId,
    storage: wiring.storage,
    bootstrap: { voters: raft.voters(), learners: [] },
    stateMachine: shards?.stateMachine(init.store) ?? init.store,
    send: (messages) => {
      late.raftMetrics?.sent(messages);
      const out = shards?.outgoing(messages) ?? messages;
      return transport.send(late.failover?.mark(out) ?? out);
    },
    tickMs: init.tickMs,
    electionTicks: init.electionTicks ?? undefined,
    random: wiring.options.raft?.random,
    clock: wiring.clock,
    election: init.election,
  });
  parts.node = late.node = node;
  if (shards !== null) {
    shards.attach(node);
    parts.shards = shards;
  }
  return node;
}

/**
 * The node's metrics, the API failover and, with shards, the stand-aside
 * (both checked every 250 ms), and a log line on each role change; all
 * stopped with the other parts.
 */
function startFailover(
  wiring: Wiring,
  init: {
    node: RaftNode;
    shards: ShardRuntime | null;
    electionTicks: number | null | undefined;
  },
): void {
  const { config, options, logger, late } = wiring;
  const { node, shards } = init;
  const raftMetrics = new RaftMetrics(node, { registry: wiring.metrics });
  late.raftMetrics = raftMetrics;
  const failover = new ApiFailover({
    node,
    health: wiring.apiHealth,
    clock: wiring.clock,
    transferAfterMs: options.apiUnreachableTransferAfterMs ??
      config.apiUnreachableTransferAfterMs ?? DEFAULT_TRANSFER_AFTER_MS,
    // An answer older than the minimum election timeout (the node's
    // default is 6 ticks) is too old to vouch for a follower.
    maxTicksSinceAck: init.electionTicks ?? 6,
    logger,
  });
  late.failover = failover;
  const standAside = shards === null ? null : new ApiStandAside({
    shards,
    health: wiring.apiHealth,
    releaseAfterMs: options.apiUnreachableReleaseAfterMs ??
      config.apiUnreachableReleaseAfterMs ?? DEFAULT_RELEASE_AFTER_MS,
    logger,
  });
  const checkFailover = setInterval(() => {
    failover.check();
    standAside?.check();
  }, 250);
  wiring.parts.cleanup.push(
    () => raftMetrics.stop(),
    () => clearInterval(checkFailover),
    node.onRoleChange((change) => {
      logger.info("role changed", {
        node: config.raft.nodeId,
        role: change.role,
        term: change.term,
        leader: change.leader,
      });
    }),
  );
}

/**
 * Listens for peers, then reaches out to every member: peers that backed
 * off from this node while it was down hear from it now, before its
 * election timer runs out.
 */
async function listenToPeers(wiring: Wiring, node: RaftNode): Promise<void> {
  const { config: { raft }, transport } = wiring;
  await transport.listen({
    port: raft.listenPort,
    hostname: wiring.options.hostname,
  });
  const { conf } = node.status();
  transport.connect([...raft.peers.keys(), ...conf.voters, ...conf.learners]);
}

/**
 * Follows the operator's own StatefulSet while leading, when the pod knows
 * its identity and following is on.
 */
function followStatefulSet(
  wiring: Wiring,
  init: { node: RaftNode; shards: ShardRuntime | null },
): void {
  const { config: { raft }, options, config } = wiring;
  const { shards } = init;
  if (
    raft.identity === null ||
    !(options.followStatefulSet ?? config.followStatefulSet)
  ) return;
  wiring.parts.cleanup.push(followWhileLeading(init.node, {
    client: wiring.client,
    namespace: raft.identity.namespace,
    name: raft.identity.statefulSet,
    logger: wiring.logger,
    // Shards leave the members about to go before they do.
    beforeChange: shards === null
      ? undefined
      : (voters) => shards.handOverTo(voters),
  }));
}

/**
 * The Raft storage: on disk in `dataDir` (state of k8s-operator 0.1.0 set
 * aside first, see `openSettingLegacyAside`: the operator's state lives in
 * Kubernetes; the log only elected), else in memory.
 */
async function openStorage(
  dataDir: string | null,
  logger: Logger,
): Promise<Storage> {
  if (dataDir === null) return new MemoryStorage();
  const { storage, setAside } = await openSettingLegacyAside(dataDir);
  if (setAside !== null) {
    logger.warn(
      "raft: the data directory holds state of k8s-operator 0.1.0; set it aside, this member joins as a new one",
      { dir: dataDir, ...setAside },
    );
  }
  return storage;
}

/**
 * The Raft transport, whose callbacks count messages and failures, feed the
 * failover its followers' reports and the node its messages. Refusals are
 * logged once a minute per peer and reason: a peer on another version or
 * secret would otherwise log every heartbeat.
 */
function raftTransport(
  config: OperatorConfig,
  init: {
    peerUrl: ReturnType<typeof peerUrls>;
    clock: () => number;
    logger: Logger;
    late: LateParts;
  },
): HttpTransport {
  const { clock, logger, late } = init;
  const logged = new Map<string, number>();
  const warnOnce = (key: string, message: string, fields: LogFields) => {
    const now = clock();
    if ((logged.get(key) ?? -Infinity) + 60_000 > now) return;
    logged.set(key, now);
    logger.warn(message, fields);
  };
  return new HttpTransport({
    id: config.raft.nodeId,
    clusterId: config.clusterId,
    secret: config.secret,
    acceptedSecrets: config.acceptedSecrets,
    peerUrl: init.peerUrl,
    onSendError: (peer, error) => {
      late.raftMetrics?.sendFailed(peer);
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
      late.raftMetrics?.refused(refusal.reason);
      warnOnce(
        `refused ${refusal.peer} ${refusal.reason}`,
        "refused a peer request",
        { ...refusal },
      );
    },
    onMessages: (messages: Message[]) => {
      late.raftMetrics?.received(messages);
      late.failover?.receive(messages);
      late.node?.receive(late.shards?.incoming(messages) ?? messages);
    },
  });
}

/** A controller of `registered`, with its metrics and the API health. */
function buildController(
  registered: Registered,
  init: {
    config: OperatorConfig;
    client: KubeClient;
    election: LeaderElection;
    shards: ShardRuntime | null;
    changedWithinMs: number;
    metrics: MetricsRegistry;
    apiHealth: ApiHealth;
    logger: Logger;
  },
): Controller<KubeObject> {
  const { resource, reconciler } = registered;
  const { config } = init;
  const hooks = controllerMetrics({
    registry: init.metrics,
    controller: resource.plural,
    concurrency: reconciler.concurrency,
  });
  const options: ControllerOptions<KubeObject> = {
    observer: hooks.observer,
    queue: { observer: hooks.queue },
    watch: { observer: watchObserver(init.apiHealth, hooks.watch) },
    events: { observer: hooks.events },
    client: init.client,
    guard: init.election.guard(),
    shards: registered.sharded ? init.shards ?? undefined : undefined,
    namespace: reconciler.namespace ?? config.watchNamespace ?? undefined,
    labelSelector: reconciler.labelSelector,
    concurrency: reconciler.concurrency,
    finalizer: reconciler.finalizer,
    predicate: reconciler.predicate,
    changedWithinMs: reconciler.changedWithinMs ?? init.changedWithinMs,
    component: reconciler.component ?? config.clusterId,
    logger: init.logger,
  };
  const controller = Controller.for<KubeObject>(resource, options);
  for (const child of reconciler.owns ?? []) {
    controller.owns(toResourceType(child));
  }
  return controller;
}

/**
 * A resource as the controller describes it, from one as
 * `defineCustomResource` describes it (`scope`) or already as the
 * controller does (`namespaced`).
 */
export function toResourceType(source: ResourceSource): ResourceType {
  if ("namespaced" in source) return source;
  return {
    group: source.group,
    version: source.version,
    plural: source.plural,
    kind: source.kind,
    namespaced: source.scope === "Namespaced",
  };
}

/**
 * Follows the StatefulSet's replicas whenever `node` leads, until the
 * returned function is called.
 */
function followWhileLeading(
  node: RaftNode,
  init: Omit<FollowReplicasOptions, "node" | "signal">,
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
