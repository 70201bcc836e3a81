/**
 * `deno task bench:operator-failover`: the example operator
 * (`examples/main.ts`) as three replica processes against the `testing/`
 * API server in this process; `kill -9` of the leader until another
 * replica's controller starts, and until its first reconcile write (a
 * Website's status naming it and a later term) reaches a watch of this
 * process. `bench:failover` stops at the Raft guard of a bare Raft node;
 * this one runs the operator's takeover after it too (cache, queue, fenced
 * client, connections, the reconcile's writes).
 *
 * One clock: every time is `performance.now()` of this process when it
 * received something (the SIGKILL's return, a replica's log line on its
 * stdout pipe, a watch event), so no two processes' clocks are compared.
 * A line or event is received a little after it was written (the pipe and
 * this process's event loop: under a millisecond on a quiet machine, more
 * under load), about the same for every step.
 *
 * Each run starts a fresh server and three replicas, waits until the three
 * Websites are reconciled and 1.5 s more (idle connections as in steady
 * state), then kills the leader.
 *
 * Usage: `deno task bench:operator-failover [-- --runs 10]`. To run the
 * operator of another checkout (e.g. a worktree at an older commit) with
 * this driver: `deno run -A --config <root>/deno.json
 * bench/operator_failover.ts --root <root> --runs 10`. `--baseline <root>`
 * compares: each run of ours is followed by one of that checkout's, each in
 * a driver process of its own (`--json` prints its runs), so both sides
 * see the same load; the medians go to `deno task bench`'s report
 * (`bench/_report.ts`) as ours against the baseline's (`deno task bench
 * --raft-baseline DIR` passes DIR here too).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { get as httpsGet } from "node:https";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Agent, fetch as undiciFetch } from "undici";
import { args } from "../platform/mod.ts";
import { pct } from "./_raft_failover.ts";
import { reportRow, reportSamples } from "./_report.ts";

function option(name: string, fallback: string): string {
  const list = args();
  const at = list.indexOf(`--${name}`);
  return at >= 0 && list[at + 1] !== undefined ? list[at + 1] : fallback;
}

const ROOT = option(
  "root",
  fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, ""),
);
const RUNS = Number(option("runs", "10"));
const BASELINE = option("baseline", "");
const JSON_OUT = args().includes("--json");
const SITES = ["blog", "shop", "docs"];
const STEP_TIMEOUT_MS = Number(option("step-timeout-ms", "60000"));
const GROUP = "example.k8s-operator.dev";
const VERSION = "v1alpha1";

interface Server {
  url: string;
  token: string;
  caPem: string;
  kubeConfigYaml(): string;
  kubeConfig(): unknown;
  stop(): Promise<void>;
}
const { TestApiServer } = await import(`${ROOT}/testing/mod.ts`) as {
  TestApiServer: { start(): Promise<Server> };
};
const { Website } = await import(`${ROOT}/examples/resources.ts`) as {
  Website: {
    install(kubeConfig: unknown, o: { fieldManager: string }): Promise<void>;
  };
};
const { KubeConfig } = await import("@kubernetes/client-node");

const now = () => performance.now();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function until<T>(
  what: string,
  check: () => T | undefined | false,
): Promise<T> {
  const end = now() + STEP_TIMEOUT_MS;
  while (now() < end) {
    const value = check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`Expected ${what} within ${STEP_TIMEOUT_MS} ms, found none`);
}

interface Line {
  id: number;
  at: number;
  message: string;
  role?: string;
  term?: number;
}

interface Reconciled {
  at: number;
  name: string;
  by: number;
  term: number;
}

/** Milliseconds from the SIGKILL, per run. */
interface Run {
  /** Until the new leader logged "leading, starting reconciles". */
  guard: number;
  /** Until the first reconcile write of a later term was watched. */
  firstWrite: number;
  /** Until every Website was reconciled in a later term. */
  allWrites: number;
}

/**
 * Watches Websites and records each reconcile a `Reconciled` condition
 * names; returns the stop (`node:https`: undici's body under Deno does not
 * end when its signal aborts).
 */
function watchReconciles(server: Server, out: Reconciled[]): () => void {
  const decoder = new TextDecoder();
  let buffer = "";
  const request = httpsGet(
    `${server.url}/apis/${GROUP}/${VERSION}/namespaces/default/websites?watch=true`,
    { ca: server.caPem, headers: { authorization: `Bearer ${server.token}` } },
    (response) => {
      response.on("data", (bytes: Uint8Array) => {
        const at = now();
        buffer += decoder.decode(bytes, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          if (line.trim() === "") continue;
          const event = JSON.parse(line);
          const condition = event.object?.status?.conditions?.find((
            c: { type: string },
          ) => c.type === "Reconciled");
          const match = /by replica (\d+) in term (\d+)/.exec(
            condition?.message ?? "",
          );
          if (match) {
            out.push({
              at,
              name: event.object.metadata.name,
              by: Number(match[1]),
              term: Number(match[2]),
            });
          }
        }
      });
    },
  );
  request.on("error", () => {});
  return () => request.destroy();
}

async function run(): Promise<Run> {
  const server = await TestApiServer.start();
  const dir = await mkdtemp(join(tmpdir(), "operator-failover-"));
  const kubeconfig = join(dir, "kubeconfig.yaml");
  await writeFile(kubeconfig, server.kubeConfigYaml());
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfig);
  await Website.install(kubeConfig, { fieldManager: "website-operator" });
  const created = new Agent({ connect: { ca: server.caPem } });
  for (const name of SITES) {
    const response = await undiciFetch(
      `${server.url}/apis/${GROUP}/${VERSION}/namespaces/default/websites`,
      {
        method: "POST",
        dispatcher: created,
        headers: {
          authorization: `Bearer ${server.token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          apiVersion: `${GROUP}/${VERSION}`,
          kind: "Website",
          metadata: { name, namespace: "default" },
          spec: {
            domain: `${name}.example.com`,
            image: "nginx:1.27",
            replicas: 2,
          },
        }),
      },
    );
    if (!response.ok) {
      throw new Error(
        `Expected Website ${name} created, found ${response.status} ${await response
          .text()}`,
      );
    }
  }
  await created.close();
  const reconciles: Reconciled[] = [];
  const stopWatch = watchReconciles(server, reconciles);
  const ports: number[] = [];
  while (ports.length < 3) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const peers = ports.map((port, id) => `${id}=127.0.0.1:${port}`).join(",");
  const secret = randomBytes(32).toString("hex");
  const lines: Line[] = [];
  const children: ChildProcess[] = ports.map((_, id) => {
    const child = spawn(
      process.execPath,
      ["run", "-A", `${ROOT}/examples/main.ts`],
      {
        env: {
          ...process.env,
          RAFT_NODE_ID: String(id),
          RAFT_PEERS: peers,
          RAFT_SECRET: secret,
          RAFT_CLUSTER_ID: "operator-failover",
          OPERATOR_HTTP_PORT: "0",
          KUBECONFIG: kubeconfig,
          NO_COLOR: "1",
        },
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    createInterface({ input: child.stdout! }).on("line", (text) => {
      const at = now();
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(text);
      } catch {
        return;
      }
      // 1d415a4's logger put the fields beside the message, later ones too.
      const fields = { ...entry, ...(entry.fields as object | undefined) };
      lines.push({
        id,
        at,
        message: String(entry.message),
        role: fields.role === undefined ? undefined : String(fields.role),
        term: fields.term === undefined ? undefined : Number(fields.term),
      });
    });
    return child;
  });
  const leaderLine = () =>
    lines.findLast((l) => l.message === "role changed" && l.role === "leader");
  try {
    await until(
      "every Website reconciled",
      () => SITES.every((name) => reconciles.some((r) => r.name === name)),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const old = await until("a leader", leaderLine);
    const since = lines.length;
    const seen = reconciles.length;
    const t0 = now();
    children[old.id].kill("SIGKILL");
    const later = (r: Reconciled) => r.by !== old.id && r.term > old.term!;
    const leading = await until(
      "another replica leading",
      () =>
        lines.slice(since).find((l) =>
          l.id !== old.id && l.message === "leading, starting reconciles"
        ),
    );
    const first = await until(
      "a reconcile write of a later term",
      () => reconciles.slice(seen).find(later),
    );
    const all = await until(
      "every Website reconciled in a later term",
      () =>
        SITES.every((name) =>
          reconciles.slice(seen).some((r) => r.name === name && later(r))
        ) && reconciles.slice(seen).filter(later).at(-1),
    );
    return {
      guard: leading.at - t0,
      firstWrite: first.at - t0,
      allWrites: all.at - t0,
    };
  } finally {
    for (const child of children) child.kill("SIGKILL");
    stopWatch();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * `runs` runs of `root`'s operator, each in a driver process of its own
 * under `root`'s deno.json (its import map), this file as the driver.
 */
async function runsOf(root: string, runs: number): Promise<Run[]> {
  const driver = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [
    "run",
    "-A",
    "--config",
    `${root}/deno.json`,
    driver,
    "--root",
    root,
    "--runs",
    String(runs),
    "--step-timeout-ms",
    String(STEP_TIMEOUT_MS),
    "--json",
  ], { stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  child.stdout!.on("data", (chunk) => stdout += chunk);
  const code = await new Promise((resolve) => child.once("close", resolve));
  const last = stdout.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || !last.startsWith("{")) {
    throw new Error(
      `Expected the runs of ${root} as JSON, found exit ${code}: ${
        stdout.slice(-2_000)
      }`,
    );
  }
  return (JSON.parse(last) as { runs: Run[] }).runs;
}

function summary(root: string, runs: Run[], load: number): string {
  const median = (f: (r: Run) => number) => pct(runs.map(f), 0.5).toFixed(0);
  return `${root}: kill -9 of the leader, n=${runs.length}, load ${
    load.toFixed(1)
  } → ${loadavg()[0].toFixed(1)}; p50: guard ${
    median((r) => r.guard)
  } ms, first write ${median((r) => r.firstWrite)} ms, guard → first write ${
    median((r) => r.firstWrite - r.guard)
  } ms, every Website ${median((r) => r.allWrites)} ms`;
}

function runLine(label: string, r: Run): string {
  return `${label}: guard ${r.guard.toFixed(0)} ms, first write ${
    r.firstWrite.toFixed(0)
  } ms (${(r.firstWrite - r.guard).toFixed(0)} after the guard), all ${
    r.allWrites.toFixed(0)
  } ms`;
}

const load = loadavg()[0];
const ours: Run[] = [];
const baseline: Run[] = [];
for (let i = 0; i < RUNS; i++) {
  if (BASELINE) {
    // Interleaved, one run each in turn.
    ours.push(...await runsOf(ROOT, 1));
    console.log(runLine(`run ${i + 1}, ours`, ours.at(-1)!));
    baseline.push(...await runsOf(BASELINE, 1));
    console.log(runLine(`run ${i + 1}, baseline`, baseline.at(-1)!));
  } else {
    ours.push(await run());
    if (!JSON_OUT) console.log(runLine(`run ${i + 1}`, ours.at(-1)!));
  }
}
if (JSON_OUT) {
  console.log(JSON.stringify({ runs: ours }));
  process.exit(0);
}
console.log(summary(ROOT, ours, load));
if (BASELINE) console.log(summary(BASELINE, baseline, load));

const steps: Array<[string, (r: Run) => number]> = [
  ["kill -9 → controller starts (guard)", (r) => r.guard],
  ["kill -9 → first reconcile write", (r) => r.firstWrite],
  ["guard → first reconcile write", (r) => r.firstWrite - r.guard],
  ["kill -9 → every Website reconciled", (r) => r.allWrites],
];
for (const [step, of] of steps) {
  reportRow({
    name: `operator failover (example operator, 3 processes), ${step}, p50`,
    unit: "ms",
    ours: pct(ours.map(of), 0.5),
    ...(BASELINE
      ? {
        baseline: pct(baseline.map(of), 0.5),
        baselineName: `the operator at ${BASELINE}`,
      }
      : {}),
    better: "lower",
  });
}
reportSamples({
  name: "ours: operator kill -9 → first reconcile write",
  unit: "ms",
  samples: ours.map((r) => r.firstWrite),
});
if (BASELINE) {
  reportSamples({
    name: "baseline: operator kill -9 → first reconcile write",
    unit: "ms",
    samples: baseline.map((r) => r.firstWrite),
  });
}
process.exit(0);
