/**
 * `deno task jepsen`: the long linearizability run. Starts real node
 * processes, runs concurrent clients under a seeded nemesis for the given
 * time, checks the history per key, and prints operations checked, per-key
 * counts, faults injected by kind, indeterminate operations, checker time
 * and the verdict. Exits with status 1 unless the verdict is `ok` and the
 * cluster recovered (with `--broken-reads`: unless a violation was found).
 *
 * ```sh
 * deno task jepsen --minutes 30 --seed 7           # the long run
 * deno task jepsen --seconds 60 --seed 7 --nodes 5 # shorter, five nodes
 * deno task jepsen --seconds 20 --broken-reads     # reads skip the barrier: must be caught
 * ```
 *
 * Flags: `--minutes N` / `--seconds N` (default 30 s), `--seed N` (default:
 * drawn and printed), `--nodes 3|5`, `--clients N`, `--faults
 * kill,pause,partition,transfer,membership`, `--broken-reads`, `--quiet`.
 *
 * @module
 */
import { args, exit } from "../../platform/mod.ts";
import { FAULT_KINDS, type FaultKind } from "./_nemesis.ts";
import { formatSummary, runJepsen } from "./_run.ts";

function flag(name: string): string | undefined {
  const argv = args();
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function number(name: string, fallback: number): number {
  const text = flag(name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`Expected --${name} to be a number, found ${text}`);
    exit(2);
  }
  return n;
}

const minutes = flag("minutes");
const durationMs = minutes !== undefined
  ? number("minutes", 0) * 60_000
  : number("seconds", 30) * 1000;
const seed = number("seed", Math.floor(Math.random() * 1_000_000));
const nodes = number("nodes", 3);
const broken = flag("broken-reads") as "local" | "leader-local" | undefined;
const quiet = args().includes("--quiet");
const faults = (flag("faults") ?? FAULT_KINDS.join(",")).split(",");
for (const f of faults) {
  if (!(FAULT_KINDS as readonly string[]).includes(f)) {
    console.error(
      `Expected fault kinds among ${FAULT_KINDS.join(", ")}, found ${f}`,
    );
    exit(2);
  }
}
const replay =
  `deno task jepsen --seconds ${
    durationMs / 1000
  } --seed ${seed} --nodes ${nodes}` +
  (flag("faults") !== undefined ? ` --faults ${faults.join(",")}` : "") +
  (broken !== undefined ? ` --broken-reads ${broken}` : "");
console.log(`jepsen: ${replay}`);
const summary = await runJepsen({
  seed,
  durationMs,
  nodes,
  clients: number("clients", 6),
  reads: broken ?? "barrier",
  faults: faults as FaultKind[],
  log: quiet ? undefined : (line) => console.log(`  ${line}`),
});
console.log(formatSummary(summary));
console.log(`replay: ${replay}`);
const passed = broken !== undefined
  ? summary.verdict === "violation"
  : summary.verdict === "ok" && summary.problems.length === 0;
exit(passed ? 0 : 1);
