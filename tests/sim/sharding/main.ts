/**
 * The sharding simulator's command line.
 *
 * ```sh
 * deno task sim:sharding --seeds 2000              # seeds 1..2000, 3 and 5 replicas alternating
 * deno task sim:sharding --seed 42 --nodes 3 --verbose
 * deno task sim:sharding --seeds 200 --variant new-leader-no-wait
 * deno task sim:sharding --seeds 500 --ms 20000   # longer fault phases
 * deno task sim:sharding --seeds 200 --scenario kill --nodes 3   # failover on a calm cluster
 * ```
 *
 * Exits with status 1 when any seed breaks an invariant, printing it and
 * the command that replays it.
 *
 * @module
 */
import { args, exit } from "../../../platform/mod.ts";
import {
  nodesForShardSeed,
  quantile,
  runShardScenario,
  runShardSeed,
  type Scenario,
  SCENARIOS,
  shardReplayCommand,
} from "./_run.ts";
import type { ShardSeedResult } from "./_run.ts";
import { VARIANTS } from "./_variants.ts";
import { zeroCounts } from "./_world.ts";

interface Cli {
  seeds: number;
  from: number;
  nodes: number | null;
  verbose: boolean;
  variant: string;
  faultMs: number;
  scenario: Scenario | null;
}

const USAGE =
  "usage: deno task sim:sharding [--seeds N] [--from S] [--seed X] [--nodes 3|5] [--variant NAME] [--ms FAULT_MS] [--scenario NAME] [--verbose]";

function parse(argv: string[]): Cli {
  const cli: Cli = {
    seeds: 100,
    from: 1,
    nodes: null,
    verbose: false,
    variant: "real",
    faultMs: 8000,
    scenario: null,
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
      if (!(cli.variant in VARIANTS)) {
        throw new Error(
          `Expected --variant to be one of ${
            Object.keys(VARIANTS).join(", ")
          }, found ${cli.variant}`,
        );
      }
    } else if (flag === "--ms") cli.faultMs = integer();
    else if (flag === "--scenario") {
      const name = value();
      if (!(SCENARIOS as readonly string[]).includes(name)) {
        throw new Error(
          `Expected --scenario to be one of ${
            SCENARIOS.join(", ")
          }, found ${name}`,
        );
      }
      cli.scenario = name as Scenario;
    } else if (flag === "--verbose") cli.verbose = true;
    else throw new Error(`Expected a known flag, found ${flag}\n${USAGE}`);
  }
  return cli;
}

/** `--scenario`: one event per seed on a calm cluster, its per-shard times. */
function scenarios(cli: Cli, scenario: Scenario): number {
  const samples: number[] = [];
  const gaps: number[] = [];
  let stranded = 0;
  let failures = 0;
  for (let k = 0; k < cli.seeds; k++) {
    const seed = cli.from + k;
    const nodes = cli.nodes ?? nodesForShardSeed(seed);
    const result = runShardScenario(seed, { nodes, scenario });
    samples.push(...result.samples);
    gaps.push(...result.gaps);
    stranded += result.stranded;
    if (result.violation !== null) {
      failures++;
      console.log(
        `FAIL seed ${seed} (${nodes} nodes): ${result.violation.message}`,
      );
    }
  }
  console.log(
    `${scenario}, seeds ${cli.from}..${
      cli.from + cli.seeds - 1
    }: ms from the event to the next grant of each shard the replica held: p50 ${
      quantile(samples, 0.5)
    }, p99 ${quantile(samples, 0.99)}, max ${
      quantile(samples, 1)
    } (${samples.length} shards, ${stranded} not granted within 10 s, ${failures} violations)`,
  );
  console.log(
    `  every shard, longest time without a holder in the 5 s after: p50 ${
      quantile(gaps, 0.5)
    }, p99 ${quantile(gaps, 0.99)}, max ${quantile(gaps, 1)}`,
  );
  return failures === 0 && stranded === 0 ? 0 : 1;
}

function main(): number {
  let cli: Cli;
  try {
    cli = parse(args());
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    return 2;
  }
  if (cli.scenario !== null) return scenarios(cli, cli.scenario);
  const started = performance.now();
  const failures: ShardSeedResult[] = [];
  const totals = zeroCounts();
  const recoveries: number[] = [];
  const slack: number[] = [];
  const handover: number[] = [];
  const failover: number[] = [];
  const step = Math.max(1, Math.floor(cli.seeds / 10));
  for (let k = 0; k < cli.seeds; k++) {
    const seed = cli.from + k;
    const nodes = cli.nodes ?? nodesForShardSeed(seed);
    const result = runShardSeed(seed, {
      nodes,
      variant: cli.variant,
      faultMs: cli.faultMs,
      trace: cli.verbose ? (line) => console.log(line) : undefined,
    });
    for (const key of Object.keys(totals) as (keyof typeof totals)[]) {
      totals[key] += result.stats[key];
    }
    handover.push(...result.stats.handover);
    failover.push(...result.stats.failover);
    if (result.recovery !== null) {
      recoveries.push(result.recovery);
      slack.push(result.recovery / result.bound);
    }
    if (result.violation !== null) {
      failures.push(result);
      console.log(
        `FAIL seed ${seed} (${nodes} nodes): ${result.violation.message}`,
      );
      console.log(
        `  replay: ${
          shardReplayCommand(seed, {
            nodes,
            faultMs: cli.faultMs,
            variant: cli.variant,
          })
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
  console.log(
    `seeds ${cli.from}..${
      cli.from + cli.seeds - 1
    } (${cli.variant}): ${cli.seeds} run, ${failures.length} violations, ${
      secs.toFixed(1)
    } s (${(secs * 1000 / Math.max(1, cli.seeds)).toFixed(1)} ms/seed)`,
  );
  if (failures.length > 0) {
    console.log(
      `  first violation: seed ${
        failures[0].seed
      }; seeds failing: ${failures.length}`,
    );
  }
  console.log(
    `  totals: ${totals.leaders} leaders, ${totals.assignments} assignments committed, ${totals.acquisitions} shard acquisitions, ${totals.releases} releases, ${totals.grants} grant messages, ${totals.crashes} kill -9, ${totals.pauses} SIGSTOP, ${totals.leaves} SIGTERM, ${totals.asides} stand-asides, ${totals.partitions} partitions, ${totals.delivered} messages delivered`,
  );
  console.log(
    `  ms from healing until every shard is held by its owner: median ${
      quantile(recoveries, 0.5)
    }, p99 ${quantile(recoveries, 0.99)}, max ${
      quantile(recoveries, 1)
    }; share of the bound used: max ${
      slack.length === 0 ? "-" : Math.max(...slack).toFixed(2)
    }`,
  );
  console.log(
    `  ms from a SIGTERM'd holder's release to the next grant of the shard (during faults): p50 ${
      quantile(handover, 0.5)
    }, p99 ${quantile(handover, 0.99)} (${handover.length} shards)`,
  );
  console.log(
    `  ms from a kill -9 of a holder to the next grant of its shards (during faults): p50 ${
      quantile(failover, 0.5)
    }, p99 ${quantile(failover, 0.99)} (${failover.length} shards)`,
  );
  return failures.length === 0 ? 0 : 1;
}

if (import.meta.main) exit(main());
