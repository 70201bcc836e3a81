/**
 * The simulator's command line.
 *
 * ```sh
 * deno task sim --seeds 500 --from 1            # seeds 1..500, 3 and 5 nodes alternating
 * deno task sim --seeds 200 --from 1 --nodes 5  # only 5-node clusters
 * deno task sim --seed 42 --nodes 3 --verbose   # replay one seed with a trace
 * deno task sim --seeds 100 --variant vote-without-log-check
 * ```
 *
 * Exits with status 1 when any seed breaks an invariant, printing the
 * invariant, the tick and the command that replays it.
 *
 * @module
 */
import { args, exit } from "../../platform/mod.ts";
import { CORES, isRefusal } from "./_cores.ts";
import { replayCommand, runSeed } from "./_run.ts";
import type { SeedResult } from "./_run.ts";

interface Cli {
  seeds: number;
  from: number;
  nodes: number | null;
  verbose: boolean;
  variant: string;
  faultTicks: number;
}

const USAGE =
  "usage: deno task sim [--seeds N] [--from S] [--seed X] [--nodes 3|5] [--variant NAME] [--ticks T] [--verbose]";

function parse(argv: string[]): Cli {
  const cli: Cli = {
    seeds: 100,
    from: 1,
    nodes: null,
    verbose: false,
    variant: "real",
    faultTicks: 300,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`Expected a value after ${flag}`);
      return v;
    };
    const integer = () => {
      const v = Number(value());
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new Error(
          `Expected a non-negative integer after ${flag}, found ${argv[i]}`,
        );
      }
      return v;
    };
    if (flag === "--seeds") cli.seeds = integer();
    else if (flag === "--from") cli.from = integer();
    else if (flag === "--seed") {
      cli.from = integer();
      cli.seeds = 1;
    } else if (flag === "--nodes") {
      cli.nodes = integer();
      if (cli.nodes !== 3 && cli.nodes !== 5) {
        throw new Error(`Expected --nodes 3 or 5, found ${cli.nodes}`);
      }
    } else if (flag === "--variant") {
      cli.variant = value();
      if (!(cli.variant in CORES)) {
        throw new Error(
          `Expected --variant to be one of ${
            Object.keys(CORES).join(", ")
          }, found ${cli.variant}`,
        );
      }
    } else if (flag === "--ticks") cli.faultTicks = integer();
    else if (flag === "--verbose") cli.verbose = true;
    else throw new Error(`Expected a known flag, found ${flag}\n${USAGE}`);
  }
  return cli;
}

/** Nodes for a seed when `--nodes` is not given: 3 for odd seeds, 5 for even. */
export function nodesForSeed(seed: number): number {
  return seed % 2 === 1 ? 3 : 5;
}

function main(): number {
  let cli: Cli;
  try {
    cli = parse(args());
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    return 2;
  }
  const started = performance.now();
  const failures: SeedResult[] = [];
  const totals = {
    elections: 0,
    proposals: 0,
    crashes: 0,
    wipes: 0,
    wipeAlls: 0,
    crashesBeforeWrite: 0,
    snapshotsInstalled: 0,
    confChanges: 0,
    transfers: 0,
    messages: 0,
  };
  const recoveries: number[] = [];
  const leases: number[] = [];
  const slack: number[] = [];
  const step = Math.max(1, Math.floor(cli.seeds / 10));
  for (let k = 0; k < cli.seeds; k++) {
    const seed = cli.from + k;
    const nodes = cli.nodes ?? nodesForSeed(seed);
    const result = runSeed(seed, {
      nodes,
      factory: CORES[cli.variant],
      isRefusal,
      faultTicks: cli.faultTicks,
      trace: cli.verbose ? (line) => console.log(line) : undefined,
    });
    totals.elections += result.stats.elections;
    totals.proposals += result.stats.proposals;
    totals.crashes += result.stats.crashes;
    totals.wipes += result.stats.wipes;
    totals.wipeAlls += result.stats.wipeAlls;
    totals.crashesBeforeWrite += result.stats.crashesBeforeWrite;
    totals.snapshotsInstalled += result.stats.snapshotsInstalled;
    totals.confChanges += result.stats.confChanges;
    totals.transfers += result.stats.transfers;
    totals.messages += result.network.delivered;
    if (result.recovery !== null) {
      recoveries.push(result.recovery.commit);
      leases.push(result.recovery.lease);
      slack.push(result.recovery.commit / result.recovery.bound);
    }
    if (result.violation !== null) {
      failures.push(result);
      const variant = cli.variant === "real" ? undefined : cli.variant;
      console.log(
        `FAIL seed ${seed} (${nodes} nodes): ${result.violation.message}`,
      );
      console.log(
        `  replay: ${
          replayCommand(seed, { nodes, ticks: cli.faultTicks, variant })
        }`,
      );
    }
    if (cli.seeds > 1 && (k + 1) % step === 0) {
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        `... ${
          k + 1
        }/${cli.seeds} seeds, ${failures.length} violations, ${secs} s`,
      );
    }
  }
  const secs = (performance.now() - started) / 1000;
  const pct = (values: number[], p: number) => {
    if (values.length === 0) return "-";
    const sorted = [...values].sort((a, b) => a - b);
    const v =
      sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    return Number.isInteger(v) ? String(v) : v.toFixed(2);
  };
  console.log(
    `seeds ${cli.from}..${
      cli.from + cli.seeds - 1
    } (${cli.variant} core): ${cli.seeds} run, ${failures.length} violations, ${
      secs.toFixed(1)
    } s (${(secs * 1000 / Math.max(1, cli.seeds)).toFixed(1)} ms/seed)`,
  );
  console.log(
    `  totals: ${totals.elections} leaders, ${totals.proposals} proposals, ${totals.crashes} crashes (${totals.wipes} losing the disk, ${totals.wipeAlls} times every node at once, ${totals.crashesBeforeWrite} of a leader between sending appends and writing them), ${totals.snapshotsInstalled} snapshots installed, ${totals.confChanges} membership changes, ${totals.transfers} transfers, ${totals.messages} messages delivered`,
  );
  console.log(
    `  ticks from heal to a leader holding a lease: median ${
      pct(leases, 0.5)
    }, p99 ${pct(leases, 0.99)}, max ${pct(leases, 1)}`,
  );
  console.log(
    `  ticks from heal to a proposal applied on every member: median ${
      pct(recoveries, 0.5)
    }, p99 ${pct(recoveries, 0.99)}, max ${pct(recoveries, 1)}`,
  );
  console.log(
    `  share of the heal bound used: median ${pct(slack, 0.5)}, p99 ${
      pct(slack, 0.99)
    }, max ${pct(slack, 1)}`,
  );
  return failures.length === 0 ? 0 : 1;
}

if (import.meta.main) exit(main());
