/**
 * The controller benchmark's side for this library (see
 * `_controller_side.ts`): `Controller` with a `StatusPatch` reconciler,
 * `concurrency` workers, and with (`BENCH_SIDE=ours`) or without
 * (`ours-no-predicate`) the `generationChanged` predicate. Held by leaving
 * leadership, as a failover does.
 *
 * @module
 */
import { KubeConfig } from "@kubernetes/client-node";
import {
  Controller,
  generationChanged,
  KubeClient,
  type KubeObject,
  LeaderElection,
  ReconcileResult,
  type ResourceType,
  StatusPatch,
} from "../controller/mod.ts";
import { runSide, type Side, type SideInit } from "./_controller_side.ts";

interface Widget extends KubeObject {
  spec: { size: number };
  status?: { observedGeneration?: number };
}

const widgets: ResourceType = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};

function ours(init: SideInit): Side {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(init.kubeconfig);
  const client = KubeClient.fromKubeConfig(kubeConfig);
  const election = new LeaderElection(0);
  const { tally } = init;
  let term = 1;
  const stop = new AbortController();
  const controller = Controller.for<Widget>(widgets, {
    client,
    guard: election.guard(),
    namespace: init.namespace,
    concurrency: init.concurrency,
    predicate: init.side === "ours" ? generationChanged : undefined,
  });
  let running: Promise<void> = Promise.resolve();
  let inFlight = 0;
  return {
    rateLimit: client.rateLimit,
    start() {
      election.setRole("leader", term);
      running = controller.run({
        async reconcile(widget, ctx) {
          tally.calls++;
          inFlight++;
          try {
            const written = await new StatusPatch(widget, {
              client: ctx.client,
              resource: widgets,
            }).observedGeneration().apply();
            if (written) {
              tally.writes++;
              tally.wrote(
                widget.metadata.name!,
                widget.metadata.generation ?? 0,
              );
            }
          } finally {
            inFlight--;
          }
          return ReconcileResult.done();
        },
      }, { signal: stop.signal });
      return Promise.resolve();
    },
    async hold() {
      election.setRole("follower", ++term);
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    },
    resume() {
      election.setRole("leader", ++term);
    },
    cached(generation: number) {
      let n = 0;
      for (let i = 0; i < init.changes; i++) {
        const w = controller.reflector.store.getBy(`w-${i}`, init.namespace);
        if ((w?.metadata.generation ?? 0) >= generation) n++;
      }
      return n;
    },
    async stop() {
      stop.abort();
      await running;
    },
  };
}

await runSide(ours);
