import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chaosSchedule, describeFault } from "./_schedule.ts";

const SHORT = { phaseMs: 75_000, pauseMs: 20_000 };

describe("chaosSchedule", () => {
  it("is a pure function of the seed", () => {
    assert.deepEqual(chaosSchedule(7, SHORT), chaosSchedule(7, SHORT));
    assert.notDeepEqual(chaosSchedule(7, SHORT), chaosSchedule(8, SHORT));
  });

  for (const seed of [1, 2, 3, 20_261_213, 99_999]) {
    it(`seed ${seed}: every kind once at least, replica faults apart and outside pauses, sorted, inside the phase`, () => {
      const faults = chaosSchedule(seed, SHORT);
      const kinds = new Set(faults.map((f) => f.kind));
      for (
        const kind of [
          "error500",
          "throttle429",
          "dropWatches",
          "compact",
          "pause",
          "kill",
          "stop",
          "term",
        ]
      ) assert.ok(kinds.has(kind as never), `no ${kind}`);
      assert.deepEqual(faults, [...faults].sort((a, b) => a.at - b.at));
      const pauses = faults.filter((f) => f.kind === "pause");
      for (const p of pauses) {
        assert.equal(p.durationMs, 20_000);
        assert.ok(p.stopAfterMs! > 0 && p.stopForMs! >= 1_500);
        assert.ok(p.at + p.durationMs < SHORT.phaseMs);
      }
      const replica = faults.filter((f) =>
        ["kill", "stop", "term"].includes(f.kind)
      );
      for (let i = 1; i < replica.length; i++) {
        const gap = replica[i].at -
          (replica[i - 1].at + replica[i - 1].durationMs);
        assert.ok(
          gap >= 4_000,
          `replica faults ${i - 1} and ${i} ${gap} ms apart`,
        );
      }
      for (const f of replica) {
        for (const p of pauses) {
          const overlaps = f.at < p.at + p.durationMs + 3_000 &&
            f.at + f.durationMs + 2_000 > p.at;
          assert.ok(
            !overlaps,
            `${f.kind} at ${f.at} inside the pause at ${p.at}`,
          );
        }
      }
      for (const f of faults) {
        assert.ok(f.at >= 0 && f.at < SHORT.phaseMs);
        assert.ok(describeFault(f).length > 0);
      }
    });
  }

  it("puts one pause per interval in a long run", () => {
    const faults = chaosSchedule(5, {
      phaseMs: 20 * 60_000,
      pauseMs: 60_000,
      pauseEveryMs: 5 * 60_000,
    });
    assert.equal(faults.filter((f) => f.kind === "pause").length, 4);
  });

  it("refuses a phase too short for its pause", () => {
    assert.throws(
      () => chaosSchedule(1, { phaseMs: 20_000, pauseMs: 20_000 }),
      /Expected a fault phase long enough for a pause of 20000 ms, found 20000 ms/,
    );
  });
});
