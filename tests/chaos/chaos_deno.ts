/**
 * `deno task chaos [--minutes 20] [--seed N] [--pause-seconds 60]
 * [--broken unfenced] [--log-dir DIR]`: the long operator chaos run. Prints the schedule's
 * seed, every fault as it is injected, then every invariant with what it
 * checked and what it found; exits non-zero on any violation. Replay a run
 * with its seed.
 *
 * RSS growth is judged from 8 minutes after the warm-up, over at least 5
 * minutes: only runs of 13 minutes or more judge it (shorter ones check the
 * 600 MB ceiling only). For the first 6 to 8 minutes V8 grows its heap
 * while the live heap stays flat; that is warm-up, not the long run
 * (figures in `bench/results/chaos.md`). `CHAOS_MEMORY_GC=1` and
 * `CHAOS_HEAP_SNAPSHOTS=<dir>` in the environment turn on the replicas'
 * memory diagnostics (`_replica_deno.ts`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { exit } from "../../platform/mod.ts";
import { runChaos } from "./_harness_deno.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "20" },
    seed: { type: "string" },
    "pause-seconds": { type: "string", default: "60" },
    broken: { type: "string" },
    "log-dir": { type: "string" },
  },
});
const minutes = Number(values.minutes);
const seed = values.seed === undefined
  ? Math.floor(Math.random() * 2 ** 31)
  : Number(values.seed);
const pauseMs = Number(values["pause-seconds"]) * 1000;
if (!(minutes > 0) || !Number.isInteger(seed) || !(pauseMs > 0)) {
  throw new TypeError(
    `Expected --minutes > 0, an integer --seed and --pause-seconds > 0, found ${
      JSON.stringify(values)
    }`,
  );
}
if (values.broken !== undefined && values.broken !== "unfenced") {
  throw new TypeError(
    `Expected --broken unfenced, found ${JSON.stringify(values.broken)}`,
  );
}
console.log(
  `operator chaos: ${minutes} min of faults, seed ${seed} (replay: deno task chaos --minutes ${minutes} --seed ${seed})`,
);
const report = await runChaos({
  seed,
  phaseMs: minutes * 60_000,
  pauseMs,
  pauseEveryMs: 5 * 60_000,
  broken: values.broken as "unfenced" | undefined,
  convergeTimeoutMs: 120_000,
  stopOnViolation: values.broken !== undefined,
  logDir: values["log-dir"],
  out: (line) => console.log(line),
});
console.log("");
console.log(`checked (seed ${seed}):`);
for (const check of report.checks) {
  console.log(
    `  ${
      check.violations.length === 0 ? "ok  " : "FAIL"
    } ${check.name}: ${check.detail}`,
  );
  for (const v of check.violations.slice(0, 20)) console.log(`         ${v}`);
  if (check.violations.length > 20) {
    console.log(`         ... ${check.violations.length - 20} more`);
  }
}
console.log("counts:");
for (const [what, n] of Object.entries(report.stats)) {
  console.log(`  ${what}: ${n}`);
}
if (report.violations.length > 0) exit(1);
