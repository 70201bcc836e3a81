/**
 * What the chaos harness reads off the run for its checks and report: the
 * guard intervals the replicas reported, whether the Websites converged,
 * and the surviving replica's V8 heap at both ends (`_harness_deno.ts`).
 *
 * @module
 */
import type { KubeClient, KubeObject } from "../../controller/mod.ts";
import type { Website } from "../../examples/resources.ts";
import {
  childNames,
  configMaps,
  deployments,
  websites,
} from "../../examples/website.ts";
import { type ReplicaProcess, SURVIVOR } from "./_replica_process_deno.ts";
import { NAMESPACE, type Workload } from "./_workload_deno.ts";
import { checkWebsite, type GuardInterval } from "./_invariants.ts";

/** The span at each end of the measured time whose medians the heap report compares. */
const HEAP_WINDOW_MS = 2 * 60_000;

/**
 * Reported, not checked: the first replica process's V8 heap (used and
 * total, from its `memory` lines), as the medians of the first and the last
 * 2 minutes after `warm`, to tell heap growth from other memory.
 */
export function survivorHeap(
  procs: readonly ReplicaProcess[],
  warm: number,
): string {
  const first = procs.find((p) => p.id === SURVIVOR);
  const lines =
    first?.events.filter((e) => e.event === "memory" && e.t >= warm) ?? [];
  if (lines.length === 0) return "";
  const end = lines.at(-1)!.t;
  const median = (key: string, from: number, to: number) => {
    const values = lines.filter((e) => e.t >= from && e.t <= to)
      .map((e) => Number(e[key])).sort((a, b) => a - b);
    return (values[Math.floor(values.length / 2)] / 2 ** 20).toFixed(0);
  };
  const ends = (key: string) =>
    `${median(key, warm, warm + HEAP_WINDOW_MS)} → ${
      median(key, end - HEAP_WINDOW_MS, end)
    } MB`;
  return `; ${
    first!.rss.label
  }'s V8 heap (medians of the first and the last 2 min after warm-up): used ${
    ends("heapUsed")
  }, total ${ends("heapTotal")}`;
}

/** The guard intervals every process reported (open ones end at their last sample). */
export function guardIntervals(
  procs: readonly ReplicaProcess[],
): GuardInterval[] {
  const intervals: GuardInterval[] = [];
  for (const p of procs) {
    let open: GuardInterval | null = null;
    for (const e of p.events) {
      if (e.event !== "guard") continue;
      if (e.leading === true && typeof e.start === "number") {
        open = {
          replica: p.id,
          term: Number(e.term),
          start: e.start,
          end: e.start,
          open: true,
        };
        intervals.push(open);
      } else if (e.leading === true && typeof e.at === "number" && open) {
        open.end = e.at;
      } else if (e.leading === false && open) {
        open.end = Number(e.end);
        delete open.open;
        open = null;
      }
    }
  }
  return intervals;
}

/** What keeps the Websites from having converged (empty: converged). */
export async function converged(
  client: KubeClient,
  workload: Workload,
): Promise<string[]> {
  let sites: Website[];
  let cms: KubeObject[];
  let deps: KubeObject[];
  try {
    [sites, cms, deps] = await Promise.all([
      client.list<Website>(websites, { namespace: NAMESPACE }).then((l) =>
        l.items
      ),
      client.list(configMaps, { namespace: NAMESPACE }).then((l) => l.items),
      client.list(deployments, { namespace: NAMESPACE }).then((l) => l.items),
    ]);
  } catch (error) {
    return [`listing failed: ${(error as Error).message}`];
  }
  const byName = (items: KubeObject[]) =>
    new Map(items.map((o) => [o.metadata.name!, o]));
  const cm = byName(cms);
  const dep = byName(deps);
  const present = new Set(sites.map((s) => s.metadata.name!));
  const problems: string[] = [];
  for (const site of sites) {
    const names = childNames(site);
    problems.push(...checkWebsite(site, {
      configMap: cm.get(names.configMap),
      deployment: dep.get(names.deployment),
      foreign: workload.sites.get(site.metadata.name!)?.foreign ?? false,
    }));
  }
  for (const name of workload.sites.keys()) {
    if (present.has(name)) continue;
    const names = childNames({ metadata: { name } } as Website);
    if (cm.has(names.configMap)) {
      problems.push(`${name}: deleted, ConfigMap left behind`);
    }
    if (dep.has(names.deployment)) {
      problems.push(`${name}: deleted, Deployment left behind`);
    }
  }
  return problems;
}
