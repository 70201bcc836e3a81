import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { describeReport, runChaos } from "./_harness_deno.ts";

const SEED = Number(process.env.CHAOS_SEED ?? 20_261_213);

describe("the operator chaos test bites", () => {
  it("catches a build whose reconciler writes unfenced and ignores its signal", async () => {
    const report = await runChaos({
      seed: SEED,
      phaseMs: 75_000,
      pauseMs: 20_000,
      broken: "unfenced",
      stopOnViolation: true,
    });
    const fencing = report.checks.find((c) =>
      c.name.startsWith("no write sent by a replica")
    );
    assert.ok(
      fencing !== undefined && fencing.violations.length > 0,
      `Expected the fencing invariant to catch the unfenced build, found it held\n${
        describeReport(report)
      }`,
    );
    assert.match(fencing.violations[0], /while its guard was not leading/);
  });
});
