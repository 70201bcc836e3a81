import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import {
  controllerMetrics,
  MetricsRegistry,
  RaftMetrics,
} from "../../metrics/mod.ts";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import type { NodeStatus } from "../../raft/node.ts";
import { parseExposition } from "./_exposition.ts";

interface Dashboard {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
}

const PROMQL_WORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "offset",
  "bool",
]);

/** Metric names in a PromQL expression (not functions, labels or keywords). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, "");
  const names: string[] = [];
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    if (match[1] !== undefined) continue; // a function call
    if (PROMQL_WORDS.has(match[0])) continue;
    names.push(match[0]);
  }
  return names;
}

/** Every series name our instruments can expose (histograms with suffixes). */
async function exposedNames(): Promise<Set<string>> {
  const registry = new MetricsRegistry();
  controllerMetrics({ registry, controller: "widgets" });
  const status = {
    id: 0,
    role: "leader",
    term: 1,
    leader: 0,
    commit: 0,
    applied: 0,
    lastIndex: 0,
    progress: {},
  } as unknown as NodeStatus;
  new RaftMetrics({
    id: 0,
    status: () => status,
    onRoleChange: () => () => {},
  }, { registry });
  RaftMetrics.instrumentStorage(new MemoryStorage(), { registry });
  const parsed = parseExposition(await registry.render());
  const names = new Set<string>();
  for (const [name, type] of parsed.type) {
    names.add(name);
    if (type === "histogram") {
      for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
    }
  }
  return names;
}

// The dashboard is a repository file, not shipped in the npm package (whose
// compiled tests run under Node), so this checks it under Deno only.
describe("deploy/grafana/k8s-operator-dashboard.json", {
  skip: !("Deno" in globalThis),
}, () => {
  it("queries only metrics that the registry exposes", async () => {
    const dashboard = JSON.parse(
      await readFile(
        new URL(
          "../../deploy/grafana/k8s-operator-dashboard.json",
          import.meta.url,
        ),
        "utf8",
      ),
    ) as Dashboard;
    const exposed = await exposedNames();
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      assert.ok(panel.targets.length > 0, `panel ${panel.title} has no query`);
      for (const target of panel.targets) {
        const names = metricNames(target.expr);
        assert.ok(names.length > 0, `no metric in ${target.expr}`);
        for (const name of names) {
          assert.ok(
            exposed.has(name),
            `panel "${panel.title}" queries ${name}, which no instrument exposes`,
          );
          used.add(name);
        }
      }
    }
    for (
      const needed of [
        "raft_leader_id", // leader
        "raft_leader_changes_seen_total", // failovers
        "controller_runtime_reconcile_total", // rate
        "controller_runtime_reconcile_errors_total", // errors
        "controller_runtime_reconcile_time_seconds_bucket", // latency
      ]
    ) {
      assert.ok(used.has(needed), `the dashboard does not show ${needed}`);
    }
  });

  it("finds metric names in PromQL and skips functions, labels and keywords", () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.99, sum by (le, controller) (rate(a_bucket{x="y{z}"}[5m]))) / b_total',
      ),
      ["a_bucket", "b_total"],
    );
  });
});
