import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { describeReport, runChaos } from "./_harness_deno.ts";

/** The seed of the CI run (`CHAOS_SEED` replays another). */
const SEED = Number(process.env.CHAOS_SEED ?? 20_261_213);

describe("the example operator under chaos (short run)", () => {
  it("keeps every invariant: 3 replicas, 75 s of API and replica faults with a 20 s API pause", async () => {
    const report = await runChaos({
      seed: SEED,
      phaseMs: 75_000,
      pauseMs: 20_000,
      convergeTimeoutMs: 60_000,
    });
    assert.deepEqual(report.violations, [], describeReport(report));
  });
});
