/**
 * `deno task test:netns:chaos [rounds]`: the partition scenarios of
 * `_scenarios_deno.ts` in random order against one 3-replica cluster in
 * network namespaces (default 20 rounds), checking the invariants after
 * each; prints each scenario's figures and, at the end, the median and
 * maximum of each figure per scenario. Exits non-zero on the first
 * violated invariant or failed wait. Needs root (see `_lab_deno.ts`).
 *
 * @module
 */
import process from "node:process";
import { args, exit } from "../../platform/mod.ts";
import { NetCluster } from "./_cluster_deno.ts";
import { netnsSkipReason } from "./_lab_deno.ts";
import {
  apiCutFromLeader,
  type Figures,
  formatFigures,
  isolateLeader,
  oneWayBlock,
  raftOnlyCut,
  restartWithNewAddress,
  seed,
} from "./_scenarios_deno.ts";

const SCENARIOS = [
  isolateLeader,
  raftOnlyCut,
  oneWayBlock,
  restartWithNewAddress,
  apiCutFromLeader,
];

const skip = netnsSkipReason();
if (skip) {
  console.error(`Cannot run: ${skip}`);
  exit(2);
}
const rounds = Number(args()[0] ?? 20);
const cluster = await NetCluster.start({ RAFT_TICK_MS: "100" });
const all: Figures[] = [];
let status = 0;
try {
  await seed(cluster);
  for (let round = 1; round <= rounds; round++) {
    const run = SCENARIOS[Math.floor(Math.random() * SCENARIOS.length)];
    const f = await run(cluster);
    all.push(f);
    const { intervals, writes } = cluster.checkInvariants();
    console.log(
      `${round}/${rounds} ${
        formatFigures(f)
      } [${intervals} intervals, ${writes} writes checked]`,
    );
  }
} catch (error) {
  console.error(`FAILED: ${(error as Error).stack ?? error}`);
  status = 1;
} finally {
  cluster.destroy();
}

const stat = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `median ${Math.round(median)} / max ${Math.round(sorted.at(-1)!)} ms`;
};
const byScenario = Map.groupBy(all, (f) => f.scenario);
for (const [scenario, list] of byScenario) {
  const of = (key: keyof Figures) =>
    list.map((f) => f[key]).filter((v): v is number => typeof v === "number");
  console.log(
    `${scenario} (${list.length} runs): old guard ended ${
      stat(of("oldGuardEndMs"))
    }, elected ${stat(of("electedMs"))}, new guard ${
      stat(of("newGuardStartMs"))
    }, converged ${stat(of("convergedMs"))} after the heal`,
  );
}
console.log(
  `${all.length} scenarios, ${
    status === 0 ? "no invariant violated" : "FAILED"
  }`,
);
process.exitCode = status;
