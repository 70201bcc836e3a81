/**
 * `deno task bench:controller`: 10,000 custom objects reconciled by this
 * controller and by a baseline written the way users do today with
 * client-node's `makeInformer`, a queue array and a plain loop patching
 * through client-node's generated API, in the same process against a fresh
 * in-process API server per run. Each side's reconcile writes
 * `status.observedGeneration`.
 *
 * Printed per side, as medians over the runs, with the ratio:
 *
 * - time to converge: from start (list included) until every object was
 *   reconciled once;
 * - retained heap after converging (forced GC, minus the heap before the
 *   side started) and the process RSS growth;
 * - reconciler calls per change: a wave of spec changes made while the
 *   side runs, counting every call of the user's reconcile function (the
 *   baseline's loop body, whose own status writes come back as informer
 *   updates) until all of them are observed; and API writes per change;
 * - backlog drain: reconciles/s through a backlog of changes that piled up
 *   while the side was held (not leading).
 *
 * Environment: `BENCH_OBJECTS` (default 10000), `BENCH_CHANGES` (changes per
 * wave, default 1000), `BENCH_RUNS` (default 3), `BENCH_CONCURRENCY`
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
const CHANGES = Math.min(N, Number(process.env.BENCH_CHANGES ?? 1_000));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
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
  timeoutMs = 1_800_000,
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

/** Changes the spec of the first `CHANGES` objects to `size`. */
async function bump(
  client: KubeClient,
  namespace: string,
  size: number,
): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < CHANGES) {
      const i = next++;
      await client.patch(widgets, `w-${i}`, { spec: { size } }, {
        namespace,
      });
    }
  }));
}

/** Figures of one side in one run. */
interface Result {
  convergeMs: number;
  heapMb: number;
  rssMb: number;
  callsPerChange: number;
  writesPerChange: number;
  drainPerSecond: number;
}

/** What both sides share: counters and the generation each object reached. */
class Tally {
  calls = 0;
  writes = 0;
  readonly observed = new Map<string, number>();

  /** How many of the changed objects reached `generation`. */
  reached(generation: number): number {
    let count = 0;
    for (let i = 0; i < CHANGES; i++) {
      if ((this.observed.get(`w-${i}`) ?? 0) >= generation) count++;
    }
    return count;
  }
}

/**
 * Runs the three phases against a started side: converge, a wave of
 * changes while running, then a backlog drained after a hold.
 */
async function phases(side: {
  client: KubeClient;
  namespace: string;
  tally: Tally;
  started: number;
  heapBefore: number;
  rssBefore: number;
  hold(): void;
  resume(): void;
  held(): boolean;
}): Promise<Result> {
  const { client, namespace, tally } = side;
  await waitFor(() => tally.observed.size === N);
  const convergeMs = performance.now() - side.started;
  const heap = heapMb() - side.heapBefore;
  const rss = rssMb() - side.rssBefore;

  const calls = tally.calls;
  const writes = tally.writes;
  await bump(client, namespace, 2);
  await waitFor(() => tally.reached(2) === CHANGES);
  // Let the echoes of the last status writes arrive and be handled.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const callsPerChange = (tally.calls - calls) / CHANGES;
  const writesPerChange = (tally.writes - writes) / CHANGES;

  side.hold();
  await bump(client, namespace, 3);
  await waitFor(side.held);
  const before = tally.writes;
  const drainStart = performance.now();
  side.resume();
  await waitFor(() => tally.writes - before >= CHANGES);
  const drainPerSecond = CHANGES / ((performance.now() - drainStart) / 1000);
  return {
    convergeMs,
    heapMb: heap,
    rssMb: rss,
    callsPerChange,
    writesPerChange,
    drainPerSecond,
  };
}

/** This library: Controller with a StatusPatch reconciler. */
async function ours(client: KubeClient, namespace: string): Promise<Result> {
  await seed(client, namespace);
  const heapBefore = heapMb();
  const rssBefore = rssMb();
  const election = new LeaderElection(0);
  election.setRole("leader", 1);
  const tally = new Tally();
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
      tally.calls++;
      const written = await new StatusPatch(widget, {
        client: ctx.client,
        resource: widgets,
      }).observedGeneration().apply();
      if (written) tally.writes++;
      tally.observed.set(
        widget.metadata.name!,
        widget.metadata.generation ?? 0,
      );
      return ReconcileResult.done();
    },
  }, { signal: stop.signal });
  let term = 1;
  const result = await phases({
    client,
    namespace,
    tally,
    started,
    heapBefore,
    rssBefore,
    hold: () => election.setRole("follower", ++term),
    resume: () => election.setRole("leader", ++term),
    held: () =>
      controller.reflector.store.list().filter((w) =>
        w.metadata.generation === 3
      ).length === CHANGES,
  });
  stop.abort();
  await done;
  return result;
}

/** The baseline: client-node's makeInformer, an array and a plain loop. */
async function baseline(
  server: TestApiServer,
  client: KubeClient,
  namespace: string,
): Promise<Result> {
  await seed(client, namespace);
  const heapBefore = heapMb();
  const rssBefore = rssMb();
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
  const tally = new Tally();
  let running = true;
  let hold = false;
  const started = performance.now();
  await informer.start();
  const loop = (async () => {
    while (running) {
      const w = hold ? undefined : pending.shift();
      if (!w) {
        await new Promise<void>((resolve) => wake = resolve);
        continue;
      }
      tally.calls++;
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
      tally.writes++;
      tally.observed.set(w.metadata.name!, w.metadata.generation ?? 0);
    }
  })();
  const result = await phases({
    client,
    namespace,
    tally,
    started,
    heapBefore,
    rssBefore,
    hold: () => hold = true,
    resume: () => {
      hold = false;
      wake();
    },
    held: () =>
      pending.filter((w) => w.metadata.generation === 3).length >= CHANGES,
  });
  running = false;
  wake();
  await loop;
  await informer.stop();
  return result;
}

async function startServer(): Promise<
  { server: TestApiServer; client: KubeClient }
> {
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
  return { server, client };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function line(
  label: string,
  base: string,
  mine: string,
  ratio: string,
): string {
  return label.padEnd(34) + base.padStart(14) + mine.padStart(14) +
    ratio.padStart(22);
}

console.log(
  `controller benchmark: ${N} objects, ${CHANGES} changes per wave, ` +
    `${RUNS} runs, concurrency ${CONCURRENCY}${
      gc ? "" : " (no --expose-gc: heap figures are noisy)"
    }`,
);
const baseRuns: Result[] = [];
const ourRuns: Result[] = [];
for (let run = 0; run < RUNS; run++) {
  // Alternate which side goes first, so neither always gets the warmer heap.
  const order = run % 2 === 0 ? ["baseline", "ours"] : ["ours", "baseline"];
  for (const side of order) {
    const { server, client } = await startServer();
    const result = side === "ours"
      ? await ours(client, `ours-${run}`)
      : await baseline(server, client, `baseline-${run}`);
    await server.stop();
    (side === "ours" ? ourRuns : baseRuns).push(result);
    console.log(
      `run ${run + 1} ${side.padEnd(8)}: converged in ${
        result.convergeMs.toFixed(0)
      } ms, heap +${result.heapMb.toFixed(1)} MB, rss +${
        result.rssMb.toFixed(0)
      } MB, ${result.callsPerChange.toFixed(2)} calls and ${
        result.writesPerChange.toFixed(2)
      } writes per change, drain ${result.drainPerSecond.toFixed(0)}/s`,
    );
  }
}

const med = (runs: Result[], pick: (r: Result) => number) =>
  median(runs.map(pick));
const figures: Array<
  [
    string,
    (r: Result) => number,
    number,
    (base: number, mine: number) => string,
  ]
> = [
  [
    "time to converge (ms)",
    (r) => r.convergeMs,
    0,
    (b, m) => `${(b / m).toFixed(2)}x faster`,
  ],
  [
    "retained heap (MB)",
    (r) => r.heapMb,
    1,
    (b, m) => `${(m / b).toFixed(2)}x the baseline`,
  ],
  [
    "rss growth (MB)",
    (r) => r.rssMb,
    0,
    (b, m) => `${(m / b).toFixed(2)}x the baseline`,
  ],
  [
    "reconciler calls per change",
    (r) => r.callsPerChange,
    2,
    (b, m) => `${(m / b).toFixed(2)}x the baseline`,
  ],
  [
    "API writes per change",
    (r) => r.writesPerChange,
    2,
    (b, m) => `${(m / b).toFixed(2)}x the baseline`,
  ],
  [
    "backlog drain (reconciles/s)",
    (r) => r.drainPerSecond,
    0,
    (b, m) => `${(m / b).toFixed(2)}x the baseline`,
  ],
];
console.log(`medians of ${RUNS} runs:`);
console.log(line("", "baseline", "ours", "ratio"));
for (const [label, pick, digits, ratio] of figures) {
  const b = med(baseRuns, pick);
  const m = med(ourRuns, pick);
  console.log(line(label, b.toFixed(digits), m.toFixed(digits), ratio(b, m)));
}

const scale = `${N.toLocaleString("en-US")} objects`;
const baselineName = "client-node makeInformer + loop";
const report = (
  name: string,
  unit: string,
  pick: (r: Result) => number,
  better: "lower" | "higher",
) =>
  reportRow({
    name: `controller, ${scale}: ${name}`,
    unit,
    ours: med(ourRuns, pick),
    baseline: med(baseRuns, pick),
    baselineName,
    better,
  });
report("all reconciled once", "ms", (r) => r.convergeMs, "lower");
report("backlog drain", "reconciles/s", (r) => r.drainPerSecond, "higher");
report("retained heap", "MB", (r) => r.heapMb, "lower");
report(
  "reconciler calls per change",
  "calls",
  (r) => r.callsPerChange,
  "lower",
);
report("API writes per change", "writes", (r) => r.writesPerChange, "lower");
