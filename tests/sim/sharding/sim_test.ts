/**
 * The sharding simulator in CI: 2,000 seeds of the real grant protocol on
 * the real Raft core, each broken variant caught within 250 seeds (and the
 * real protocol passing the seed that caught it), liveness with teeth, the
 * calm failover and handover figures of the model, and determinism.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  nodesForShardSeed,
  quantile,
  runShardScenario,
  runShardSeed,
  type Scenario,
} from "./_run.ts";

const FAULT_MS = 4000;
const CI_SEEDS = 2000;

describe("sharding simulator", () => {
  it(`keeps at most one valid grant per shard and grants every shard after healing, seeds 1..${CI_SEEDS}`, () => {
    const failures: string[] = [];
    const totals = {
      crashes: 0,
      pauses: 0,
      leaves: 0,
      asides: 0,
      partitions: 0,
      leaders: 0,
      assignments: 0,
      releases: 0,
    };
    for (let seed = 1; seed <= CI_SEEDS; seed++) {
      const result = runShardSeed(seed, {
        nodes: nodesForShardSeed(seed),
        faultMs: FAULT_MS,
      });
      if (result.violation !== null) {
        failures.push(`seed ${seed}: ${result.violation.message}`);
      }
      for (const key of Object.keys(totals) as (keyof typeof totals)[]) {
        totals[key] += result.stats[key];
      }
    }
    assert.deepEqual(failures, []);
    // The faults happened: the run is not vacuous.
    for (const [key, value] of Object.entries(totals)) {
      assert.ok(value > CI_SEEDS / 4, `${key}: ${value}`);
    }
  });

  const variants: [string, string][] = [
    ["reassign-without-wait", "at most one valid grant per shard"],
    ["new-leader-no-wait", "at most one valid grant per shard"],
    ["holder-from-receipt", "at most one valid grant per shard"],
    ["no-drift-allowance", "at most one valid grant per shard"],
    ["grant-without-lease", "at most one valid grant per shard"],
    ["never-grants", "every shard granted after healing"],
  ];
  for (const [variant, invariant] of variants) {
    it(`catches ${variant} (${invariant}) within 250 seeds; the real protocol passes that seed`, () => {
      let caught: number | null = null;
      for (let seed = 1; seed <= 250 && caught === null; seed++) {
        const nodes = nodesForShardSeed(seed);
        const result = runShardSeed(seed, {
          nodes,
          variant,
          faultMs: FAULT_MS,
        });
        if (result.violation === null) continue;
        assert.equal(
          result.violation.invariant,
          invariant,
          result.violation.message,
        );
        caught = seed;
      }
      assert.notEqual(caught, null, `${variant} not caught in seeds 1..250`);
      const real = runShardSeed(caught!, {
        nodes: nodesForShardSeed(caught!),
        faultMs: FAULT_MS,
      });
      assert.equal(real.violation, null);
    });
  }

  const bounds: [Scenario, number][] = [
    ["kill", 1000],
    ["kill-leader", 1500],
    ["sigterm", 100],
    ["sigterm-leader", 100],
  ];
  for (const [scenario, bound] of bounds) {
    it(`in the model, ${scenario}: every shard of the replica is granted elsewhere within ${bound} ms (20 calm runs of 3 and of 5)`, () => {
      const samples: number[] = [];
      for (let seed = 1; seed <= 40; seed++) {
        const result = runShardScenario(seed, {
          nodes: nodesForShardSeed(seed),
          scenario,
        });
        assert.equal(result.violation, null);
        assert.equal(result.stranded, 0, `seed ${seed}`);
        samples.push(...result.samples);
      }
      assert.ok(samples.length > 40 * 40, `${samples.length} shards`);
      const max = Math.max(...samples);
      assert.ok(
        max <= bound,
        `max ${max.toFixed(1)} ms, p99 ${quantile(samples, 0.99)}`,
      );
    });
  }

  it("replays a seed exactly", () => {
    const a = runShardSeed(6, { nodes: 5, faultMs: FAULT_MS });
    const b = runShardSeed(6, { nodes: 5, faultMs: FAULT_MS });
    assert.deepEqual(a.stats, b.stats);
    assert.equal(a.recovery, b.recovery);
    assert.ok(a.stats.acquisitions > 0);
  });
});
