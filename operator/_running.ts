/**
 * Internal: a started operator's handle ({@linkcode RunningOperator}): it
 * runs the controllers and the API probe on the parts `_wiring.ts` started,
 * stops on SIGTERM and SIGINT, when a controller fails or when asked, and
 * reports why it finished.
 *
 * @module
 */
import type { KubeObject, ResourceType } from "../client/objects.ts";
import type { Logger } from "../common/log.ts";
import { consoleLogger } from "../common/log.ts";
import type { Controller } from "../controller/controller.ts";
import type { LeaderElection } from "../controller/leader_election.ts";
import type { ShardGate } from "../controller/shard_gate.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import { onSignal } from "../platform/mod.ts";
import { ReplicatedKv } from "../raft/kv.ts";
import type { NodeStatus, RaftNode } from "../raft/node.ts";
import { probeApi } from "./_api_health.ts";
import { type Parts, tearDown } from "./_teardown.ts";
import { type Registered, wire, type WireInit } from "./_wiring.ts";
import type { OperatorConfig } from "./config.ts";
import type { Readiness, RunningOperator } from "./operator.ts";

/** The runtime's gate alone (its other methods stay the operator's). */
function gateOf(runtime: ShardGate | null): ShardGate | null {
  if (runtime === null) return null;
  const gate: ShardGate = {
    shardOf: (object) => runtime.shardOf(object),
    holds: (shard) => runtime.holds(shard),
    enter: (shard) => runtime.enter(shard),
    onAcquire: (listener) => runtime.onAcquire(listener),
  };
  return Object.freeze(gate);
}

/** A started operator. */
export class Running implements RunningOperator {
  readonly config: OperatorConfig;
  readonly node: RaftNode;
  readonly election: LeaderElection;
  readonly kv: ReplicatedKv;
  readonly shards: ShardGate | null;
  readonly controllers: readonly Controller<KubeObject>[];
  readonly metrics: MetricsRegistry;
  readonly raftPort: number;
  readonly httpPort: number;
  readonly finished: Promise<void>;
  readonly #parts: Parts;
  readonly #logger: Logger;
  readonly #stopped = Promise.withResolvers<void>();
  #stopping: Promise<void> | null = null;
  #failure: Error | null = null;

  private constructor(
    config: OperatorConfig,
    init: {
      parts: Parts;
      node: RaftNode;
      httpPort: number;
      kv: ReplicatedKv;
      election: LeaderElection;
      metrics: MetricsRegistry;
      controllers: Controller<KubeObject>[];
      logger: Logger;
    },
  ) {
    this.config = config;
    this.#parts = init.parts;
    this.node = init.node;
    this.election = init.election;
    this.kv = init.kv;
    this.shards = gateOf(init.parts.shards);
    this.controllers = init.controllers;
    this.metrics = init.metrics;
    this.#logger = init.logger;
    this.raftPort = init.parts.transport.port ?? config.raft.listenPort;
    this.httpPort = init.httpPort;
    this.finished = this.#stopped.promise;
  }

  /**
   * Starts the parts (`wire`), then the controllers and the API probe;
   * resolves once everything listens.
   */
  static async start(
    config: OperatorConfig,
    init: WireInit,
  ): Promise<Running> {
    const { options, registered } = init;
    const logger = options.logger ?? consoleLogger;
    const wired = await wire(config, init);
    const { parts, node } = wired;
    const running = new Running(config, {
      parts,
      node,
      httpPort: wired.server.port,
      kv: new ReplicatedKv(node, wired.store),
      election: wired.election,
      metrics: wired.metrics,
      controllers: wired.controllers,
      logger,
    });
    const signal = parts.stopControllers.signal;
    const runs = wired.controllers.map((controller, i) =>
      controller.run(registered[i].reconciler, { signal })
    );
    Promise.all(runs).catch((error) => {
      running.#failure ??= error as Error;
      logger.error("a controller failed, stopping", { error });
      running.stop().catch((error) =>
        logger.error("shutdown failed", { error })
      );
    });
    probeApi(wired.client, {
      health: wired.apiHealth,
      clock: options.clock ?? (() => performance.now()),
      signal,
    });
    wired.open({
      failure: () => node.failure,
      readiness: () => node.readiness(),
      metrics: options.metrics ?? running.metrics.handler(),
    });
    if (options.signals ?? true) {
      for (const name of ["SIGTERM", "SIGINT"] as const) {
        parts.cleanup.push(onSignal(name, () => {
          logger.info("stopping", { node: config.raft.nodeId, signal: name });
          running.stop().catch((error) =>
            logger.error("shutdown failed", { error })
          );
        }));
      }
    }
    running.#logStarted(registered);
    return running;
  }

  status(): NodeStatus {
    return this.node.status();
  }

  readiness(): Readiness {
    return this.node.readiness();
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
    await tearDown(this.#parts, { handOver: true, logger: this.#logger });
    this.#logger.info("operator stopped", { node: this.config.raft.nodeId });
  }

  #logStarted(registered: readonly Registered[]): void {
    const { config } = this;
    this.#logger.info("operator started", {
      node: config.raft.nodeId,
      raftPort: this.raftPort,
      httpPort: this.httpPort,
      storage: config.dataDir === null ? "memory" : config.dataDir,
      peers: Object.fromEntries(config.raft.peers),
    });
    this.#logger.info(watchingMessage(registered, config), {
      node: config.raft.nodeId,
      namespaces: Object.fromEntries(
        registered.map(({ resource, reconciler }) => [
          resourceName(resource),
          reconciler.namespace ?? config.watchNamespace ?? "*",
        ]),
      ),
    });
  }
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
