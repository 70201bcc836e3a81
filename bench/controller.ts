/**
 * `deno task bench:controller`: 10,000 custom objects reconciled by this
 * controller and by a baseline written the way users do today with
 * client-node's `makeInformer` and a plain loop, in the same process against
 * the same in-process API server. Prints time to reconcile all once,
 * steady-state reconciles/s (a second wave of 10,000 spec changes), and the
 * heap retained by each (after a forced GC) beside the process RSS.
 *
 * Environment: `BENCH_OBJECTS` (default 10000), `BENCH_CONCURRENCY`
 * (default 16).
 *
 * @module
 */
import {
  CustomObjectsApi,
  type KubernetesObject,
  makeInformer,
} from "@kubernetes/client-node";
import process from "node:process";
import { TestApiServer } from "../testing/mod.ts";
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
import { reportRow } from "./_report.ts";

interface Widget extends KubeObject {
  spec: { size: number };
  status?: { observedGeneration?: number };
}

const N = Number(process.env.BENCH_OBJECTS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const widgets: ResourceType = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};
const gc = (globalThis as { gc?: () => void }).gc;

function heapMb(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1e6;
}

function rssMb(): number {
  return process.memoryUsage().rss / 1e6;
}

async function waitFor(
  predicate: () => boolean,
  timeoutMs = 600_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error("Benchmark timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function seed(client: KubeClient, namespace: string): Promise<void> {
  await client.create({
    group: "",
    version: "v1",
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
  }, { metadata: { name: namespace } });
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < N) {
      const i = next++;
      await client.create<Widget>(widgets, {
        metadata: { name: `w-${i}`, namespace },
        spec: { size: 1 },
      });
    }
  }));
}

async function bump(client: KubeClient, namespace: string): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < N) {
      const i = next++;
      await client.patch(widgets, `w-${i}`, { spec: { size: 2 } }, {
        namespace,
      });
    }
  }));
}

interface Result {
  initialMs: number;
  steadyPerSecond: number;
  heapMb: number;
}

/** This library: Controller with a StatusPatch reconciler. */
async function ours(client: KubeClient): Promise<Result> {
  const namespace = "bench-ours";
  await seed(client, namespace);
  const heapBefore = heapMb();
  const election = new LeaderElection(0);
  election.setRole("leader", 1);
  const seen = new Map<string, number>();
  let reconciles = 0;
  const stop = new AbortController();
  const started = performance.now();
  const controller = Controller.for<Widget>(widgets, {
    client,
    guard: election.guard(),
    namespace,
    concurrency: CONCURRENCY,
    predicate: generationChanged,
  });
  const done = controller.run({
    async reconcile(widget, ctx) {
      await new StatusPatch(widget, { client: ctx.client, resource: widgets })
        .observedGeneration().apply();
      reconciles++;
      seen.set(ctx.key, widget.metadata.generation ?? 0);
      return ReconcileResult.done();
    },
  }, { signal: stop.signal });
  await waitFor(() => seen.size === N);
  const initialMs = performance.now() - started;
  const heap = heapMb() - heapBefore;
  election.setRole("follower", 2);
  await bump(client, namespace);
  await waitFor(() =>
    controller.reflector.store.list().every((w) => w.metadata.generation === 2)
  );
  const before = reconciles;
  const drainStart = performance.now();
  election.setRole("leader", 3);
  await waitFor(() => reconciles - before >= N);
  const steadyPerSecond = N / ((performance.now() - drainStart) / 1000);
  stop.abort();
  await done;
  return { initialMs, steadyPerSecond, heapMb: heap };
}

/** The baseline: client-node's makeInformer and a plain loop. */
async function baseline(
  server: TestApiServer,
  client: KubeClient,
): Promise<Result> {
  const namespace = "bench-baseline";
  await seed(client, namespace);
  const heapBefore = heapMb();
  const kc = server.kubeConfig();
  const api = kc.makeApiClient(CustomObjectsApi);
  const pending: Widget[] = [];
  let wake = () => {};
  const informer = makeInformer<KubernetesObject>(
    kc,
    `/apis/example.com/v1/namespaces/${namespace}/widgets`,
    () =>
      api.listNamespacedCustomObject({
        group: "example.com",
        version: "v1",
        namespace,
        plural: "widgets",
      }),
  );
  const enqueue = (w: KubernetesObject) => {
    pending.push(w as unknown as Widget);
    wake();
  };
  informer.on("add", enqueue);
  informer.on("update", enqueue);
  let reconciles = 0;
  const seen = new Map<string, number>();
  let running = true;
  const started = performance.now();
  await informer.start();
  let hold = false;
  const loop = (async () => {
    while (running) {
      const w = hold ? undefined : pending.shift();
      if (!w) {
        await new Promise<void>((resolve) => wake = resolve);
        continue;
      }
      if (w.status?.observedGeneration === w.metadata.generation) continue;
      await api.patchNamespacedCustomObjectStatus({
        group: "example.com",
        version: "v1",
        namespace,
        plural: "widgets",
        name: w.metadata.name!,
        body: [{
          op: "add",
          path: "/status",
          value: { observedGeneration: w.metadata.generation },
        }],
      });
      reconciles++;
      seen.set(w.metadata.name!, w.metadata.generation ?? 0);
    }
  })();
  await waitFor(() => seen.size === N);
  const initialMs = performance.now() - started;
  const heap = heapMb() - heapBefore;
  hold = true;
  await bump(client, namespace);
  await waitFor(() =>
    pending.filter((w) => w.metadata.generation === 2).length >= N
  );
  const before = reconciles;
  const drainStart = performance.now();
  hold = false;
  wake();
  await waitFor(() => reconciles - before >= N);
  const steadyPerSecond = N / ((performance.now() - drainStart) / 1000);
  running = false;
  wake();
  await loop;
  await informer.stop();
  return { initialMs, steadyPerSecond, heapMb: heap };
}

const server = await TestApiServer.start({ bookmarkIntervalMs: 0 });
const client = KubeClient.fromKubeConfig(server.kubeConfig());
await client.create({
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
}, {
  metadata: { name: "widgets.example.com" },
  spec: {
    group: "example.com",
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget" },
    versions: [{
      name: "v1",
      served: true,
      storage: true,
      subresources: { status: {} },
      schema: {
        openAPIV3Schema: {
          type: "object",
          "x-kubernetes-preserve-unknown-fields": true,
        },
      },
    }],
  },
} as KubeObject);

console.log(
  `controller benchmark: ${N} objects, concurrency ${CONCURRENCY}${
    gc ? "" : " (no --expose-gc: heap figures are noisy)"
  }`,
);
const base = await baseline(server, client);
console.log(`rss after baseline: ${rssMb().toFixed(0)} MB`);
const mine = await ours(client);
console.log(`rss after ours: ${rssMb().toFixed(0)} MB`);
await server.stop();

const rows: Array<[string, string, string, string]> = [
  ["", "baseline (makeInformer + loop)", "k8s-operator Controller", "ratio"],
  [
    "all reconciled once (ms)",
    base.initialMs.toFixed(0),
    mine.initialMs.toFixed(0),
    `${(base.initialMs / mine.initialMs).toFixed(2)}x faster`,
  ],
  [
    "backlog drain (reconciles/s)",
    base.steadyPerSecond.toFixed(0),
    mine.steadyPerSecond.toFixed(0),
    `${(mine.steadyPerSecond / base.steadyPerSecond).toFixed(2)}x`,
  ],
  [
    "retained heap (MB)",
    base.heapMb.toFixed(1),
    mine.heapMb.toFixed(1),
    `${(mine.heapMb / base.heapMb).toFixed(2)}x`,
  ],
];
for (const row of rows) {
  console.log(
    row[0].padEnd(30) + row[1].padStart(32) + row[2].padStart(26) +
      row[3].padStart(16),
  );
}
const scale = `${N.toLocaleString("en-US")} objects`;
const baselineName = "client-node makeInformer + loop";
reportRow({
  name: `controller, ${scale}: all reconciled once`,
  unit: "ms",
  ours: mine.initialMs,
  baseline: base.initialMs,
  baselineName,
  better: "lower",
});
reportRow({
  name: `controller, ${scale}: backlog drain`,
  unit: "reconciles/s",
  ours: mine.steadyPerSecond,
  baseline: base.steadyPerSecond,
  baselineName,
  better: "higher",
});
reportRow({
  name: `controller, ${scale}: retained heap`,
  unit: "MB",
  ours: mine.heapMb,
  baseline: base.heapMb,
  baselineName,
  better: "lower",
});
