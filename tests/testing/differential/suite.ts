/**
 * The differential suite as a whole: starts both control planes (the
 * in-process `TestApiServer` and a real kube-apiserver from
 * `KUBEBUILDER_ASSETS`), installs the shared custom resource on both, runs
 * every scenario on both, and sorts the differences into listed and
 * unlisted ones, and the listed ones that no longer happen.
 *
 * @module
 */
import { EnvTest, TestApiServer } from "../../../testing/mod.ts";
import { RawClient } from "./client.ts";
import type { Difference } from "./compare.ts";
import { type Divergence, DIVERGENCES } from "./divergences.ts";
import { installGadgets } from "./gadgets.ts";
import {
  compareScenario,
  type Plane,
  type Scenario,
  type ScenarioResult,
} from "./run.ts";

/** The API group of the shared gadgets. */
export const GROUP = "differential.k8s-operator.dev";

/** Both planes, started. */
export interface Planes {
  fake: Plane;
  real: Plane;
  stop(): Promise<void>;
}

/** Starts both planes and installs the gadgets CRD on each. */
export async function startPlanes(assets: string): Promise<Planes> {
  const [server, envTest] = await Promise.all([
    TestApiServer.start({ bookmarkIntervalMs: 0 }),
    EnvTest.start({ binaryAssetsDirectory: assets }),
  ]);
  const fake: Plane = {
    name: "fake",
    url: server.url,
    token: server.token,
    caPem: server.caPem,
  };
  const real: Plane = {
    name: "real",
    url: envTest.url,
    token: envTest.token,
    caPem: envTest.caPem,
  };
  const stop = async () => {
    await Promise.all([server.stop(), envTest.stop()]);
  };
  try {
    await Promise.all([fake, real].map(async (plane) => {
      const client = new RawClient(plane);
      try {
        await installGadgets(client, GROUP);
      } finally {
        client.close();
      }
    }));
  } catch (error) {
    await stop();
    throw error;
  }
  return { fake, real, stop };
}

/** Whether a listed divergence covers a difference. */
export function covers(
  divergence: Divergence,
  scenario: string,
  difference: Difference & { step: string },
): boolean {
  if (divergence.scenario !== scenario || divergence.step !== difference.step) {
    return false;
  }
  const p = divergence.path;
  const path = difference.path;
  return path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`);
}

/** A scenario's result judged against the divergence list. */
export interface Judged extends ScenarioResult {
  listed: (Difference & { step: string; reason: string })[];
  unlisted: (Difference & { step: string })[];
  /** Listed divergences of this scenario that did not happen. */
  stale: Divergence[];
}

/** Sorts a scenario's differences by the divergence list. */
export function judge(result: ScenarioResult): Judged {
  const listed: Judged["listed"] = [];
  const unlisted: Judged["unlisted"] = [];
  const used = new Set<Divergence>();
  for (const d of result.differences) {
    const divergence = DIVERGENCES.find((v) => covers(v, result.name, d));
    if (divergence) {
      used.add(divergence);
      listed.push({ ...d, reason: divergence.reason });
    } else unlisted.push(d);
  }
  const stale = DIVERGENCES.filter((v) =>
    v.scenario === result.name && !used.has(v)
  );
  return { ...result, listed, unlisted, stale };
}

/** Runs scenarios, `parallel` at a time, each on both planes. */
export async function runScenarios(
  planes: Planes,
  scenarios: Scenario[],
  parallel = 4,
): Promise<Judged[]> {
  const results: Judged[] = new Array(scenarios.length);
  let next = 0;
  const worker = async () => {
    while (next < scenarios.length) {
      const i = next++;
      results[i] = judge(
        await compareScenario(scenarios[i], { ...planes, group: GROUP }),
      );
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

function show(value: unknown): string {
  const text = value === undefined ? "(absent)" : JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/**
 * The report: figures first (scenarios, observations compared, how many of
 * them differ at all, differences listed and unlisted, listed ones that did
 * not happen), then every difference.
 */
export function report(results: Judged[]): string {
  const lines: string[] = [];
  const steps = results.reduce((n, r) => n + r.steps, 0);
  const listed = results.reduce((n, r) => n + r.listed.length, 0);
  const unlisted = results.reduce((n, r) => n + r.unlisted.length, 0);
  const stale = results.reduce((n, r) => n + r.stale.length, 0);
  const differing = results.reduce(
    (n, r) => n + new Set(r.differences.map((d) => d.step)).size,
    0,
  );
  lines.push(
    `differential: ${results.length} scenarios, ${steps} observations compared, ` +
      `${differing} of them differ, ${
        listed + unlisted
      } differences (${listed} listed, ${unlisted} unlisted), ` +
      `${stale} listed divergences that did not happen`,
  );
  for (const r of results) {
    if (
      r.unlisted.length === 0 && r.stale.length === 0 && r.listed.length === 0
    ) continue;
    lines.push(`\n${r.name}:`);
    for (const d of r.unlisted) {
      lines.push(
        `  UNLISTED [${d.step}] ${d.path || "(whole)"}\n    fake: ${
          show(d.fake)
        }\n    real: ${show(d.real)}`,
      );
    }
    for (const d of r.listed) {
      lines.push(`  listed   [${d.step}] ${d.path}: ${d.reason}`);
    }
    for (const v of r.stale) {
      lines.push(`  STALE    [${v.step}] ${v.path}: listed, did not happen`);
    }
  }
  return lines.join("\n");
}
