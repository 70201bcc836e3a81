/**
 * `deno task bench:leader-election [seeds]`: fails over a three-node
 * in-process Raft cluster wired to leader guards, once per seed, on a fake
 * clock (tick 10 ms, election timeout 60–120 ms, lease 40 ms), and prints how
 * long the first election took, when the cut-off leader's guard let go, when
 * the new leader's guard took over, and the gap between the two (never
 * negative: the run checks at every 2 ms step that at most one guard leads).
 *
 * @module
 */
import { mock } from "node:test";
import { args } from "../platform/mod.ts";
import { NodeCluster } from "../testing/raft/nodes.ts";
import { reportRow, reportSamples } from "./_report.ts";

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `min ${sorted[0]} ms, median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${
    sorted[sorted.length - 1]
  } ms`;
}

const seeds = Number(args()[0] ?? 100);
const elected: number[] = [];
const letGo: number[] = [];
const takeover: number[] = [];
const gap: number[] = [];
mock.timers.enable({ apis: ["setTimeout", "Date"] });
const advance = (ms: number) => mock.timers.tick(ms);
try {
  for (let seed = 1; seed <= seeds; seed++) {
    const cluster = new NodeCluster({
      clock: () => Date.now(),
      seed,
      tickMs: 10,
      electionTicks: 6,
    });
    const start = Date.now();
    await cluster.start();
    try {
      await cluster.runUntil(() => cluster.leaders().length === 1, {
        limitMs: 10_000,
        advance,
      });
      elected.push(Date.now() - start);
      const [first] = cluster.leaders();
      const cutAt = Date.now();
      cluster.links.isolate(first, cluster.ids());
      await cluster.runUntil(
        () => cluster.leaders().length === 1 && cluster.leaders()[0] !== first,
        { limitMs: 10_000, advance },
      );
      const lose = cluster.history.find((h) =>
        h.kind === "lose" && h.id === first && h.at >= cutAt
      )!;
      const gain = cluster.history.findLast((h) => h.kind === "gain")!;
      letGo.push(lose.at - cutAt);
      takeover.push(gain.at - cutAt);
      gap.push(gain.at - lose.at);
    } finally {
      await cluster.stopAll({ advance });
    }
  }
} finally {
  mock.timers.reset();
}
console.log(`leader guard failover, ${seeds} seeded runs, fake clock:`);
console.log(
  `  first election (a fresh cluster bootstraps first):  ${summary(elected)}`,
);
console.log(
  `  cut-off leader's guard lets go after the cut:       ${summary(letGo)}`,
);
console.log(
  `  new leader's guard leads after the cut:             ${summary(takeover)}`,
);
console.log(
  `  gap between the two (no guard leads):               ${summary(gap)}`,
);
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
reportRow({
  name:
    "leader guard failover, fake clock (tick 10 ms): cut → new guard leads, median",
  unit: "ms",
  ours: median(takeover),
  better: "lower",
});
reportRow({
  name: "leader guard failover, fake clock: gap with no guard leading, median",
  unit: "ms",
  ours: median(gap),
  better: "lower",
});
reportSamples({
  name: "ours, fake clock: cut → new guard leads",
  unit: "ms",
  samples: takeover,
});
