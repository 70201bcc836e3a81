/**
 * What a chaos run found: each invariant checked over the evidence a run
 * gathered (the request log, the replicas' lines, exits and RSS), with a
 * sentence of what it checked, and the run's counts.
 *
 * @module
 */
import { guardIntervals, survivorHeap } from "./_observed_deno.ts";
import {
  checkFencing,
  checkOneLeader,
  checkRss,
  type LoggedRequest,
  type RssGrowth,
  WRITE_METHODS,
} from "./_invariants.ts";
import type { ReplicaProcess } from "./_replica_process_deno.ts";
import type { Workload } from "./_workload_deno.ts";

/** One invariant's outcome. */
export interface Check {
  /** What it asserts. */
  name: string;
  /** The violations found (empty: it holds). */
  violations: string[];
  /** What was checked, in a sentence. */
  detail: string;
}

/** What a run injected and checked. */
export interface ChaosReport {
  /** The seed. */
  seed: number;
  /** Each fault as injected, with its time into the fault phase. */
  injected: string[];
  /** The invariants. */
  checks: Check[];
  /** Every violation of every check. */
  violations: string[];
  /** RSS growth after warm-up, per process checked. */
  rss: RssGrowth[];
  /** Counts: requests, writes per replica, workload operations. */
  stats: Record<string, number>;
}

/** The evidence a run gathered, and how to judge it. */
export interface ChaosEvidence {
  /** The schedule's seed. */
  seed: number;
  /** Each fault as injected. */
  injected: string[];
  /** Every replica process started, all exited. */
  procs: ReplicaProcess[];
  /** The server's request log. */
  requests: LoggedRequest[];
  /** The workload and what it did. */
  workload: Workload;
  /** When the warm-up ended (wall clock). */
  warmupEnd: number;
  /** Replicas that did not exit in time after SIGTERM. */
  shutdownProblems: string[];
  /** Websites not converged after the faults. */
  convergence: string[];
  /** The leader's queue not drained after the faults. */
  queueProblems: string[];
  /** Replica faults skipped (a replica not ready). */
  skipped: number;
  /** Only the checks that hold when the run stopped at a violation. */
  stopOnViolation?: boolean;
  /** See `ChaosOptions.maxRssGrowth`. */
  maxRssGrowth?: number;
  /** See `ChaosOptions.rssMinSpanMs`. */
  rssMinSpanMs?: number;
  /** See `ChaosOptions.rssWarmupMs`. */
  rssWarmupMs?: number;
  /** See `ChaosOptions.maxRssMb`. */
  maxRssMb?: number;
}

/** Every invariant checked over `run`'s evidence, and its counts. */
export async function chaosReport(run: ChaosEvidence): Promise<ChaosReport> {
  const { procs, requests } = run;
  const intervals = guardIntervals(procs);
  const { crashes, stderrNotes } = await crashesOf(procs);
  crashes.push(...run.shutdownProblems);
  const rssWarmupMs = run.rssWarmupMs ?? RSS_WARMUP_MS;
  const rss = checkRss(procs.map((p) => p.rss), {
    warmupEnd: run.warmupEnd + rssWarmupMs,
    processWarmupMs: rssWarmupMs,
    minSpanMs: run.rssMinSpanMs ?? 5 * 60_000,
    maxGrowth: run.maxRssGrowth ?? 0.2,
    maxMb: run.maxRssMb ?? 600,
  });
  const writes = requests.filter((r) => WRITE_METHODS.has(r.method));
  const fromReplicas = writes.filter((r) => !r.workload);
  const checks: Check[] = [
    {
      name: "no write sent by a replica whose guard was not leading",
      violations: checkFencing(requests, intervals),
      detail: fencingDetail(fromReplicas, intervals),
    },
    {
      name: "at most one guard leads at any instant",
      violations: checkOneLeader(intervals),
      detail:
        `${intervals.length} guard intervals of ${procs.length} processes`,
    },
    {
      name: "no crash, no unhandled rejection, clean exits",
      violations: crashes,
      detail:
        `${procs.length} processes: exits, unhandled-error lines, stderr (${stderrNotes.length} other stderr lines${
          stderrNotes.length ? `, the first: ${stderrNotes[0]}` : ""
        })`,
    },
  ];
  if (!run.stopOnViolation) {
    checks.push(...afterFaultChecks(run, { rss, rssWarmupMs }));
  }
  const stats: Record<string, number> = {
    requests: requests.length,
    "writes from replicas": fromReplicas.length,
    "workload writes": writes.length - fromReplicas.length,
    "guard intervals": intervals.length,
    "replica processes": procs.length,
    "replica faults skipped (a replica not ready)": run.skipped,
  };
  for (const [op, n] of Object.entries(run.workload.counts)) {
    stats[`workload: ${op}`] = n;
  }
  return {
    seed: run.seed,
    injected: run.injected,
    checks,
    violations: checks.flatMap((c) => c.violations),
    rss: rss.measured,
    stats,
  };
}

/**
 * The crashes of `procs` (unhandled errors, uncaught errors on stderr, exits
 * nobody caused, unclean stops) and their other stderr lines.
 */
async function crashesOf(
  procs: ReplicaProcess[],
): Promise<{ crashes: string[]; stderrNotes: string[] }> {
  const crashes: string[] = [];
  const stderrNotes: string[] = [];
  for (const p of procs) {
    const s = await p.status;
    const finished = p.events.find((e) => e.event === "finished");
    const unhandled = p.events.filter((e) => e.event === "unhandled");
    for (const u of unhandled) {
      crashes.push(`${p.rss.label}: unhandled ${u.kind}: ${u.error}`);
    }
    for (const line of p.stderr) {
      // Deno prints "error: Uncaught ..." when a process dies of an
      // error; other lines (such as a request handler's error that the
      // runtime caught and logged) are reported, not counted as crashes.
      if (/uncaught|panicked|unhandled/i.test(line)) {
        crashes.push(`${p.rss.label}: stderr: ${line}`);
      } else {
        stderrNotes.push(`${p.rss.label}: ${line}`);
      }
    }
    if (p.fate === "killed") continue;
    if (p.fate === "running") {
      crashes.push(
        `${p.rss.label}: exited by itself (code ${s.code}, signal ${s.signal})`,
      );
    } else if (finished?.ok !== true || s.code !== 0) {
      crashes.push(
        `${p.rss.label}: after SIGTERM, expected a clean stop and exit code 0, found ${
          finished
            ? `finished ok=${finished.ok} ${finished.error ?? ""}`
            : "no finish"
        }, code ${s.code}`,
      );
    }
  }
  return { crashes, stderrNotes };
}

/**
 * What the fencing check covered, with the writes that arrived after their
 * sender's interval ended (reported, not checked: they left in time).
 */
function fencingDetail(
  fromReplicas: LoggedRequest[],
  intervals: ReturnType<typeof guardIntervals>,
): string {
  const lag = Math.max(
    0,
    ...fromReplicas.map((r) => r.received - (r.sent ?? r.received)),
  );
  let late = 0;
  let latest = 0;
  for (const r of fromReplicas) {
    const i = intervals.find((i) =>
      i.replica === r.replica && i.term === r.term && !i.open &&
      i.start <= r.sent! && r.sent! <= i.end
    );
    if (i && r.received > i.end) {
      late++;
      latest = Math.max(latest, r.received - i.end);
    }
  }
  return `${fromReplicas.length} writes from replicas checked against ${intervals.length} guard intervals (largest send-to-receipt gap ${
    lag.toFixed(1)
  } ms; ${late} arrived after their sender's interval ended, by up to ${
    latest.toFixed(1)
  } ms)`;
}

/** The checks of a run that went on after its faults. */
function afterFaultChecks(
  run: ChaosEvidence,
  init: { rss: ReturnType<typeof checkRss>; rssWarmupMs: number },
): Check[] {
  const { workload, procs } = run;
  const { rss, rssWarmupMs } = init;
  return [
    {
      name:
        "every Website converged to its latest spec; every deleted one is cleaned up",
      violations: run.convergence,
      detail: `${workload.live().length} live and ${
        workload.sites.size - workload.live().length
      } deleted Websites`,
    },
    {
      name: "no key stuck in the leader's queue",
      violations: run.queueProblems,
      detail: "the leader's work queue: nothing queued, nothing processing",
    },
    {
      name: "RSS flat after warm-up",
      violations: rss.violations,
      detail: `every process under ${run.maxRssMb ?? 600} MB (peak ${
        (Math.max(
          0,
          ...procs.flatMap((p) => p.rss.samples.map((x) => x.kb)),
        ) /
          1024).toFixed(0)
      } MB); growth after warm-up (${
        rssWarmupMs / 60_000
      } min) of the ${rss.measured.length} processes that ran long enough: ${
        rss.measured.map((m) =>
          `${m.label} ${m.fromMb.toFixed(0)} → ${m.toMb.toFixed(0)} MB (${
            (m.growth * 100).toFixed(0)
          }%)`
        ).join(", ") || "none"
      }${survivorHeap(procs, run.warmupEnd + rssWarmupMs)}`,
    },
  ];
}

/**
 * What a report says: the seed, each fault injected, each invariant with
 * its first violations.
 *
 * @example
 * ```ts ignore
 * console.log(describeReport(await runChaos({ seed: 1, phaseMs: 75_000, pauseMs: 20_000 })));
 * ```
 */
export function describeReport(report: ChaosReport): string {
  return [
    `seed ${report.seed} (replay: CHAOS_SEED=${report.seed} or deno task chaos --seed ${report.seed})`,
    "injected:",
    ...report.injected.map((line) => `  ${line}`),
    "checked:",
    ...report.checks.map((c) =>
      `  ${c.violations.length === 0 ? "ok  " : "FAIL"} ${c.name}: ${c.detail}${
        c.violations.slice(0, 10).map((v) => `\n         ${v}`).join("")
      }`
    ),
  ].join("\n");
}

/** How long a process warms up before its RSS growth counts; see `rssWarmupMs`. */
export const RSS_WARMUP_MS = 8 * 60_000;
