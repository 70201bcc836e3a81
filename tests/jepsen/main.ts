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
 * deno task jepsen --seconds 10 --broken-reads local   # reads skip the barrier: caught
 * deno task jepsen --seconds 10 --broken-reads leader-local \
 *   --faults partition --partitions isolate --leader-share 1   # no lease: caught
 * ```
 *
 * Flags: `--minutes N` / `--seconds N` (default 30 s), `--seed N` (default:
 * drawn and printed), `--nodes 3|5`, `--clients N`, `--readers N`,
 * `--faults kill,pause,partition,transfer,membership`, `--partitions
 * isolate,inbound,outbound,minority`, `--leader-share P` (how often a fault
 * aims at the leader, default 0.5), `--fault-gap MIN,MAX` and
 * `--fault-duration MIN,MAX` (milliseconds, default 500,2000 and
 * 1000,3000), `--broken-reads local|leader-local`,
 * `--storage file|memory` (memory: a killed node restarts empty), `--quiet`.
 *
 * @module
 */
import { args, exit } from "../../platform/mod.ts";
import { FAULT_KINDS, PARTITION_VARIANTS } from "./_nemesis.ts";
import { formatSummary, runJepsen } from "./_run.ts";

function flag(name: string): string | undefined {
  const argv = args();
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function fail(message: string): never {
  console.error(message);
  return exit(2);
}

function number(name: string, fallback: number): number {
  const text = flag(name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) {
    fail(`Expected --${name} to be a number, found ${text}`);
  }
  return n;
}

function range(name: string, fallback: [number, number]): [number, number] {
  const text = flag(name);
  if (text === undefined) return fallback;
  const [low, high] = text.split(",").map(Number);
  if (!(low >= 0 && high >= low)) {
    fail(`Expected --${name} to be MIN,MAX milliseconds, found ${text}`);
  }
  return [low, high];
}

function list<T extends string>(name: string, all: readonly T[]): T[] {
  const items = (flag(name) ?? all.join(",")).split(",");
  for (const item of items) {
    if (!(all as readonly string[]).includes(item)) {
      fail(`Expected --${name} among ${all.join(", ")}, found ${item}`);
    }
  }
  return items as T[];
}

const minutes = flag("minutes");
const durationMs = minutes !== undefined
  ? number("minutes", 0) * 60_000
  : number("seconds", 30) * 1000;
const seed = number("seed", Math.floor(Math.random() * 1_000_000));
const nodes = number("nodes", 3);
const faults = list("faults", FAULT_KINDS);
const partitions = list("partitions", PARTITION_VARIANTS);
const leaderShare = number("leader-share", 0.5);
const broken = flag("broken-reads");
if (broken !== undefined && broken !== "local" && broken !== "leader-local") {
  fail(`Expected --broken-reads local or leader-local, found ${broken}`);
}
const storage = flag("storage") ?? "file";
if (storage !== "file" && storage !== "memory") {
  fail(`Expected --storage file or memory, found ${storage}`);
}
const quiet = args().includes("--quiet");
const given = (name: string) =>
  flag(name) === undefined ? "" : ` --${name} ${flag(name)}`;
const replay = `deno task jepsen --seconds ${durationMs / 1000} ` +
  `--seed ${seed} --nodes ${nodes}` +
  [
    "clients",
    "readers",
    "faults",
    "partitions",
    "leader-share",
    "fault-gap",
    "fault-duration",
    "broken-reads",
    "storage",
  ]
    .map(given).join("");
console.log(`jepsen: ${replay}`);
const summary = await runJepsen({
  seed,
  durationMs,
  nodes,
  storage,
  clients: number("clients", 6),
  readers: number("readers", 2),
  reads: broken ?? "barrier",
  faults,
  partitions,
  leaderShare,
  faultGapMs: range("fault-gap", [500, 2_000]),
  faultDurationMs: range("fault-duration", [1_000, 3_000]),
  log: quiet ? undefined : (line) => console.log(`  ${line}`),
});
console.log(formatSummary(summary));
console.log(`replay: ${replay}`);
const passed = broken !== undefined
  ? summary.verdict === "violation"
  : summary.verdict === "ok" && summary.problems.length === 0;
exit(passed ? 0 : 1);
