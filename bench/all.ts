/**
 * `deno task bench [--quick] [--only name,name]`: runs every benchmark, each
 * in its own process, one after the other (they would disturb each other's
 * timings), collects the figures they report through `bench/_report.ts`, and
 * prints one table: ours, the baseline measured in the same run, and the
 * ratio (above 1 means ours is better, whichever way "better" points). It
 * writes `bench/results/README.md` (the table as Markdown),
 * `bench/results/results.json` and `bench/results/distributions.svg` (every
 * millisecond distribution side by side; bench:failover writes its own
 * `failover.md` and `failover.svg` beside them).
 *
 * Runs: `raft-core`, `leader-election`, `controller` at 1,000 and 10,000
 * objects, `raft` with 3 and 5 replicas, `failover` when deno.json has a
 * `bench:failover` task, and `operator-failover` (the example operator's
 * kill -9 → first reconcile write, 10 kills; about 1.5 minutes, twice that
 * with a baseline). `--quick` shrinks the sample counts (for a smoke run);
 * `--only raft,controller` picks runs by name; `--keep` keeps the figures of
 * the runs not repeated from the last `results.json`. `--raft-baseline DIR`
 * has each `raft` run first run DIR's `bench:raft` (a checkout of the write
 * path before issue 18) and judge the 1.5× goal against it, back to back on
 * the same machine, and `operator-failover` run DIR's operator after each
 * of its own runs (interleaved) as its baseline.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import process from "node:process";
import type { BenchRow, BenchSamples } from "./_report.ts";
import { chartSvg } from "./_chart.ts";

interface Run {
  /** Name for `--only` and for the log prefix. */
  name: string;
  /** The deno.json task. */
  task: string;
  args: string[];
  env: Record<string, string>;
}

/** Which run reported a figure or distribution. */
interface FromRun {
  run: string;
}

interface RunResult {
  name: string;
  task: string;
  args: string[];
  env: Record<string, string>;
  exitCode: number | null;
  seconds: number;
  attempt?: number;
}

const root = new URL("../", import.meta.url);
const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const keep = argv.includes("--keep");
const onlyIndex = argv.indexOf("--only");
const only = onlyIndex >= 0 ? argv[onlyIndex + 1]?.split(",") : undefined;

const tasks = (JSON.parse(
  await readFile(new URL("deno.json", root), "utf8"),
) as { tasks: Record<string, string> }).tasks;

const raftBaselineAt = argv.indexOf("--raft-baseline");
const raftBaseline = raftBaselineAt >= 0
  ? ["--baseline", argv[raftBaselineAt + 1]]
  : [];
const raftArgs = [
  ...(quick ? ["5", "5", "2000"] : ["30", "20", "20000"]),
  ...raftBaseline,
];
const allRuns: Run[] = [
  { name: "raft-core", task: "bench:raft-core", args: [], env: {} },
  {
    name: "leader-election",
    task: "bench:leader-election",
    args: [quick ? "30" : "100"],
    env: {},
  },
  {
    name: "controller",
    task: "bench:controller",
    args: [],
    env: { BENCH_OBJECTS: "1000" },
  },
  {
    name: "controller",
    task: "bench:controller",
    args: [],
    env: { BENCH_OBJECTS: "10000", BENCH_RUNS: quick ? "1" : "3" },
  },
  {
    name: "raft",
    task: "bench:raft",
    args: raftArgs,
    env: { BENCH_REPLICAS: "3" },
  },
  {
    name: "raft",
    task: "bench:raft",
    args: raftArgs,
    env: { BENCH_REPLICAS: "5" },
  },
  {
    name: "failover",
    task: "bench:failover",
    args: quick
      ? ["--default-runs", "1", "--scaled-runs", "3", "--raft-runs", "3"]
      : [],
    env: {},
  },
  {
    name: "operator-failover",
    task: "bench:operator-failover",
    args: [
      "--runs",
      quick ? "3" : "10",
      ...(raftBaselineAt >= 0 ? ["--baseline", argv[raftBaselineAt + 1]] : []),
    ],
    env: {},
  },
];
const runs = allRuns.filter((run) => tasks[run.task] !== undefined)
  .filter((run) => only === undefined || only.includes(run.name));

function describeRun(run: Omit<Run, "name">): string {
  const env = Object.entries(run.env).map(([k, v]) => `${k}=${v} `).join("");
  return `${env}deno task ${run.task}${
    run.args.length ? " " + run.args.join(" ") : ""
  }`;
}

function execute(run: Run, resultsFile: string): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["task", run.task, ...run.args], {
      cwd: fileURLToPath(root),
      env: { ...process.env, ...run.env, BENCH_RESULTS: resultsFile },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const label = `[${run.name}${
      Object.values(run.env).length
        ? " " + Object.values(run.env).join(" ")
        : ""
    }]`;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on(
        "line",
        (line) => console.log(`${label} ${line}`),
      );
    }
    child.on("close", (code) =>
      resolve({
        name: run.name,
        task: run.task,
        args: run.args,
        env: run.env,
        exitCode: code,
        seconds: (performance.now() - started) / 1000,
      }));
  });
}

/** Above 1: ours is better by that factor. */
function ratio(row: BenchRow): number | undefined {
  if (row.baseline === undefined) return undefined;
  return row.better === "lower"
    ? row.baseline / row.ours
    : row.ours / row.baseline;
}

function figure(value: number | undefined, unit: string): string {
  if (value === undefined) return "—";
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

function ratioText(row: BenchRow): string {
  const r = ratio(row);
  return r === undefined ? "—" : `${r.toFixed(2)}×`;
}

const dir = await mkdtemp(join(tmpdir(), "bench-"));
const out = new URL("bench/results/", root);
let rows: Array<BenchRow & FromRun> = [];
let samples: Array<BenchSamples & FromRun> = [];
let results: RunResult[] = [];
if (keep) {
  const repeated = new Set(runs.map(describeRun));
  const previous = JSON.parse(
    await readFile(new URL("results.json", out), "utf8"),
  ) as {
    runs: RunResult[];
    rows: Array<BenchRow & FromRun>;
    samples: Array<BenchSamples & FromRun>;
  };
  results = previous.runs.filter((r) => !repeated.has(describeRun(r)));
  rows = previous.rows.filter((r) => !repeated.has(r.run));
  samples = previous.samples.filter((s) => !repeated.has(s.run));
}
try {
  for (const [i, run] of runs.entries()) {
    console.log(`== ${describeRun(run)}`);
    const file = join(dir, `run-${i}.jsonl`);
    let result: RunResult | undefined;
    // Multi-process runs can miss a deadline on a loaded machine: one retry,
    // reported in the runs table.
    for (let attempt = 1; attempt <= 2 && result?.exitCode !== 0; attempt++) {
      if (attempt > 1) console.log(`== retrying ${describeRun(run)}`);
      await writeFile(file, "");
      result = { ...await execute(run, file), attempt };
    }
    results.push(result!);
    for (const line of (await readFile(file, "utf8")).split("\n")) {
      if (line === "") continue;
      const record = JSON.parse(line) as
        | ({ kind: "row" } & BenchRow)
        | ({ kind: "samples" } & BenchSamples);
      if (record.kind === "row") {
        const { kind: _, ...row } = record;
        rows.push({ ...row, run: describeRun(run) });
      } else {
        const { kind: _, ...series } = record;
        samples.push({ ...series, run: describeRun(run) });
      }
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const header = ["figure", "ours", "baseline", "ratio (>1: ours better)"];
const table = rows.map((row) => [
  row.name,
  figure(row.ours, row.unit),
  row.baseline === undefined
    ? "—"
    : `${figure(row.baseline, row.unit)} (${row.baselineName ?? "baseline"})`,
  ratioText(row),
]);
const widths = header.map((h, i) =>
  Math.max(h.length, ...table.map((r) => r[i].length))
);
console.log("");
for (const r of [header, ...table]) {
  console.log(
    r.map((cell, i) =>
      i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])
    )
      .join("  "),
  );
}
const failed = results.filter((r) => r.exitCode !== 0);
for (const r of failed) {
  console.log(`FAILED: ${describeRun(r)} exited with ${r.exitCode}`);
}

const cell = (text: string) => text.replaceAll("|", "\\|");
const cpu = cpus();
const markdown = [
  "# Benchmark results",
  "",
  `Written by \`deno task bench${quick ? " --quick" : ""}\` on ${
    new Date().toISOString().slice(0, 16).replace("T", " ")
  } UTC: Deno ${process.versions.deno ?? "?"}, ${cpu.length} × ${
    cpu[0]?.model ?? "unknown CPU"
  }${
    keep
      ? " (figures of runs not repeated are kept from earlier: see Runs)"
      : ""
  }. Every baseline ran in the same process run, on the same machine, as our figure beside it. Ratio: above 1 means ours is better by that factor (lower time, higher throughput).`,
  "",
  "| figure | ours | baseline | ratio |",
  "| --- | ---: | ---: | ---: |",
  ...table.map((r) => `| ${r.map(cell).join(" | ")} |`),
  "",
  "![every distribution in milliseconds, side by side](distributions.svg)",
  "",
  "bench:failover's own page, with its chart of the failover distributions: [failover.md](failover.md). The operator's takeover after the guard (the operator-failover rows), and where its time goes: [failover_gap.md](failover_gap.md).",
  "",
  "The operator chaos run (`deno task chaos`, run on its own, not by this task): writes, faults by kind, RSS and heap over 20 minutes, and the invariants: [chaos.md](chaos.md).",
  "",
  "## Runs",
  "",
  "| command | exit | seconds | attempt |",
  "| --- | ---: | ---: | ---: |",
  ...results.map((r) =>
    `| \`${describeRun(r)}\` | ${r.exitCode} | ${r.seconds.toFixed(0)} | ${
      r.attempt ?? 1
    } |`
  ),
  "",
].join("\n");
await mkdir(out, { recursive: true });
await writeFile(new URL("README.md", out), markdown);
await writeFile(
  new URL("results.json", out),
  JSON.stringify({ quick, runs: results, rows, samples }, null, 2) + "\n",
);
await writeFile(
  new URL("distributions.svg", out),
  chartSvg(samples.filter((s) => s.unit === "ms"), {
    title:
      "Failover and handover: time until a replica leads again (ms, log scale)",
  }),
);
console.log(
  `\nwrote bench/results/README.md, results.json, distributions.svg`,
);
if (failed.length > 0) process.exitCode = 1;
