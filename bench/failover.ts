/**
 * `deno task bench:failover`: failover and SIGTERM handover of three
 * replicas, ours (Raft, `bench/_raft_failover.ts`, the `bench:raft`
 * machinery) against a baseline that elects through a coordination.k8s.io
 * Lease like client-go's leaderelection (`bench/_lease_elector.ts`), run
 * against the `testing/` API server in this process. Every replica is its
 * own OS process; times are read off the system clock in every process
 * (`testing/raft/wall_clock.ts`; the error is in `bench/_raft_failover.ts`),
 * nothing is simulated. Ours is the Raft runtime alone
 * (`testing/raft/_node_process.ts`, a key-value store with a leader guard):
 * no controller, API server or write is involved, so its end point is the
 * guard, not a reconcile write.
 *
 * - failover: `kill -9` of the leader (the Lease holder) until another
 *   replica starts reconciling: for ours, its leader guard says "leader"
 *   (the controller starts reconciles on that); for the baseline,
 *   `OnStartedLeading` runs (its first reconcile write lands a few ms later,
 *   reported too).
 * - handover: SIGTERM of the leader, same end point; ours transfers
 *   leadership, the baseline releases the Lease (release-on-cancel).
 *
 * Baseline timings: client-go's defaults (lease 15 s, renew deadline 10 s,
 * retry 2 s, jitter 1.2), and the same ratios scaled down to the smallest
 * lease a Lease can carry (`leaseDurationSeconds` is a whole number, at least
 * 1): lease 1 s, renew deadline 667 ms, retry 133 ms — against our election
 * timeout of 300–600 ms (tick 50 ms × 6–12 ticks).
 *
 * Usage: `deno task bench:failover [-- --default-runs 3 --scaled-runs 10
 * --raft-runs 10 --out bench/results/failover.md]`. With 15 s leases each
 * default-timing kill costs about 20 s, hence the small default N.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { args } from "../platform/mod.ts";
import { TestApiServer } from "../testing/mod.ts";
import { ProcessCluster } from "../testing/raft/processes.ts";
import { failoverSvg } from "./_failover_svg.ts";
import { CLIENT_GO_DEFAULTS } from "./_lease_elector.ts";
import {
  pct,
  raftFailover,
  raftHandover,
  stable,
  wall,
} from "./_raft_failover.ts";
import { reportRow, reportSamples } from "./_report.ts";

function option(name: string, fallback: string): string {
  const list = args();
  const at = list.indexOf(`--${name}`);
  return at >= 0 && list[at + 1] !== undefined ? list[at + 1] : fallback;
}

const DEFAULT_RUNS = Number(option("default-runs", "3"));
const SCALED_RUNS = Number(option("scaled-runs", "10"));
const RAFT_RUNS = Number(option("raft-runs", "10"));
const OUT = option("out", "bench/results/failover.md");
const REPLICA = new URL("./_lease_replica.ts", import.meta.url).pathname;
const IDS = ["r0", "r1", "r2"];

interface Timings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

const SCALED: Timings = {
  leaseDurationMs: 1_000,
  renewDeadlineMs: Math.round(1_000 * 10 / 15),
  retryPeriodMs: Math.round(1_000 * 2 / 15),
};

interface ReplicaEvent {
  event: string;
  id: string;
  t: number;
  [key: string]: unknown;
}

/** Three Lease-baseline replica processes sharing one Lease. */
class LeaseReplicas {
  readonly events: ReplicaEvent[] = [];
  readonly procs = new Map<
    string,
    { child: ChildProcess; exited: Promise<void> }
  >();
  readonly #listeners = new Set<(e: ReplicaEvent) => void>();
  readonly #config: Record<string, unknown>;

  constructor(config: Record<string, unknown>) {
    this.#config = config;
  }

  start(id: string): void {
    const child = spawn(
      process.execPath,
      ["run", "-A", REPLICA, JSON.stringify({ ...this.#config, id })],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise<void>((resolve) =>
      child.on("exit", () => {
        if (this.procs.get(id)?.child === child) this.procs.delete(id);
        resolve();
      })
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let e: ReplicaEvent;
      try {
        e = JSON.parse(line);
      } catch {
        return;
      }
      this.events.push(e);
      for (const l of this.#listeners) l(e);
    });
    this.procs.set(id, { child, exited });
  }

  waitFor(
    match: (e: ReplicaEvent) => boolean,
    options: { since: number; timeoutMs: number },
  ): Promise<ReplicaEvent> {
    const seen = this.events.slice(options.since).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const l = (e: ReplicaEvent) => {
        if (!match(e)) return;
        clearTimeout(timer);
        this.#listeners.delete(l);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.#listeners.delete(l);
        reject(
          new Error(
            `Expected a replica event within ${options.timeoutMs} ms, found none`,
          ),
        );
      }, options.timeoutMs);
      this.#listeners.add(l);
    });
  }

  /** The live replica that last started leading and has reconciled. */
  async leader(timeoutMs: number): Promise<string> {
    while (true) {
      const leading = this.events.findLast((e) =>
        e.event === "leading" && this.procs.has(e.id)
      );
      if (leading !== undefined) {
        const at = this.events.indexOf(leading);
        await this.waitFor(
          (e) => e.event === "reconciled" && e.id === leading.id,
          { since: at, timeoutMs },
        );
        return leading.id;
      }
      await this.waitFor((e) => e.event === "leading", {
        since: this.events.length,
        timeoutMs,
      });
    }
  }

  async ready(
    id: string,
    options: { since: number; timeoutMs: number },
  ): Promise<void> {
    await this.waitFor((e) => e.event === "ready" && e.id === id, options);
  }

  async stop(id: string, signal: "SIGKILL" | "SIGTERM"): Promise<void> {
    const p = this.procs.get(id);
    if (p === undefined) return;
    p.child.kill(signal);
    await p.exited;
  }

  async close(): Promise<void> {
    for (const id of [...this.procs.keys()]) await this.stop(id, "SIGKILL");
  }
}

/** Milliseconds per run until another replica leads, and until it reconciled. */
interface BaselineRuns {
  leading: number[];
  reconciled: number[];
}

async function baseline(
  server: TestApiServer,
  options: {
    lease: string;
    timings: Timings;
    runs: number;
    signal: "SIGKILL" | "SIGTERM";
  },
): Promise<BaselineRuns> {
  const t = options.timings;
  const timeoutMs = 3 * t.leaseDurationMs + 60_000;
  const replicas = new LeaseReplicas({
    url: server.url,
    caPem: server.caPem,
    token: server.token,
    namespace: "default",
    lease: options.lease,
    ...t,
    releaseOnCancel: true,
  });
  const out: BaselineRuns = { leading: [], reconciled: [] };
  try {
    for (const id of IDS) replicas.start(id);
    for (const id of IDS) await replicas.ready(id, { since: 0, timeoutMs });
    for (let i = 0; i < options.runs; i++) {
      for (const id of IDS.filter((id) => !replicas.procs.has(id))) {
        const from = replicas.events.length;
        replicas.start(id);
        await replicas.ready(id, { since: from, timeoutMs });
      }
      const leader = await replicas.leader(timeoutMs);
      const since = replicas.events.length;
      const t0 = wall();
      await replicas.stop(leader, options.signal);
      const next = await replicas.waitFor(
        (e) => e.event === "leading" && e.id !== leader,
        { since, timeoutMs },
      );
      const done = await replicas.waitFor(
        (e) => e.event === "reconciled" && e.id === next.id,
        { since, timeoutMs },
      );
      out.leading.push(next.t - t0);
      out.reconciled.push(done.t - t0);
      const restartFrom = replicas.events.length;
      replicas.start(leader);
      await replicas.ready(leader, { since: restartFrom, timeoutMs });
    }
  } finally {
    await replicas.close();
  }
  return out;
}

function fmt(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`;
}

function stats(values: number[]): string {
  return `p50 ${fmt(pct(values, 0.5))}, max ${fmt(Math.max(...values))}`;
}

function row(
  name: string,
  runs: { ours: number[]; base: BaselineRuns; timings: string },
): string {
  const { ours, base } = runs;
  const ratio = pct(base.leading, 0.5) / pct(ours, 0.5);
  return `| ${name} | ${stats(ours)} (n=${ours.length}) | ${
    stats(base.leading)
  } (n=${base.leading.length}); first reconcile write p50 ${
    fmt(pct(base.reconciled, 0.5))
  } | ${runs.timings} | ${ratio.toFixed(1)}× |`;
}

const started = new Date().toISOString();
const loadBefore = loadavg()[0];
console.log(
  `bench:failover: ours ${RAFT_RUNS} kills + ${RAFT_RUNS} SIGTERMs; baseline ${DEFAULT_RUNS} of each at client-go defaults, ${SCALED_RUNS} of each scaled`,
);

const c = await ProcessCluster.create({ voters: [0, 1, 2] });
let oursFailover: number[];
let oursHandover: number[];
try {
  for (const id of [0, 1, 2]) c.start(id);
  await stable(c);
  oursFailover = (await raftFailover(c, RAFT_RUNS)).guard;
  console.log(`ours failover: ${stats(oursFailover)}`);
  oursHandover = (await raftHandover(c, RAFT_RUNS)).guard;
  console.log(`ours handover: ${stats(oursHandover)}`);
} finally {
  await c.close();
}

const server = await TestApiServer.start({ bookmarkIntervalMs: 0 });
const results: Record<string, BaselineRuns> = {};
try {
  for (
    const [name, timings, runs] of [
      ["default", CLIENT_GO_DEFAULTS, DEFAULT_RUNS],
      ["scaled", SCALED, SCALED_RUNS],
    ] as const
  ) {
    for (const signal of ["SIGKILL", "SIGTERM"] as const) {
      const key = `${name} ${signal}`;
      results[key] = await baseline(server, {
        lease: `bench-${name}-${signal.toLowerCase()}`,
        timings,
        runs,
        signal,
      });
      console.log(`baseline ${key}: ${stats(results[key].leading)}`);
    }
  }
} finally {
  await server.stop();
}

const d = CLIENT_GO_DEFAULTS;
const defaults = `lease ${d.leaseDurationMs / 1000} s, renew ${
  d.renewDeadlineMs / 1000
} s, retry ${d.retryPeriodMs / 1000} s`;
const scaled =
  `lease ${SCALED.leaseDurationMs} ms, renew ${SCALED.renewDeadlineMs} ms, retry ${SCALED.retryPeriodMs} ms`;
const lines = [
  "| measurement | ours (Raft, guard leader) | baseline (Lease, OnStartedLeading) | baseline timings | baseline / ours (p50) |",
  "| --- | --- | --- | --- | --- |",
  row("failover, kill -9 of the leader", {
    ours: oursFailover!,
    base: results["default SIGKILL"],
    timings: defaults,
  }),
  row("failover, kill -9, scaled Lease", {
    ours: oursFailover!,
    base: results["scaled SIGKILL"],
    timings: scaled,
  }),
  row("handover, SIGTERM (release-on-cancel)", {
    ours: oursHandover!,
    base: results["default SIGTERM"],
    timings: defaults,
  }),
  row("handover, SIGTERM, scaled Lease", {
    ours: oursHandover!,
    base: results["scaled SIGTERM"],
    timings: scaled,
  }),
];
console.log("");
for (const l of lines) console.log(l);

const reported: Array<[string, number[], string, string]> = [
  [
    "failover, kill -9 → guard leader",
    oursFailover!,
    "default SIGKILL",
    `client-go Lease, ${defaults}`,
  ],
  [
    "failover, kill -9 → guard leader",
    oursFailover!,
    "scaled SIGKILL",
    `Lease scaled, ${scaled}`,
  ],
  [
    "handover, SIGTERM → guard leader",
    oursHandover!,
    "default SIGTERM",
    `Lease release-on-cancel, ${defaults}`,
  ],
  [
    "handover, SIGTERM → guard leader",
    oursHandover!,
    "scaled SIGTERM",
    `Lease release-on-cancel, ${scaled}`,
  ],
];
for (const [name, ours, key, baselineName] of reported) {
  for (const p of [0.5, 0.99]) {
    reportRow({
      name: `${name} vs ${
        key.startsWith("default") ? "default" : "scaled"
      } Lease, 3 replicas, p${p * 100}`,
      unit: "ms",
      ours: pct(ours, p),
      baseline: pct(results[key].leading, p),
      baselineName,
      better: "lower",
    });
  }
}
reportSamples({
  name: "ours: kill -9 → guard leader",
  unit: "ms",
  samples: oursFailover!,
});
reportSamples({
  name: "ours: SIGTERM → guard leader",
  unit: "ms",
  samples: oursHandover!,
});
for (const key of Object.keys(results)) {
  reportSamples({
    name: `baseline: Lease ${key.replace("SIGKILL", "kill -9")}`,
    unit: "ms",
    samples: results[key].leading,
  });
}

const doc = `# Failover: Raft vs a client-go-style Lease

Measured ${started} with \`deno task bench:failover\` on one machine (3
replicas, each its own process, loopback; the baseline's API server is the
in-process \`testing/\` server). Real time, nothing simulated. Load average
(1 min) ${loadBefore.toFixed(1)} at the start and ${
  loadavg()[0].toFixed(1)
} at the end: the machine is shared, so absolute figures carry its load.
Samples: \`failover.json\`; distributions: \`failover.svg\`.

${lines.join("\n")}

- **ours**: kill -9 (or SIGTERM) of the Raft leader until another replica's
  leader guard says "leader" (when its controller starts reconciling). Raft
  tick 50 ms, election timeout 300–600 ms, pre-vote, check-quorum, leader
  lease; SIGTERM transfers leadership.
- **baseline**: \`bench/_lease_elector.ts\`, client-go leaderelection's
  algorithm over a coordination.k8s.io/v1 Lease (resourceVersion conflicts,
  retry jitter 1.2, release-on-cancel), until another replica's
  \`OnStartedLeading\` runs; its first reconcile (a ConfigMap write through
  client-node) lands later (shown too).
- **scaled**: client-go's 15 : 10 : 2 ratios at the smallest lease a Lease
  object can hold (\`leaseDurationSeconds\` is a whole number ≥ 1).
- N per line is shown; with 15 s leases every default-timing kill costs
  about 20 s, so N is small there: read those lines as indicative.
`;
const samples = {
  ours: { failover: oursFailover!, handover: oursHandover! },
  baseline: results,
};
const svg = failoverSvg([
  {
    label: "kill -9, Lease 15 s",
    ours: oursFailover!,
    baseline: results["default SIGKILL"].leading,
  },
  {
    label: "kill -9, Lease 1 s (scaled)",
    ours: oursFailover!,
    baseline: results["scaled SIGKILL"].leading,
  },
  {
    label: "SIGTERM, Lease 15 s",
    ours: oursHandover!,
    baseline: results["default SIGTERM"].leading,
  },
  {
    label: "SIGTERM, Lease 1 s (scaled)",
    ours: oursHandover!,
    baseline: results["scaled SIGTERM"].leading,
  },
]);
const dir = dirname(OUT);
await mkdir(dir, { recursive: true });
await writeFile(OUT, doc);
await writeFile(join(dir, "failover.json"), JSON.stringify(samples, null, 1));
await writeFile(join(dir, "failover.svg"), svg);
console.log(`\nwritten to ${OUT}, failover.json and failover.svg beside it`);
