/**
 * `deno task bench:controller`: this library's Controller against the
 * baselines a client-node 2.0.1 user writes, each side in its own process
 * (`_controller_ours.ts`, `_controller_client_node.ts`), at equal
 * concurrency, with the same reconciler (write `status.observedGeneration`
 * through the status subresource when it differs from the generation) and
 * the same number of API writes per change. The rows:
 *
 * - `naive`: client-node's `makeInformer`, an array and one sequential loop
 *   (what the earlier benchmark called the baseline; kept, labelled);
 * - `documented`: `makeInformer` + a keyed, de-duplicating queue (client-go's
 *   workqueue) + the latest object from the informer's cache +
 *   `BENCH_CONCURRENCY` workers, writing through the generated
 *   `CustomObjectsApi` as documented (a new TLS connection per request,
 *   client-node's default): **the baseline of the headline ratio**;
 * - `pooled`: `documented` with one pooled keep-alive undici `Agent` for
 *   its writes (a client-node middleware option, nothing else changed);
 * - `ours-no-predicate`: this Controller without `generationChanged`;
 * - `ours`: this Controller with `generationChanged`.
 *
 * The API server is a fresh `TestApiServer` in this process for every side
 * and run: the same implementation for everyone, no history or watches
 * left over from the side before, and its CPU and memory outside the
 * measured process (it shares the machine's cores with the side, alike
 * for every row). This process seeds the objects and makes the changes.
 *
 * Per side, medians over the runs: time to converge (start, list included,
 * until every object was reconciled once), backlog drain (changes per
 * second through `BENCH_CHANGES` changes that piled up while the side was
 * held — ours by losing leadership, so it also re-queues every cached key
 * on taking over; ours queues the keys of objects changed while it
 * followed first), the CPU time per drained change of the side's process
 * and of the API server (this process; both measured the same way for
 * every row, and steadier than the rate on a shared machine), the
 * reconciler calls in the drain per change (each run's line only: ours
 * includes the re-checks of unchanged cached objects that ran before the
 * last changed one was written), reconciler calls and API writes per
 * change (a wave of
 * changes while running, echoes included), retained heap (forced GC, minus
 * the heap before the side started) and the process's RSS. Then the ratios
 * of ours to each baseline and the breakdown: how much of the drain ratio
 * each step from `naive` to `ours` contributes.
 *
 * Environment: `BENCH_OBJECTS` (10000), `BENCH_CHANGES` (1000), `BENCH_RUNS`
 * (3), `BENCH_CONCURRENCY` (16), `BENCH_SIDES` (a comma-separated subset of
 * the rows, default all), `BENCH_CPU_PROFILE` (a directory: each side
 * writes a V8 CPU profile of its drain there, `<side>.cpuprofile`; the
 * profiler's own cost is in that run's figures). Our `KubeClient`'s client-side rate limit stays at
 * its default (off); the output says which limit was in force.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { TestApiServer } from "../testing/mod.ts";
import { KubeClient, type KubeObject } from "../controller/mod.ts";
import { reportRow } from "./_report.ts";

const N = Number(process.env.BENCH_OBJECTS ?? 10_000);
const CHANGES = Math.min(N, Number(process.env.BENCH_CHANGES ?? 1_000));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const EVENT_TIMEOUT_MS = 30 * 60_000;

interface Row {
  side: string;
  label: string;
  entry: string;
}

const ROWS: Row[] = [
  {
    side: "naive",
    label: "client-node, naive sequential loop",
    entry: "_controller_client_node.ts",
  },
  {
    side: "documented",
    label: "client-node, documented use",
    entry: "_controller_client_node.ts",
  },
  {
    side: "pooled",
    label: "client-node, documented + pooled Agent",
    entry: "_controller_client_node.ts",
  },
  {
    side: "ours-no-predicate",
    label: "ours, no generationChanged",
    entry: "_controller_ours.ts",
  },
  { side: "ours", label: "ours", entry: "_controller_ours.ts" },
];
const picked = process.env.BENCH_SIDES?.split(",");
const rows = ROWS.filter((r) => !picked || picked.includes(r.side));

const widgets = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};

/** Figures of one side in one run. */
interface Result {
  rateLimit: unknown;
  convergeMs: number;
  drainPerSecond: number;
  sideCpuUs: number;
  serverCpuUs: number;
  drainCallsPerChange: number;
  callsPerChange: number;
  writesPerChange: number;
  heapMb: number;
  rssMb: number;
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

/** Runs `count` calls of `task`, 32 at a time. */
async function parallel(
  count: number,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < count) await task(next++);
  }));
}

async function seed(client: KubeClient, namespace: string): Promise<void> {
  await client.create({
    group: "",
    version: "v1",
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
  }, { metadata: { name: namespace } });
  await parallel(N, (i) =>
    client.create(widgets, {
      metadata: { name: `w-${i}`, namespace },
      spec: { size: 1 },
    } as KubeObject));
}

/** Changes the spec of the first `CHANGES` objects to `size`. */
async function bump(
  client: KubeClient,
  namespace: string,
  size: number,
): Promise<void> {
  await parallel(
    CHANGES,
    (i) => client.patch(widgets, `w-${i}`, { spec: { size } }, { namespace }),
  );
}

/** A side's process and its protocol (see `_controller_side.ts`). */
class SideProcess {
  readonly child: ChildProcess;
  readonly #events: Record<string, unknown>[] = [];
  readonly #waiting = new Set<() => void>();
  readonly exited: Promise<number | null>;

  constructor(row: Row, env: Record<string, string>) {
    const entry = fileURLToPath(new URL(row.entry, import.meta.url));
    this.child = spawn(
      process.execPath,
      ["run", "--v8-flags=--expose-gc", "-A", entry],
      {
        env: { ...process.env, ...env, BENCH_SIDE: row.side },
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    this.exited = new Promise((resolve) => this.child.on("exit", resolve));
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      this.#events.push(JSON.parse(line));
      for (const wake of this.#waiting) wake();
    });
  }

  /** Waits for the event named `event` (and consumes it). */
  async next(event: string): Promise<Record<string, unknown>> {
    const deadline = performance.now() + EVENT_TIMEOUT_MS;
    while (true) {
      const i = this.#events.findIndex((e) => e.event === event);
      if (i >= 0) return this.#events.splice(i, 1)[0];
      if (performance.now() > deadline) {
        throw new Error(`Expected the side to report ${event}, found none`);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiting.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, 1_000);
        this.#waiting.add(wake);
      });
    }
  }

  /** Sends a command and waits for its answer. */
  async ask(
    command: Record<string, unknown>,
    answer: string,
  ): Promise<Record<string, unknown>> {
    this.child.stdin!.write(JSON.stringify(command) + "\n");
    return await this.next(answer);
  }
}

async function measure(row: Row, run: number): Promise<Result> {
  const { server, client } = await startServer();
  const dir = await mkdtemp(join(tmpdir(), "bench-controller-"));
  const namespace = `${row.side}-${run}`;
  try {
    const kubeconfig = join(dir, "kubeconfig.json");
    await writeFile(kubeconfig, server.kubeConfigYaml());
    await seed(client, namespace);
    const side = new SideProcess(row, {
      KUBECONFIG: kubeconfig,
      BENCH_NAMESPACE: namespace,
      BENCH_OBJECTS: String(N),
      BENCH_CHANGES: String(CHANGES),
      BENCH_CONCURRENCY: String(CONCURRENCY),
    });
    try {
      await side.next("ready");
      const converged = await side.ask({ cmd: "start" }, "converged");
      await side.ask({ cmd: "mark" }, "marked");
      await bump(client, namespace, 2);
      const counted = await side.ask(
        { cmd: "count", generation: 2 },
        "counted",
      );
      await side.ask({ cmd: "hold" }, "held");
      await bump(client, namespace, 3);
      await side.ask({ cmd: "backlog", generation: 3 }, "backlogged");
      const serverCpu = process.cpuUsage();
      const drained = await side.ask(
        { cmd: "drain", generation: 3 },
        "drained",
      );
      const server = process.cpuUsage(serverCpu);
      await side.ask({ cmd: "exit" }, "done");
      const code = await side.exited;
      if (code !== 0) throw new Error(`The ${row.side} side exited ${code}`);
      return {
        rateLimit: converged.rateLimit,
        convergeMs: Number(converged.ms),
        heapMb: Number(converged.heapMb),
        rssMb: Number(converged.rssMb),
        callsPerChange: Number(counted.callsPerChange),
        writesPerChange: Number(counted.writesPerChange),
        drainPerSecond: Number(drained.perSecond),
        sideCpuUs: Number(drained.cpuUsPerChange),
        drainCallsPerChange: Number(drained.callsPerChange),
        serverCpuUs: (server.user + server.system) / CHANGES,
      };
    } finally {
      if (side.child.exitCode === null) side.child.kill("SIGKILL");
    }
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

console.log(
  `controller benchmark: ${N} objects, ${CHANGES} changes per wave, ${RUNS} runs, concurrency ${CONCURRENCY} on every side; each side in its own process, against a fresh in-process test API server`,
);
const results = new Map<string, Result[]>(rows.map((r) => [r.side, []]));
for (let run = 0; run < RUNS; run++) {
  // Rotate the order, so no side always runs first on a cold machine.
  const order = rows.map((_, i) => rows[(i + run) % rows.length]);
  for (const row of order) {
    const r = await measure(row, run);
    results.get(row.side)!.push(r);
    console.log(
      `run ${run + 1} ${row.side.padEnd(18)} converged ${
        r.convergeMs.toFixed(0)
      } ms, drain ${r.drainPerSecond.toFixed(0)}/s (CPU per change: side ${
        r.sideCpuUs.toFixed(0)
      } µs, server ${r.serverCpuUs.toFixed(0)} µs; ${
        r.drainCallsPerChange.toFixed(2)
      } calls per change in the drain), ${
        r.callsPerChange.toFixed(2)
      } calls and ${r.writesPerChange.toFixed(2)} writes per change, heap +${
        r.heapMb.toFixed(1)
      } MB, RSS ${r.rssMb.toFixed(0)} MB`,
    );
  }
}

const limits = new Set(
  [...results.values()].flat().filter((r) => r.rateLimit !== undefined)
    .map((r) => JSON.stringify(r.rateLimit)),
);
if (limits.size > 0) {
  console.log(
    `client-side rate limit of our KubeClient: ${
      [...limits].map((l) => l === "null" ? "off (the default)" : l).join(", ")
    }; client-node has none`,
  );
}
const med = (side: string, pick: (r: Result) => number) =>
  median(results.get(side)!.map(pick));
const columns: Array<[string, (r: Result) => number, number]> = [
  ["converge ms", (r) => r.convergeMs, 0],
  ["drain /s", (r) => r.drainPerSecond, 0],
  ["side µs/chg", (r) => r.sideCpuUs, 0],
  ["server µs/chg", (r) => r.serverCpuUs, 0],
  ["calls/change", (r) => r.callsPerChange, 2],
  ["writes/change", (r) => r.writesPerChange, 2],
  ["heap MB", (r) => r.heapMb, 1],
  ["RSS MB", (r) => r.rssMb, 0],
];
console.log(`\nmedians of ${RUNS} runs:`);
console.log(
  "".padEnd(40) + columns.map(([name]) => name.padStart(14)).join(""),
);
for (const row of rows) {
  console.log(
    row.label.padEnd(40) +
      columns.map(([, pick, digits]) =>
        med(row.side, pick).toFixed(digits).padStart(14)
      ).join(""),
  );
}

const has = (side: string) => results.has(side);
if (has("ours")) {
  console.log("\nours against each baseline (above 1: ours better):");
  for (const base of ["documented", "pooled", "naive"].filter(has)) {
    const drain = med("ours", (r) => r.drainPerSecond) /
      med(base, (r) => r.drainPerSecond);
    const converge = med(base, (r) => r.convergeMs) /
      med("ours", (r) => r.convergeMs);
    const heap = med(base, (r) => r.heapMb) / med("ours", (r) => r.heapMb);
    const rss = med(base, (r) => r.rssMb) / med("ours", (r) => r.rssMb);
    const cpu = (side: string) => med(side, (r) => r.sideCpuUs + r.serverCpuUs);
    const drainCpu = cpu(base) / cpu("ours");
    console.log(
      `  vs ${base.padEnd(11)} drain ${
        drain.toFixed(2)
      }x (CPU per change, side + server, ${drainCpu.toFixed(2)}x), converge ${
        converge.toFixed(2)
      }x, heap ${heap.toFixed(2)}x, RSS ${rss.toFixed(2)}x`,
    );
  }
  const steps: Array<[string, string, string]> = [
    [
      "naive",
      "documented",
      "keyed queue + workers (de-duplication, concurrency)",
    ],
    ["documented", "pooled", "connection reuse (one keep-alive Agent)"],
    ["pooled", "ours-no-predicate", "the rest of our client and controller"],
    ["ours-no-predicate", "ours", "the generationChanged predicate"],
  ];
  console.log("\nwhere the drain rate comes from (each step's factor):");
  for (const [from, to, what] of steps) {
    if (!has(from) || !has(to)) continue;
    const factor = med(to, (r) => r.drainPerSecond) /
      med(from, (r) => r.drainPerSecond);
    console.log(`  ${from} -> ${to}: ${factor.toFixed(2)}x  ${what}`);
  }
}

const scale = `${N.toLocaleString("en-US")} objects`;
const baselineNames: Record<string, string> = {
  documented:
    `client-node documented use: informer + keyed queue + ${CONCURRENCY} workers`,
  pooled:
    `client-node documented use + pooled keep-alive Agent, ${CONCURRENCY} workers`,
  naive: "client-node informer + naive sequential loop",
};
if (has("ours")) {
  for (const base of ["documented", "pooled", "naive"].filter(has)) {
    const suffix = base === "documented" ? "" : ` (vs ${base})`;
    const report = (
      name: string,
      unit: string,
      pick: (r: Result) => number,
      better: "lower" | "higher",
    ) =>
      reportRow({
        name: `controller, ${scale}: ${name}${suffix}`,
        unit,
        ours: med("ours", pick),
        baseline: med(base, pick),
        baselineName: baselineNames[base],
        better,
      });
    report("backlog drain", "reconciles/s", (r) => r.drainPerSecond, "higher");
    report("all reconciled once", "ms", (r) => r.convergeMs, "lower");
    if (base !== "documented") continue;
    report("retained heap", "MB", (r) => r.heapMb, "lower");
    report("RSS", "MB", (r) => r.rssMb, "lower");
    report(
      "reconciler calls per change",
      "calls",
      (r) => r.callsPerChange,
      "lower",
    );
    report(
      "API writes per change",
      "writes",
      (r) => r.writesPerChange,
      "lower",
    );
  }
}
