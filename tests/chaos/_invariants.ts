/**
 * The invariants of the operator chaos test, as pure functions over what
 * the run recorded: the API server's request log, the replicas' guard
 * intervals, RSS samples, and the objects on the server at the end. Each
 * returns the violations it found, as sentences (empty: it holds).
 *
 * All times are milliseconds on the system clock every process shares
 * (`testing/raft/wall_clock.ts`).
 *
 * @module
 */
import type { KubeObject } from "../../controller/mod.ts";
import type { Website } from "../../examples/resources.ts";
import {
  desiredConfigMap,
  desiredDeployment,
  FINALIZER,
} from "../../examples/website.ts";

/** The methods that write. */
export const WRITE_METHODS: ReadonlySet<string> = new Set([
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
]);

/** One request in the API server's log. */
export interface LoggedRequest {
  /** HTTP method. */
  method: string;
  /** Path and query. */
  path: string;
  /** When the server received it. */
  received: number;
  /** The replica that sent it (its `x-chaos-replica`), or `null`. */
  replica: number | null;
  /** Sent by the test's own workload (`x-chaos-workload`). */
  workload: boolean;
  /** The sending process and its request number (`x-chaos-proc`, `x-chaos-seq`). */
  proc?: string;
  /** See `proc`. */
  seq?: number;
  /**
   * From the replica's own record of this write: when its HTTP client
   * started writing it to the connection...
   */
  sent?: number;
  /** ...whether its guard led then... */
  leading?: boolean;
  /** ...in which term... */
  term?: number;
  /** ...its role... */
  role?: string;
  /** ...and how much of its lease was left (negative: ran out that long ago). */
  leaseLeftMs?: number | null;
}

/**
 * A time during which a replica's guard said "leader": from the first to
 * the last sample that found it so, so it lies within the true interval.
 * `open` marks one its process never closed (killed while leading); its
 * `end` is then the last sample the process reported.
 */
export interface GuardInterval {
  /** The replica id. */
  replica: number;
  /** The term it led in. */
  term: number;
  /** First sample leading. */
  start: number;
  /** Last sample leading. */
  end: number;
  /** Never closed by its process. */
  open?: boolean;
}

/**
 * Every write from a replica left while its guard led.
 *
 * The replica records each write at the moment its HTTP client starts
 * writing it to the connection (undici's `onRequestStart`, synchronously
 * followed by the socket write), with its guard as it stood then; the
 * server's log joins that record by the replica's process and request
 * number. The record must say "leading", and its time must lie within an
 * interval of the same term the replica reported. A write the server got
 * with no record from its replica, or with neither the replica's tag nor
 * the workload's, counts as a violation.
 *
 * Which way this errs: the record is taken in the same synchronous step as
 * the socket write, so only a freeze inside that step could slip through;
 * a replica frozen earlier (say, during a TLS handshake, after the
 * library's own check) is caught when it wakes up. The server's receive
 * time is reported, not checked: a write that left in time may arrive
 * after the interval ended, and flagging it would be wrong.
 */
export function checkFencing(
  requests: readonly LoggedRequest[],
  intervals: readonly GuardInterval[],
): string[] {
  const violations: string[] = [];
  for (const r of requests) {
    if (!WRITE_METHODS.has(r.method) || r.workload) continue;
    const what = `${r.method} ${r.path}`;
    if (r.replica === null) {
      violations.push(`A write without a replica's tag: ${what}`);
      continue;
    }
    if (r.sent === undefined) {
      violations.push(
        `Replica ${r.replica}'s ${what} reached the server with no record of its own`,
      );
      continue;
    }
    if (r.leading !== true) {
      const why = r.role !== undefined && r.role !== "leader"
        ? `its role was ${r.role}`
        : typeof r.leaseLeftMs === "number"
        ? `its lease had run out ${(-r.leaseLeftMs).toFixed(1)} ms before`
        : "it held no lease";
      violations.push(
        `Replica ${r.replica} sent ${what} at ${
          r.sent.toFixed(1)
        } while its guard was not leading (term ${r.term}: ${why})`,
      );
      continue;
    }
    const inside = intervals.some((i) =>
      i.replica === r.replica && i.term === r.term && i.start <= r.sent! &&
      (i.open || r.sent! <= i.end)
    );
    if (!inside) {
      violations.push(
        `Replica ${r.replica} sent ${what} at ${
          r.sent!.toFixed(1)
        } in term ${r.term}, outside every guard interval it reported`,
      );
    }
  }
  return violations;
}

/** At no instant did two replicas' guards lead at once. */
export function checkOneLeader(intervals: readonly GuardInterval[]): string[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  const violations: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const a = sorted[i];
      const b = sorted[j];
      if (b.start > a.end) break;
      if (a.replica === b.replica) continue;
      violations.push(
        `Replicas ${a.replica} (term ${a.term}, ${a.start.toFixed(1)}–${
          a.end.toFixed(1)
        }) and ${b.replica} (term ${b.term}, ${b.start.toFixed(1)}–${
          b.end.toFixed(1)
        }) led at once`,
      );
    }
  }
  return violations;
}

/** RSS samples of one process. */
export interface RssSeries {
  /** Which process, e.g. "replica 1 (start 2)". */
  label: string;
  /** Samples: time and resident set size in kB. */
  samples: Array<{ t: number; kb: number }>;
}

/** What {@linkcode checkRss} measured for one process. */
export interface RssGrowth {
  /** The process. */
  label: string;
  /** The fitted RSS at the first sample after warm-up, in MB. */
  fromMb: number;
  /** The fitted RSS at the last sample, in MB. */
  toMb: number;
  /** `to / from - 1`. */
  growth: number;
}

/** The least-squares line through the points, as `[value at x0, value at x1]`. */
function trend(
  points: ReadonlyArray<{ t: number; kb: number }>,
): [number, number] {
  const n = points.length;
  const mt = points.reduce((sum, p) => sum + p.t, 0) / n;
  const mk = points.reduce((sum, p) => sum + p.kb, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.kb - mk);
    den += (p.t - mt) ** 2;
  }
  const slope = den === 0 ? 0 : num / den;
  const at = (t: number) => mk + slope * (t - mt);
  return [at(points[0].t), at(points[n - 1].t)];
}

/** Options of {@linkcode checkRss}. */
export interface RssOptions {
  /** When the run's warm-up ended. */
  warmupEnd: number;
  /** How long a process warms up after it starts, in ms. */
  processWarmupMs: number;
  /** Growth is judged only for processes sampled this long after warm-up. */
  minSpanMs: number;
  /** The largest growth allowed (0.2: 20%). */
  maxGrowth: number;
  /** No sample of any process may exceed this many MB. */
  maxMb: number;
}

/**
 * RSS stays flat after warm-up. Every sample of every process stays under
 * `maxMb`; and for every process sampled at least `minSpanMs` after its
 * warm-up (the later of the run's and its own, `processWarmupMs` after its
 * first sample), the least-squares line through those samples rises by at
 * most `maxGrowth` from the first to the last. A fitted line, because a
 * Deno process's RSS swings by a third as V8 grows and shrinks its heap:
 * the swings average out, a leak's steady rise does not.
 */
export function checkRss(
  series: readonly RssSeries[],
  options: RssOptions,
): { violations: string[]; measured: RssGrowth[] } {
  const violations: string[] = [];
  const measured: RssGrowth[] = [];
  for (const s of series) {
    const peak = Math.max(0, ...s.samples.map((x) => x.kb)) / 1024;
    if (peak > options.maxMb) {
      violations.push(
        `${s.label}: RSS reached ${
          peak.toFixed(0)
        } MB, more than ${options.maxMb} MB`,
      );
    }
    if (s.samples.length === 0) continue;
    const warm = Math.max(
      options.warmupEnd,
      s.samples[0].t + options.processWarmupMs,
    );
    const after = s.samples.filter((x) => x.t >= warm);
    if (after.length < 10) continue;
    if (after.at(-1)!.t - after[0].t < options.minSpanMs) continue;
    const [fromKb, toKb] = trend(after);
    const from = fromKb / 1024;
    const to = toKb / 1024;
    const growth = to / from - 1;
    measured.push({ label: s.label, fromMb: from, toMb: to, growth });
    if (growth > options.maxGrowth) {
      violations.push(
        `${s.label}: RSS grew ${(growth * 100).toFixed(0)}% after warm-up (${
          from.toFixed(0)
        } MB to ${to.toFixed(0)} MB), more than ${
          (options.maxGrowth * 100).toFixed(0)
        }%`,
      );
    }
  }
  return { violations, measured };
}

/** The condition type the workload adds to a Website's status itself. */
export const FOREIGN_CONDITION = "ExternalProbe";

interface Condition {
  type: string;
  status: string;
  observedGeneration?: number;
}

/**
 * A list as a real API server stores it (and the test server, which
 * follows it): an empty one is left out (Go's `omitempty`).
 */
function asStored(list: unknown): Record<string, unknown>[] | undefined {
  return Array.isArray(list) && list.length > 0 ? list : undefined;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * A live Website converged to its latest spec: the operator's finalizer is
 * on it; its ConfigMap holds the data the spec asks for and names it as
 * controller owner; its Deployment has the replicas, image, ports and
 * environment the spec asks for; its status reports the current
 * generation, the URL, and both of the operator's conditions at that
 * generation; a condition another writer added (`foreign`) is still there.
 * The Deployment is compared as the API server stores what the operator
 * applied: ports carry their default protocol, empty lists are left out.
 */
export function checkWebsite(
  site: Website,
  children: {
    configMap?: KubeObject & { data?: Record<string, string> };
    deployment?: KubeObject & { spec?: Record<string, unknown> };
    foreign: boolean;
  },
): string[] {
  const name = site.metadata.name!;
  const generation = site.metadata.generation;
  const problems: string[] = [];
  if (site.metadata.deletionTimestamp) {
    problems.push(`${name}: still being deleted (finalizer not removed)`);
    return problems;
  }
  if (!site.metadata.finalizers?.includes(FINALIZER)) {
    problems.push(`${name}: no ${FINALIZER} finalizer`);
  }
  const cm = children.configMap;
  const wantCm = desiredConfigMap(site) as KubeObject & {
    data: Record<string, string>;
  };
  if (!cm) problems.push(`${name}: ConfigMap missing`);
  else {
    if (!sameJson(cm.data, wantCm.data)) {
      problems.push(
        `${name}: ConfigMap data ${JSON.stringify(cm.data)}, expected ${
          JSON.stringify(wantCm.data)
        }`,
      );
    }
    const owner = cm.metadata.ownerReferences?.find((r) => r.controller);
    if (owner?.uid !== site.metadata.uid) {
      problems.push(`${name}: ConfigMap not owned by the Website`);
    }
  }
  const deployment = children.deployment;
  if (!deployment) problems.push(`${name}: Deployment missing`);
  else {
    const want = desiredDeployment(site) as KubeObject & {
      spec: Record<string, unknown>;
    };
    const pick = (d: { spec?: Record<string, unknown> }) => {
      const spec = d.spec ?? {};
      const template = spec.template as
        | { spec?: { containers?: Record<string, unknown>[] } }
        | undefined;
      const c = template?.spec?.containers?.[0] ?? {};
      return {
        replicas: spec.replicas,
        image: c.image,
        ports: asStored(c.ports)?.map((p) => ({ protocol: "TCP", ...p })),
        env: asStored(c.env),
        envFrom: asStored(c.envFrom),
      };
    };
    if (!sameJson(pick(deployment), pick(want))) {
      problems.push(
        `${name}: Deployment ${JSON.stringify(pick(deployment))}, expected ${
          JSON.stringify(pick(want))
        }`,
      );
    }
  }
  const status = site.status ?? {};
  if (status.observedGeneration !== generation) {
    problems.push(
      `${name}: status.observedGeneration ${status.observedGeneration}, generation ${generation}`,
    );
  }
  if (status.url !== `http://${site.spec.domain}/`) {
    problems.push(`${name}: status.url ${status.url}`);
  }
  const conditions = (status.conditions ?? []) as Condition[];
  for (const type of ["Available", "Reconciled"]) {
    const c = conditions.find((x) => x.type === type);
    if (c?.observedGeneration !== generation) {
      problems.push(
        `${name}: condition ${type} ${
          c ? `at generation ${c.observedGeneration}` : "missing"
        }, generation ${generation}`,
      );
    }
  }
  if (
    children.foreign && !conditions.some((c) => c.type === FOREIGN_CONDITION)
  ) {
    problems.push(
      `${name}: condition ${FOREIGN_CONDITION}, written by another client, was dropped`,
    );
  }
  return problems;
}
